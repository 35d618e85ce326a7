//! The migrations of the example entities: `cargo run -p tenant-store-examples --bin
//! gen-migrations -- generate` (or `check`, `status`, `apply`; `--help` for more).

// Links the crate that declares the entities: they register themselves from there.
use tenant_store_examples as _;

fn main() -> std::process::ExitCode {
    tenant_store::cli::main()
}
