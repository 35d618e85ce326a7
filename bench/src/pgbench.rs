//! pgbench: the signed policy against a policy that reads a plain setting (issue #33, item 3),
//! timed by PostgreSQL's own load driver so that no client library's work is in either figure.
//!
//! Three copies of one small table, loaded alike (1,000 rows for each of two tenants):
//! - `bench_pgb_signed`, under the generated policy (`tenant_store_private.current_tenant`),
//!   timed with the PL/pgSQL check and again with the native one
//!   (`tenant_store::postgres::native`, turned on and off between the runs);
//! - `bench_pgb_plain`, under a policy that reads the plain setting `tenant_store.user_id`,
//!   what a hand-written guard without signing uses;
//! - `bench_pgb_floor`, without RLS, queried with the tenant written into the statement.
//!
//! Each pgbench client runs one get by id per transaction, in autocommit (`-M prepared -c 1`),
//! as a `TenantDb` call does. The context is set once per pgbench session, in its first
//! transaction: pgbench cannot sign, so a bench-only function, `bench_pgb_mint()`, signs a
//! context for the calling backend, the benchmark's tenant and ten minutes. It can sign for
//! nothing else, and it is dropped when the group ends (and before it starts, in case a run
//! was killed).
//!
//! Before the timed runs, each script's statements are run once through sqlx as the
//! application role, and must return the one row; under the signed policy another tenant's row
//! must not show.

use std::process::Command;

use sqlx::Connection as _;
use uuid::Uuid;

use crate::report::{Report, Row};
use crate::{Scale, median};
use tenant_store_tests::{app_url, key, migrate, owner_url, raw_pool, set_native, super_url};

const TENANT: Uuid = Uuid::from_u128(0x5e7c_0000_0000_4000_8000_0000_0000_0001);
const OTHER: Uuid = Uuid::from_u128(0x5e7c_0000_0000_4000_8000_0000_0000_0002);
const ORG: Uuid = Uuid::from_u128(0x5e7c_0000_0000_4000_8000_0000_0000_00aa);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    Signed,
    Native,
    Plain,
    Floor,
}

impl Variant {
    const ALL: [Variant; 4] = [
        Variant::Signed,
        Variant::Native,
        Variant::Plain,
        Variant::Floor,
    ];

    /// The statement that sets the context, once per session.
    fn context(self) -> String {
        match self {
            Variant::Signed | Variant::Native => {
                "SELECT pg_catalog.set_config('tenant_store.ctx', public.bench_pgb_mint(), false)"
                    .into()
            }
            Variant::Plain => {
                format!("SELECT pg_catalog.set_config('tenant_store.user_id', '{TENANT}', false)")
            }
            Variant::Floor => "SELECT 1".into(),
        }
    }

    /// Get by id of row `n`.
    fn get(self, n: &str) -> String {
        match self {
            Variant::Signed | Variant::Native => {
                format!("SELECT id, content FROM bench_pgb_signed WHERE n = {n}")
            }
            Variant::Plain => format!("SELECT id, content FROM bench_pgb_plain WHERE n = {n}"),
            Variant::Floor => format!(
                "SELECT id, content FROM bench_pgb_floor WHERE user_id = '{TENANT}' AND n = {n}"
            ),
        }
    }

    fn script(self) -> String {
        format!(
            "\\if :inited = 0\n{};\n\\set inited 1\n\\endif\n\\set n random(1, 1000)\n{};\n",
            self.context(),
            self.get(":n")
        )
    }
}

async fn setup() {
    migrate().await;
    let owner = raw_pool(&owner_url(), 1).await;
    let mut sql =
        String::from("DROP TABLE IF EXISTS bench_pgb_signed, bench_pgb_plain, bench_pgb_floor;");
    for (table, policy) in [
        (
            "bench_pgb_signed",
            Some("(SELECT tenant_store_private.current_tenant('user_id'))"),
        ),
        (
            "bench_pgb_plain",
            Some("(SELECT pg_catalog.current_setting('tenant_store.user_id', true)::uuid)"),
        ),
        ("bench_pgb_floor", None),
    ] {
        sql += &format!(
            "CREATE TABLE {table} (user_id uuid NOT NULL, n int NOT NULL, id uuid NOT NULL,
                 content text NOT NULL, PRIMARY KEY (user_id, n));
             INSERT INTO {table}
                 SELECT t, n, gen_random_uuid(), repeat('x', 100)
                 FROM unnest(ARRAY['{TENANT}', '{OTHER}']::uuid[]) t, generate_series(1, 1000) n;
             GRANT SELECT ON {table} TO tenant_store_app;"
        );
        if let Some(tenant) = policy {
            sql += &format!(
                "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
                 ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
                 CREATE POLICY tenant_isolation ON {table} USING (user_id = {tenant});"
            );
        }
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&owner)
        .await
        .expect("pgbench tables");
    let su = raw_pool(&super_url(), 1).await;
    let key_id = key().id().to_owned();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP FUNCTION IF EXISTS public.bench_pgb_mint();
         CREATE FUNCTION public.bench_pgb_mint() RETURNS text
             LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog
             AS $$
                 SELECT b || '.' || encode(tenant_store_private.hmac(convert_to(b, 'UTF8'), s, 'sha256'), 'hex')
                 FROM (SELECT 'v2.{key_id}.' || pg_backend_pid() || '.e'
                              || ((extract(epoch FROM clock_timestamp()) * 1000)::bigint + 600000)
                              || '.{TENANT}.{ORG}' AS b,
                              k.secret AS s
                       FROM tenant_store_private.keys k WHERE k.id = '{key_id}') AS t
             $$;
         REVOKE ALL ON FUNCTION public.bench_pgb_mint() FROM PUBLIC;
         GRANT EXECUTE ON FUNCTION public.bench_pgb_mint() TO tenant_store_app;"
    )))
    .execute(&su)
    .await
    .expect("the bench's signing function");
}

async fn teardown() {
    let su = raw_pool(&super_url(), 1).await;
    sqlx::raw_sql(
        "DROP FUNCTION IF EXISTS public.bench_pgb_mint();
         DROP TABLE IF EXISTS bench_pgb_signed, bench_pgb_plain, bench_pgb_floor;",
    )
    .execute(&su)
    .await
    .expect("drop the pgbench objects");
}

/// Each variant's statements, once, as the application role: the get returns its one row, and
/// under the signed policy another tenant's row does not show.
async fn check() {
    for v in Variant::ALL {
        set_native(v == Variant::Native).await;
        let mut conn = sqlx::PgConnection::connect(&app_url()).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(v.context()))
            .execute(&mut conn)
            .await
            .unwrap();
        let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(v.get("7")))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "{}", v.get("7"));
    }
    set_native(false).await;
    let mut conn = sqlx::PgConnection::connect(&app_url()).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(Variant::Signed.context()))
        .execute(&mut conn)
        .await
        .unwrap();
    let others = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "SELECT 1 FROM bench_pgb_signed WHERE user_id = '{OTHER}'"
    )))
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(others.is_empty(), "the signed policy shows only the tenant");
}

/// Transactions per second of `script` under `pgbench -n -M prepared -c 1 -T secs`.
fn pgbench(script: &std::path::Path, secs: u64) -> f64 {
    let out = Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-c", "1", "-D", "inited=0", "-T"])
        .arg(secs.to_string())
        .arg("-f")
        .arg(script)
        .arg(app_url())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run pgbench ({e}); it comes with PostgreSQL: scripts/services.sh up pg")
        });
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pgbench failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .find_map(|l| {
            l.strip_prefix("tps = ")
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or_else(|| panic!("no tps in pgbench's output: {text}"))
}

pub async fn signed_vs_plain(scale: &Scale, report: &mut Report) {
    setup().await;
    check().await;
    let dir = std::env::temp_dir().join(format!("tenant-store-pgbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scripts: Vec<_> = Variant::ALL
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let path = dir.join(format!("v{i}.sql"));
            std::fs::write(&path, v.script()).unwrap();
            path
        })
        .collect();
    let secs = scale.slice.as_secs().max(1) + 1;
    let mut tps: [Vec<f64>; 4] = Default::default();
    for round in 0..scale.rounds.max(5) {
        // Each round starts with another variant, so none always runs first.
        for k in 0..Variant::ALL.len() {
            let i = (round + k) % Variant::ALL.len();
            set_native(Variant::ALL[i] == Variant::Native).await;
            let script = scripts[i].clone();
            // pgbench blocks its thread: off the runtime's workers.
            let t = tokio::task::spawn_blocking(move || pgbench(&script, secs))
                .await
                .unwrap();
            tps[i].push(t);
        }
    }
    set_native(false).await;
    std::fs::remove_dir_all(&dir).ok();
    teardown().await;
    let [signed, native, plain, floor] = tps.map(median);
    for (what, value, baseline, target) in [
        (
            "get by id in autocommit, signed policy vs plain-setting policy",
            signed,
            plain,
            Some((">=", 0.9)),
        ),
        (
            "get by id in autocommit, signed policy with the native check vs plain-setting policy",
            native,
            plain,
            Some((">=", 0.9)),
        ),
        (
            "get by id in autocommit, plain-setting policy vs no RLS",
            plain,
            floor,
            None,
        ),
    ] {
        report.row(Row {
            group: "pgbench",
            what: format!("{what} (pgbench -M prepared -c 1)"),
            value: format!("{value:.0} tps"),
            baseline: format!("{baseline:.0} tps"),
            ratio: value / baseline,
            target,
        });
    }
}
