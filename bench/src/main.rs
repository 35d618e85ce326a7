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
//! says, so a partial run never replaces the full report. The PostgreSQL groups run in a
//! database of their own, made for the run and dropped after it.
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

/// How long one variant runs before the next takes its turn ([`in_turns`]).
pub const TURN: Duration = Duration::from_millis(20);

/// `n` variants one call at a time, in turns of [`TURN`], for `n * slice`: the operations per
/// second of each over the time it spent. `op(variant, k)` runs the variant's `k`th call. This
/// machine's speed drifts within seconds, and a drift that lands in one variant's slice of its
/// own moves their ratio; in turns this short it slows every variant alike. A turn is long
/// enough that work a variant leaves behind when a call ends (sqlx's release ping) is charged to
/// it, not to the next variant, but for one call per turn.
pub async fn in_turns(slice: Duration, n: usize, mut op: impl AsyncFnMut(usize, u64)) -> Vec<f64> {
    let (mut spent, mut done) = (vec![Duration::ZERO; n], vec![0u64; n]);
    let began = Instant::now();
    while began.elapsed() < slice * n as u32 {
        for v in 0..n {
            let start = Instant::now();
            while start.elapsed() < TURN {
                op(v, done[v]).await;
                done[v] += 1;
            }
            spent[v] += start.elapsed();
        }
    }
    (0..n)
        .map(|v| done[v] as f64 / spent[v].as_secs_f64())
        .collect()
}

/// The median of `v` (which must not be empty).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The PostgreSQL groups run in a database made for the run and dropped after it, named by the
/// `TENANT_STORE_PG_*` URLs from here on (the `--rss-child` processes inherit them). In the
/// shared database the generated statements read `memories`, which holds whatever the tests
/// and earlier runs left there (four million rows on one machine), while the floor's tables are
/// made fresh for each group: a deeper index and more cache misses for one side only.
fn scratch_database() -> tenant_store_tests::ScratchDb {
    let db = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(tenant_store_tests::ScratchDb::new("bench"));
    use tenant_store_tests::{app_url, owner_url, super_url, with_database};
    let pooler = std::env::var("TENANT_STORE_PG_POOLER_URL").ok();
    for (var, url) in [
        ("TENANT_STORE_PG_URL", Some(app_url())),
        ("TENANT_STORE_PG_OWNER_URL", Some(owner_url())),
        ("TENANT_STORE_PG_SUPER_URL", Some(super_url())),
        ("TENANT_STORE_PG_POOLER_URL", pooler),
    ] {
        if let Some(url) = url {
            // SAFETY: only this thread runs: the runtime above is dropped (its blocking
            // threads joined) and the bench's own runtime is not built yet.
            unsafe { std::env::set_var(var, with_database(&url, &db.name)) };
        }
    }
    db
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
    let only = args
        .iter()
        .position(|a| a == "--only")
        .map(|i| args[i + 1].clone());
    let scratch = only
        .as_deref()
        .is_none_or(|o| !matches!(o, "valkey" | "compile"))
        .then(scratch_database);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut report = Report::new(quick);
    // `--only <group>` runs one group (pg, native (also part of pg), pgbench, pgbouncer, rls, bulk, valkey, compile), for a quick look;
    // BENCHMARKS.md is written from full runs.
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
        if only.as_deref() == Some("native") {
            pg::native(&scale, &mut report).await;
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
    if let Some(db) = scratch {
        rt.block_on(db.drop());
    }
    if run("compile") {
        compile::cost(&scale, &mut report);
    }
    if let Some(out) = out {
        std::fs::write(&out, report.render()).expect("write the report");
        println!("wrote {out}");
    }
}
