//! Compile cost: `cargo check` of a crate with N generated entities against the same N structs
//! with only the derives a hand-written equivalent would carry (`#[derive(sqlx::FromRow)]` for
//! PostgreSQL, `#[derive(Serialize, Deserialize)]` for Valkey, which the generated side carries
//! too), dependencies prebuilt and shared, median of 5, the two crates interleaved.
//!
//! PostgreSQL has two rows. The target applies to the first: the whole crate checked, with incremental
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

/// Which backend's entities a crate holds, and what the baseline derives instead.
#[derive(Clone, Copy)]
enum Backend {
    /// `#[tenant_store(backend = "postgres")]` against `#[derive(sqlx::FromRow)]`.
    Postgres,
    /// `#[tenant_store(backend = "valkey")]` against `#[derive(Serialize, Deserialize)]` alone.
    Valkey,
}

fn write_crate(dir: &Path, name: &str, n: usize, backend: Backend, generated: bool) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let root = root.canonicalize().unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let feature = match backend {
        Backend::Postgres => "postgres",
        Backend::Valkey => "valkey",
    };
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[workspace]\n\n\
             [dependencies]\ntenant-store = {{ path = \"{}/runtime\", features = [\"{feature}\"] }}\n\
             sqlx = {{ version = \"0.9\", default-features = false, features = [\"runtime-tokio\", \"postgres\", \"uuid\", \"chrono\", \"json\", \"migrate\", \"macros\", \"derive\"] }}\n\
             serde = {{ version = \"1\", features = [\"derive\"] }}\n\
             uuid = {{ version = \"1\", features = [\"serde\"] }}\nchrono = {{ version = \"0.4\", default-features = false, features = [\"clock\", \"std\", \"serde\"] }}\n",
            root.display()
        ),
    )
    .unwrap();
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let mut src =
        String::from("#![allow(dead_code)]\nuse chrono::{DateTime, Utc};\nuse uuid::Uuid;\n");
    // `#[tenant_store(key)] ` on the generated side, nothing on the baseline.
    let key = |k: &str| {
        if generated {
            format!("#[tenant_store({k})] ")
        } else {
            String::new()
        }
    };
    for i in 0..n {
        let entity = match backend {
            Backend::Postgres => {
                let attr = if generated {
                    format!(
                        "#[tenant_store::tenant_store(backend = \"postgres\", scope = \"user_id\", table = \"t{i}\")]\n"
                    )
                } else {
                    "#[derive(sqlx::FromRow)]\n".to_owned()
                };
                format!(
                    "{attr}pub struct Entity{i} {{\n    {}pub id: Uuid,\n    pub user_id: Uuid,\n    {}pub app_id: Uuid,\n    \
                     pub content: String,\n    pub note: Option<String>,\n    {}pub version: i64,\n    {}pub created_at: DateTime<Utc>,\n}}\n",
                    key("id"),
                    key("filter"),
                    key("version"),
                    key("created_at"),
                )
            }
            Backend::Valkey => {
                let attr = if generated {
                    format!(
                        "#[tenant_store::tenant_store(backend = \"valkey\", scope = \"user_id\", prefix = \"p{i}\", ttl = 3600)]\n"
                    )
                } else {
                    String::new()
                };
                format!(
                    "#[derive(serde::Serialize, serde::Deserialize)]\n{attr}pub struct Entity{i} {{\n    {}pub id: String,\n    pub user_id: Uuid,\n    \
                     {}pub session: String,\n    pub content: String,\n    pub note: Option<String>,\n    {}pub importance: f64,\n    pub at: DateTime<Utc>,\n}}\n",
                    key("id"),
                    key("session"),
                    key("weight"),
                )
            }
        };
        src.push_str(&entity);
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

/// (incremental, what the row measures, its target).
type Mode = (bool, &'static str, Option<(&'static str, f64)>);

pub fn cost(scale: &Scale, report: &mut Report) {
    let base: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-compile");
    let target = base.join("target");
    let n = scale.compile_entities;
    let rows = [
        (
            Backend::Postgres,
            "postgres",
            "derive(FromRow)",
            Some(("<=", 1.8)),
        ),
        (
            Backend::Valkey,
            "valkey",
            "derive(Serialize, Deserialize)",
            None,
        ),
    ];
    for (backend, name, baseline, target_ratio) in rows {
        let (gen_dir, base_dir) = (
            base.join(format!("{name}-generated")),
            base.join(format!("{name}-baseline")),
        );
        write_crate(
            &gen_dir,
            &format!("bench_{name}_generated"),
            n,
            backend,
            true,
        );
        write_crate(
            &base_dir,
            &format!("bench_{name}_baseline"),
            n,
            backend,
            false,
        );
        let modes: &[Mode] = match backend {
            Backend::Postgres => &[
                (false, "cargo check", target_ratio),
                (true, "incremental re-check after touch", None),
            ],
            Backend::Valkey => &[(false, "cargo check", None)],
        };
        for &(incremental, what, target_ratio) in modes {
            // Warm, in this mode: dependencies built into the shared target directory, the
            // incremental caches filled.
            check(&gen_dir, &target, incremental);
            check(&base_dir, &target, incremental);
            let (mut g, mut d) = (Vec::new(), Vec::new());
            for _ in 0..5 {
                g.push(check(&gen_dir, &target, incremental));
                d.push(check(&base_dir, &target, incremental));
            }
            let (g, d) = (median(g), median(d));
            report.row(Row {
                group: "compile",
                what: format!("{what}, {n} generated {name} entities vs {n} {baseline}"),
                value: format!("{g:.2}s"),
                baseline: format!("{d:.2}s"),
                ratio: g / d,
                target: target_ratio,
            });
        }
    }
}
