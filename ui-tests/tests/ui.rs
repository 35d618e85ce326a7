//! Code that must not compile (each file states its rule) and code that must.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("compile_fail/*/*.rs");
    t.pass("pass/*.rs");
}
