//! The benchmark binary: what the tenant guard and the generated code cost, each figure a ratio
//! against a baseline measured in the same run on the same server.
//!
//! Run everything (servers started and stopped for you) and rewrite `BENCHMARKS.md`:
//!
//! ```sh
//! scripts/bench.sh            # full run, about 10 minutes on 2 cores
//! scripts/bench.sh --quick    # smoke run with short durations and small sizes
//! ```
//!
//! `--only <group>` runs one group and prints it; it writes a file only where `--out FILE`
//! says, so a partial run never replaces the full report.
//!
//! Method: variants of one benchmark run interleaved (A, B, C, A, B, C, ...) for several rounds
//! and the median of each is kept, so drift on a noisy machine hits every variant alike.
//! Absolute numbers are reported for context only; the ratios are the results.

mod compile;
mod pg;
mod pgbench;
mod report;
mod valkey;

use std::time::{Duration, Instant};

use report::Report;

/// How long and how big.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    /// Wall time of one measurement of one variant.
    pub slice: Duration,
    /// Interleaved rounds per benchmark.
    pub rounds: usize,
    /// Rows of the RLS-at-scale table, and its tenants.
    pub rls_rows: i64,
    pub rls_tenants: i64,
    /// Rows of the bulk comparison.
    pub bulk_rows: usize,
    /// Sizes of the peak-RSS runs.
    pub rss_sizes: [usize; 3],
    /// Entities of the compile-cost crates.
    pub compile_entities: usize,
}

impl Scale {
    fn full() -> Self {
        Self {
            slice: Duration::from_secs(2),
            rounds: 3,
            rls_rows: 1_000_000,
            rls_tenants: 1_000,
            bulk_rows: 100_000,
            rss_sizes: [10_000, 100_000, 1_000_000],
            compile_entities: 50,
        }
    }

    fn quick() -> Self {
        Self {
            slice: Duration::from_millis(300),
            rounds: 2,
            rls_rows: 50_000,
            rls_tenants: 100,
            bulk_rows: 10_000,
            rss_sizes: [1_000, 10_000, 50_000],
            compile_entities: 5,
        }
    }
}

/// Calls `op` until `slice` has passed; returns operations per second.
pub async fn rate<F, Fut>(slice: Duration, mut op: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < slice {
        op().await;
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// The median of `v` (which must not be empty).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--rss-child") {
        let n: usize = args[i + 1].parse().expect("--rss-child N");
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        println!("{}", rt.block_on(pg::rss_child(n)));
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let scale = if quick { Scale::quick() } else { Scale::full() };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut report = Report::new(quick);
    // `--only <group>` runs one group (pg, pgbench, pgbouncer, rls, bulk, valkey, compile), for a quick look;
    // BENCHMARKS.md is written from full runs.
    let only = args
        .iter()
        .position(|a| a == "--only")
        .map(|i| args[i + 1].clone());
    let run = |group: &str| only.as_deref().is_none_or(|o| o == group);
    // One group alone writes only where `--out` says: it never replaces the full report.
    let out = args
        .iter()
        .position(|a| a == "--out")
        .map(|i| args[i + 1].clone())
        .or_else(|| only.is_none().then(|| "BENCHMARKS.md".into()));
    rt.block_on(async {
        if run("pg") {
            pg::crud(&scale, &mut report).await;
        }
        if run("pgbench") {
            pgbench::signed_vs_plain(&scale, &mut report).await;
        }
        if run("pgbouncer") {
            pg::pooled(&scale, &mut report).await;
        }
        if run("rls") {
            pg::rls_at_scale(&scale, &mut report).await;
        }
        if run("bulk") {
            pg::bulk(&scale, &mut report).await;
        }
        if run("valkey") {
            valkey::episodic(&scale, &mut report).await;
        }
    });
    if run("compile") {
        compile::cost(&scale, &mut report);
    }
    if let Some(out) = out {
        std::fs::write(&out, report.render()).expect("write the report");
        println!("wrote {out}");
    }
}
