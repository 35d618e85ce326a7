//! Compile cost: `cargo check` of a crate with N generated entities against the same N structs
//! with only `#[derive(sqlx::FromRow)]`, dependencies prebuilt and shared, median of 5, the two
//! crates interleaved.
//!
//! Two rows. The target applies to the first: the whole crate checked, with incremental
//! compilation off, so nothing of an earlier check is reused. The second is the re-check after
//! touching the file with incremental compilation on (cargo's default for `check`): rustc then
//! expands the macros again but loads most analysis from its cache, so it measures expansion
//! plus cache loading, not the cost of the generated code. (Until 2026-11-26 only the second
//! was reported, as if it were the first.)

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::report::{Report, Row};
use crate::{Scale, median};

fn write_crate(dir: &Path, name: &str, n: usize, generated: bool) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let root = root.canonicalize().unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[workspace]\n\n\
             [dependencies]\ntenant-store = {{ path = \"{}/runtime\", features = [\"postgres\"] }}\n\
             sqlx = {{ version = \"0.9\", default-features = false, features = [\"runtime-tokio\", \"postgres\", \"uuid\", \"chrono\", \"json\", \"migrate\", \"macros\", \"derive\"] }}\n\
             uuid = \"1\"\nchrono = {{ version = \"0.4\", default-features = false, features = [\"clock\", \"std\", \"serde\"] }}\n",
            root.display()
        ),
    )
    .unwrap();
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let mut src =
        String::from("#![allow(dead_code)]\nuse chrono::{DateTime, Utc};\nuse uuid::Uuid;\n");
    for i in 0..n {
        let attr = if generated {
            format!(
                "#[tenant_store::tenant_store(backend = \"postgres\", scope = \"user_id\", table = \"t{i}\")]\n"
            )
        } else {
            "#[derive(sqlx::FromRow)]\n".to_owned()
        };
        let (id, version, filter, created) = if generated {
            (
                "#[tenant_store(id)] ",
                "#[tenant_store(version)] ",
                "#[tenant_store(filter)] ",
                "#[tenant_store(created_at)] ",
            )
        } else {
            ("", "", "", "")
        };
        src.push_str(&format!(
            "{attr}pub struct Entity{i} {{\n    {id}pub id: Uuid,\n    pub user_id: Uuid,\n    {filter}pub app_id: Uuid,\n    \
             pub content: String,\n    pub note: Option<String>,\n    {version}pub version: i64,\n    {created}pub created_at: DateTime<Utc>,\n}}\n"
        ));
    }
    std::fs::write(dir.join("src/lib.rs"), src).unwrap();
}

fn check(dir: &Path, target: &Path, incremental: bool) -> f64 {
    // Touch the crate so it, and only it, is checked again.
    let lib = dir.join("src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, text).unwrap();
    let start = Instant::now();
    let out = Command::new("cargo")
        .args(["check", "--offline", "-q"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env("CARGO_INCREMENTAL", if incremental { "1" } else { "0" })
        .output()
        .expect("cargo check");
    assert!(
        out.status.success(),
        "cargo check failed in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    start.elapsed().as_secs_f64()
}

pub fn cost(scale: &Scale, report: &mut Report) {
    let base: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-compile");
    let target = base.join("target");
    let n = scale.compile_entities;
    let (gen_dir, derive_dir) = (base.join("generated"), base.join("derive"));
    write_crate(&gen_dir, "bench_generated", n, true);
    write_crate(&derive_dir, "bench_derive", n, false);
    for (incremental, what, target_ratio) in [
        (false, "cargo check", Some(("<=", 2.0))),
        (true, "incremental re-check after touch", None),
    ] {
        // Warm, in this mode: dependencies built into the shared target directory, the
        // incremental caches filled.
        check(&gen_dir, &target, incremental);
        check(&derive_dir, &target, incremental);
        let (mut g, mut d) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            g.push(check(&gen_dir, &target, incremental));
            d.push(check(&derive_dir, &target, incremental));
        }
        let (g, d) = (median(g), median(d));
        report.row(Row {
            group: "compile",
            what: format!("{what}, {n} generated entities vs {n} derive(FromRow)"),
            value: format!("{g:.2}s"),
            baseline: format!("{d:.2}s"),
            ratio: g / d,
            target: target_ratio,
        });
    }
}
