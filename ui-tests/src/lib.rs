//! The trybuild catalogue lives in `tests/ui.rs`, `compile_fail/` and `pass/`.
