//! PostgreSQL: guarded CRUD against the hand-written guard and the unguarded floor, RLS at
//! scale, and bulk inserts against the owner's COPY, with peak RSS.

use std::time::{Duration, Instant};

use sqlx::{PgPool, Row};
use tenant_store::postgres::{Db, DbOptions, PgEntity};
use tenant_store::{Page, Principal};
use tenant_store_examples::memory::{Memory, MemoryFilter, MemoryPatch, MemoryState, NewMemory};
use tenant_store_tests::{
    RoundTripCounter, app_url, host_port, key, migrate, owner_url, raw_pool, super_url, via,
};
use uuid::Uuid;

use crate::report::{Report, Row as R};
use crate::{Scale, in_turns, median, rate};

const COLS: &str = "id, user_id, app_id, content, metadata, state, version, created_at, updated_at";

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Op {
    Get,
    List,
    Create,
    Update,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Variant {
    /// The generated store on a `TenantDb`: one statement carrying the signed context.
    Generated,
    /// Hand-written sqlx with the usual (unsigned) guard: BEGIN; set_config; query; COMMIT, on
    /// a copy of the table whose policy reads the plain setting.
    Guarded,
    /// The same query on a table without RLS, no transaction, through sqlx's pool (which pings
    /// each connection it takes back): the pooled floor.
    Floor,
    /// The same query on a table without RLS on a connection held for the whole run: one round
    /// trip, the true floor.
    Held,
    /// The same query on a table without RLS as sqlx must send it through a transaction
    /// pooler: unnamed, in a transaction (`BEGIN`, Parse/Describe/Sync, Bind/Execute/Sync,
    /// `COMMIT`), through sqlx's pool.
    PooledFloor,
}

struct Ctx {
    db: Db,
    pool: PgPool,
    held: tokio::sync::Mutex<sqlx::PgConnection>,
    who: Principal,
    ids: Vec<Uuid>,
}

fn pool_options(max: u32) -> sqlx::postgres::PgPoolOptions {
    // Like `Db`'s pool: no ping before acquire.
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(max)
        .test_before_acquire(false)
}

async fn db(max: u32, url: &str, options: DbOptions) -> Db {
    Db::connect_with(url, key(), options.max_connections(max))
        .await
        .expect("db")
}

/// The floor (a copy of `memories` without RLS) and the unsigned baseline: a copy with the
/// policy as it was before contexts were signed, reading a plain `tenant_store.user_id`
/// setting through a plain SQL function. That is also what a hand-written guard looks like.
/// For the policy's own cost, a third copy with the generated (signed) policy, loaded the same
/// way as the unsigned one, so the two differ in nothing but the policy.
async fn setup_floor() {
    let owner = raw_pool(&owner_url(), 1).await;
    sqlx::raw_sql(
        "DROP TABLE IF EXISTS bench_floor_memories;
         CREATE TABLE bench_floor_memories (LIKE memories INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
         GRANT SELECT, INSERT, UPDATE, DELETE ON bench_floor_memories TO tenant_store_app;
         DROP TABLE IF EXISTS bench_unsigned_memories;
         DROP FUNCTION IF EXISTS public.bench_unsigned_current(text);
         CREATE FUNCTION public.bench_unsigned_current(setting text) RETURNS uuid
             LANGUAGE sql STABLE PARALLEL SAFE
             AS $$
                 SELECT CASE
                     WHEN v ~ '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$'
                     THEN v::uuid
                 END
                 FROM (SELECT current_setting(setting, true) AS v) AS s
             $$;
         GRANT EXECUTE ON FUNCTION public.bench_unsigned_current(text) TO tenant_store_app;
         CREATE TABLE bench_unsigned_memories (LIKE memories INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
         ALTER TABLE bench_unsigned_memories ENABLE ROW LEVEL SECURITY;
         ALTER TABLE bench_unsigned_memories FORCE ROW LEVEL SECURITY;
         CREATE POLICY tenant_isolation ON bench_unsigned_memories
             USING (user_id = (SELECT public.bench_unsigned_current('tenant_store.user_id')))
             WITH CHECK (user_id = (SELECT public.bench_unsigned_current('tenant_store.user_id')));
         GRANT SELECT, INSERT, UPDATE, DELETE ON bench_unsigned_memories TO tenant_store_app;
         DROP TABLE IF EXISTS bench_signed_memories;
         CREATE TABLE bench_signed_memories (LIKE memories INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
         ALTER TABLE bench_signed_memories ENABLE ROW LEVEL SECURITY;
         ALTER TABLE bench_signed_memories FORCE ROW LEVEL SECURITY;
         CREATE POLICY tenant_isolation ON bench_signed_memories
             USING (user_id = (SELECT tenant_store_private.current_tenant('user_id')))
             WITH CHECK (user_id = (SELECT tenant_store_private.current_tenant('user_id')));
         GRANT SELECT, INSERT, UPDATE, DELETE ON bench_signed_memories TO tenant_store_app;",
    )
    .execute(&owner)
    .await
    .expect("floor and unsigned tables");
}

async fn drop_floor() {
    let owner = raw_pool(&owner_url(), 1).await;
    sqlx::raw_sql(
        "DROP TABLE IF EXISTS bench_floor_memories;
         DROP TABLE IF EXISTS bench_unsigned_memories;
         DROP TABLE IF EXISTS bench_signed_memories;
         DROP FUNCTION IF EXISTS public.bench_unsigned_current(text);",
    )
    .execute(&owner)
    .await
    .expect("drop floor");
}

async fn ctx(max: u32, url: &str) -> Ctx {
    ctx_with(max, url, DbOptions::default()).await
}

async fn ctx_with(max: u32, url: &str, options: DbOptions) -> Ctx {
    let db = db(max, url, options).await;
    let pool = pool_options(max).connect(url).await.expect("pool");
    let who = Principal::new(Uuid::new_v4(), Uuid::new_v4()).expect("principal");
    let mut tx = db.begin(&who).await.expect("begin");
    let rows = (0..100).map(|i| NewMemory {
        content: format!("seed {i}"),
        ..Default::default()
    });
    Memory::store()
        .create_many(&mut tx, rows)
        .await
        .expect("seed");
    let ids = Memory::store()
        .list(&mut tx, MemoryFilter::new(), Page::first(100))
        .await
        .expect("ids")
        .items
        .into_iter()
        .map(|m| m.id)
        .collect();
    tx.commit().await.expect("commit");
    let su = raw_pool(&super_url(), 1).await;
    let copy = format!(
        "INSERT INTO bench_floor_memories SELECT * FROM memories WHERE user_id = '{0}';
         INSERT INTO bench_unsigned_memories SELECT * FROM memories WHERE user_id = '{0}';
         INSERT INTO bench_signed_memories SELECT * FROM memories WHERE user_id = '{0}'",
        who.user_id()
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(copy))
        .execute(&su)
        .await
        .expect("floor rows");
    let held = tokio::sync::Mutex::new(
        <sqlx::PgConnection as sqlx::Connection>::connect(url)
            .await
            .expect("held connection"),
    );
    Ctx {
        db,
        pool,
        held,
        who,
        ids,
    }
}

/// One operation of one variant. `k` picks the row (and, for updates, tracks versions).
async fn once(c: &Ctx, v: Variant, op: Op, k: usize, versions: &mut [i64]) {
    let uid = c.who.user_id();
    let id = c.ids[k % c.ids.len()];
    let store = Memory::store();
    match (v, op) {
        (Variant::Generated, Op::Get) => {
            store
                .get(&mut c.db.tenant(&c.who), id)
                .await
                .unwrap()
                .unwrap();
        }
        (Variant::Generated, Op::List) => {
            store
                .list(
                    &mut c.db.tenant(&c.who),
                    MemoryFilter::new().state(MemoryState::Active),
                    Page::first(50),
                )
                .await
                .unwrap();
        }
        (Variant::Generated, Op::Create) => {
            let new = NewMemory {
                content: "new".into(),
                ..Default::default()
            };
            store.create(&mut c.db.tenant(&c.who), new).await.unwrap();
        }
        (Variant::Generated, Op::Update) => {
            let i = k % versions.len();
            let patch = MemoryPatch {
                content: Some("upd".into()),
                ..Default::default()
            };
            let m = store
                .update(&mut c.db.tenant(&c.who), c.ids[i], versions[i], patch)
                .await
                .unwrap();
            versions[i] = m.version;
        }
        (Variant::Guarded, _) => {
            let mut tx = c.pool.begin().await.unwrap();
            sqlx::query("SELECT set_config('tenant_store.user_id', $1, true)")
                .bind(uid.to_string())
                .execute(&mut *tx)
                .await
                .unwrap();
            run_sql(&mut tx, v, op, uid, id, k, versions).await;
            tx.commit().await.unwrap();
        }
        (Variant::Floor, _) => {
            let mut conn = c.pool.acquire().await.unwrap();
            run_sql(&mut conn, v, op, uid, id, k, versions).await;
        }
        (Variant::Held, _) => {
            let mut conn = c.held.lock().await;
            run_sql(&mut conn, v, op, uid, id, k, versions).await;
        }
        (Variant::PooledFloor, _) => {
            let mut tx = c.pool.begin().await.unwrap();
            run_sql(&mut tx, v, op, uid, id, k, versions).await;
            tx.commit().await.unwrap();
        }
    }
}

/// `op` as hand-written sqlx on `v`'s table; named (sqlx's statement cache) except for
/// [`Variant::PooledFloor`].
async fn run_sql(
    conn: &mut sqlx::PgConnection,
    v: Variant,
    op: Op,
    uid: Uuid,
    id: Uuid,
    k: usize,
    versions: &mut [i64],
) {
    let (table, named) = (table_of(v), v != Variant::PooledFloor);
    match op {
        Op::Get => {
            let sql = format!(
                "SELECT {COLS} FROM {table} WHERE user_id = $1 AND id = $2 AND state <> $3"
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .persistent(named)
                .bind(uid)
                .bind(id)
                .bind(MemoryState::Deleted)
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            // Decoded like every other operation's rows: the generated get returns a Memory.
            Memory::from_row(&row).unwrap();
        }
        Op::List => {
            let sql = format!(
                "SELECT {COLS} FROM {table} WHERE user_id = $1 AND state <> $2 AND state = $3 ORDER BY id LIMIT $4"
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .persistent(named)
                .bind(uid)
                .bind(MemoryState::Deleted)
                .bind(MemoryState::Active)
                .bind(50i64)
                .fetch_all(&mut *conn)
                .await
                .unwrap();
            for row in &rows {
                Memory::from_row(row).unwrap();
            }
        }
        Op::Create => {
            let sql = format!(
                "INSERT INTO {table} (id, user_id, app_id, content, metadata, state, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, 1) RETURNING {COLS}"
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .persistent(named)
                .bind(Uuid::new_v4())
                .bind(uid)
                .bind(Uuid::nil())
                .bind("new")
                .bind(serde_json::Value::Null)
                .bind(MemoryState::Active)
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            Memory::from_row(&row).unwrap();
        }
        Op::Update => {
            let i = k % versions.len();
            let sql = format!(
                "UPDATE {table} SET content = $1, version = version + 1, updated_at = now() \
                 WHERE user_id = $2 AND id = $3 AND version = $4 AND state <> $5 RETURNING {COLS}"
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .persistent(named)
                .bind("upd")
                .bind(uid)
                .bind(id)
                .bind(versions[i])
                .bind(MemoryState::Deleted)
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            versions[i] = Memory::from_row(&row).unwrap().version;
        }
    }
}

const VARIANTS: [Variant; 4] = [
    Variant::Generated,
    Variant::Guarded,
    Variant::Floor,
    Variant::Held,
];
const OPS: [Op; 4] = [Op::Get, Op::List, Op::Create, Op::Update];

pub async fn crud(scale: &Scale, report: &mut Report) {
    migrate().await;
    setup_floor().await;
    // Round trips first, so every row can say them. On a current-thread runtime, work spawned
    // when an operation ends (the pool's release ping) cannot run before the caller yields, so
    // the caller's path is counted exactly, as in tests/tests/round_trips.rs.
    let trips = std::thread::spawn(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(round_trips())
    })
    .join()
    .expect("round-trip thread");
    let rt = |op: Op, v: Variant| {
        let (path, after) = trips[&(op, v)];
        format!("{path:.0}+{after:.0} rt")
    };
    // One connection: latency-bound. Update versions are tracked per variant: the floor table
    // and the RLS table hold separate copies of the rows.
    let one = ctx(1, &app_url()).await;
    for op in OPS {
        let [g, a, f, h] = in_turn(scale, &one, &VARIANTS, op).await[..] else {
            unreachable!("one result per variant")
        };
        let name = format!("{op:?}").to_lowercase();
        let generated = format!("generated {name} ({})", rt(op, Variant::Generated));
        report.row(R {
            group: "pg 1 conn",
            what: format!(
                "{generated} vs hand-written guard ({})",
                rt(op, Variant::Guarded)
            ),
            value: ops(g),
            baseline: ops(a),
            ratio: g / a,
            target: Some((">=", 1.5)),
        });
        report.row(R {
            group: "pg 1 conn",
            what: format!(
                "{generated} vs unguarded floor through sqlx's pool ({})",
                rt(op, Variant::Floor)
            ),
            value: ops(g),
            baseline: ops(f),
            ratio: g / f,
            target: Some((">=", 0.65)),
        });
        let floor = if matches!(op, Op::Get | Op::List) {
            0.85
        } else {
            0.8
        };
        report.row(R {
            group: "pg 1 conn",
            what: format!(
                "{generated} vs true floor: unguarded on a held connection ({})",
                rt(op, Variant::Held)
            ),
            value: ops(g),
            baseline: ops(h),
            ratio: g / h,
            target: Some((">=", floor)),
        });
    }
    saturation(scale, report).await;
    policy_cost_on_get(scale, report, &one).await;
    get_parts(scale, report, &one, "pg get parts").await;
    reset_cost(scale, report, &one).await;
    native_rows(scale, report).await;
    report.note(
        "rt: round trips per operation, on the caller's path + after it (work done as the \
         connection is handed back: sqlx's release ping for the hand-written guard and the \
         pooled floor)",
    );
    drop_floor().await;
}

/// A guarded transaction for `who` whose plain (unsigned) setting names `who` too, so both the
/// signed and the unsigned copies of the table show `who`'s rows in it.
async fn both_contexts<'d>(db: &'d Db, who: &Principal) -> tenant_store::postgres::TenantTx<'d> {
    let mut tx = db.begin(who).await.unwrap();
    tx.execute(
        sqlx::query("SELECT set_config('tenant_store.user_id', $1, true)")
            .bind(who.user_id().to_string()),
    )
    .await
    .unwrap();
    tx
}

/// Statements per second of `sql` (with `{table}` replaced) on the signed copy and on the
/// unsigned copy, inside one guarded transaction whose plain setting is set too, slices
/// interleaved: the same connection, the same round trip, the same rows; only the policy
/// differs.
async fn signed_vs_unsigned(
    db: &Db,
    who: &Principal,
    sql: &str,
    binds: impl Fn(sqlx::postgres::PgArguments) -> sqlx::postgres::PgArguments,
    expect: usize,
    scale: &Scale,
) -> (f64, f64) {
    let mut tx = both_contexts(db, who).await;
    let (mut signed, mut unsigned) = (Vec::new(), Vec::new());
    // More rounds than elsewhere: the difference sought is a few microseconds a statement.
    // The order alternates, so neither variant always runs first.
    for round in 0..scale.rounds.max(5) {
        let mut order = [
            ("bench_signed_memories", &mut signed),
            ("bench_unsigned_memories", &mut unsigned),
        ];
        if round % 2 == 1 {
            order.reverse();
        }
        for (table, out) in order {
            let text = sql.replace("{table}", table);
            let (start, mut n) = (Instant::now(), 0u64);
            while start.elapsed() < scale.slice {
                let q =
                    sqlx::query_with(sqlx::AssertSqlSafe(text.clone()), binds(Default::default()));
                let rows = tx.fetch_all(q).await.unwrap();
                assert_eq!(rows.len(), expect, "{table}");
                n += 1;
            }
            out.push(n as f64 / start.elapsed().as_secs_f64());
        }
    }
    tx.release();
    (median(signed), median(unsigned))
}

async fn policy_cost_on_get(scale: &Scale, report: &mut Report, c: &Ctx) {
    use sqlx::Arguments as _;
    let (uid, id) = (c.who.user_id(), c.ids[0]);
    let (s, u) = signed_vs_unsigned(
        &c.db,
        &c.who,
        &format!("SELECT {COLS} FROM {{table}} WHERE user_id = $1 AND id = $2 AND state <> $3"),
        |mut a| {
            a.add(uid).unwrap();
            a.add(id).unwrap();
            a.add(MemoryState::Deleted).unwrap();
            a
        },
        1,
        scale,
    )
    .await;
    report.row(R {
        group: "pg policy",
        what: "get by id, signed context vs unsigned setting (same transaction)".into(),
        value: ops(s),
        baseline: ops(u),
        ratio: s / u,
        target: Some((">=", 0.95)),
    });
    // The same difference without the network: what one call of each policy function costs
    // the server (once per statement, as the policy's InitPlan).
    let (signed, unsigned) = per_call(&c.db, &c.who, scale.rounds).await;
    report.row(R::micros(
        "pg policy",
        "policy function, one call on the server: signed vs unsigned",
        signed,
        unsigned,
    ));
    policy_parts(&c.db, &c.who, scale.rounds, report).await;
}

/// Where one generated `get` on one connection spends the time the true floor does not
/// (issue #33, item 1). Four variants, interleaved in every round, each timed per operation:
/// - the floor statement on the held connection inside one open transaction;
/// - the generated `get` on a `TenantTx` held for the slice: the floor's work plus the gate,
///   the policy and the library's own work on the statement, without the pool;
/// - the generated `get` on a `TenantDb`: that plus taking a pooled connection and signing a
///   token, per call;
/// - the floor statement on the held connection in autocommit (the "true floor" rows).
///
/// Then the server's own share of the first two: `EXPLAIN ANALYZE` execution time of the get
/// under the policy (the context set in the transaction) and of the same get without RLS.
/// Run with the PL/pgSQL check and again with the native one, as `group` says.
async fn get_parts(scale: &Scale, report: &mut Report, c: &Ctx, group: &'static str) {
    let store = Memory::store();
    let uid = c.who.user_id();
    let floor_sql = format!(
        "SELECT {COLS} FROM bench_floor_memories WHERE user_id = $1 AND id = $2 AND state <> $3"
    );
    let floor_get = |id: Uuid| {
        sqlx::query(sqlx::AssertSqlSafe(floor_sql.clone()))
            .bind(uid)
            .bind(id)
            .bind(MemoryState::Deleted)
    };
    // Microseconds per operation: floor in a transaction, TenantTx, TenantDb, floor autocommit.
    let mut times: [Vec<f64>; 4] = Default::default();
    for _ in 0..scale.rounds {
        let (start, mut n) = (Instant::now(), 0usize);
        {
            let mut conn = c.held.lock().await;
            let mut tx = sqlx::Connection::begin(&mut *conn).await.unwrap();
            while start.elapsed() < scale.slice {
                floor_get(c.ids[n % c.ids.len()])
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap();
                n += 1;
            }
            tx.commit().await.unwrap();
        }
        times[0].push(start.elapsed().as_secs_f64() * 1e6 / n as f64);

        let (start, mut n) = (Instant::now(), 0usize);
        let mut tx = c.db.begin(&c.who).await.unwrap();
        while start.elapsed() < scale.slice {
            store
                .get(&mut tx, c.ids[n % c.ids.len()])
                .await
                .unwrap()
                .unwrap();
            n += 1;
        }
        tx.commit().await.unwrap();
        times[1].push(start.elapsed().as_secs_f64() * 1e6 / n as f64);

        let (start, mut n) = (Instant::now(), 0usize);
        while start.elapsed() < scale.slice {
            let id = c.ids[n % c.ids.len()];
            store
                .get(&mut c.db.tenant(&c.who), id)
                .await
                .unwrap()
                .unwrap();
            n += 1;
        }
        times[2].push(start.elapsed().as_secs_f64() * 1e6 / n as f64);

        let (start, mut n) = (Instant::now(), 0usize);
        {
            let mut conn = c.held.lock().await;
            while start.elapsed() < scale.slice {
                floor_get(c.ids[n % c.ids.len()])
                    .fetch_one(&mut *conn)
                    .await
                    .unwrap();
                n += 1;
            }
        }
        times[3].push(start.elapsed().as_secs_f64() * 1e6 / n as f64);
    }
    let [floor_tx, tenant_tx, tenant_db, floor] = times.map(median);
    let (policy, no_rls) = server_get_times(c, &floor_sql).await;
    for (what, value, baseline) in [
        (
            "generated on a TenantTx (+ gate, policy, the library's statement work) vs the floor statement in one open transaction",
            tenant_tx,
            floor_tx,
        ),
        (
            "generated on a TenantDb (+ a pooled connection and a token per call) vs on a TenantTx",
            tenant_db,
            tenant_tx,
        ),
        (
            "the floor statement in autocommit vs in one open transaction",
            floor,
            floor_tx,
        ),
        (
            "server execution (EXPLAIN ANALYZE): under the policy vs without RLS",
            policy,
            no_rls,
        ),
    ] {
        report.row(R::micros(group, what, value, baseline));
    }
}

/// The server's execution time of one get, in microseconds (median of 200): under the policy,
/// in a `TenantTx` whose context is set, and the floor statement without RLS.
async fn server_get_times(c: &Ctx, floor_sql: &str) -> (f64, f64) {
    const RUNS: usize = 200;
    let policy_sql = explain(&format!(
        "SELECT {COLS} FROM memories WHERE id = $1 AND state <> $2"
    ));
    let floor_sql = explain(floor_sql);
    let mut tx = c.db.begin(&c.who).await.unwrap();
    let (mut policy, mut no_rls) = (Vec::new(), Vec::new());
    for n in 0..RUNS {
        let id = c.ids[n % c.ids.len()];
        let q = sqlx::query(sqlx::AssertSqlSafe(policy_sql.clone()))
            .bind(id)
            .bind(MemoryState::Deleted);
        policy.push(execution_micros(
            &tx.fetch_optional(q).await.unwrap().unwrap(),
        ));
        let q = sqlx::query(sqlx::AssertSqlSafe(floor_sql.clone()))
            .bind(c.who.user_id())
            .bind(id)
            .bind(MemoryState::Deleted);
        no_rls.push(execution_micros(
            &tx.fetch_optional(q).await.unwrap().unwrap(),
        ));
    }
    tx.commit().await.unwrap();
    (median(policy), median(no_rls))
}

/// Microseconds per call of the signed and the unsigned tenant functions, measured by the
/// server over 20,000 calls inside one guarded transaction; medians of `rounds`.
async fn per_call(db: &Db, who: &Principal, rounds: usize) -> (f64, f64) {
    let mut tx = both_contexts(db, who).await;
    let verified = tx
        .fetch_optional(
            sqlx::query(
                "SELECT tenant_store_private.current_tenant('user_id') = $1
                    AND public.bench_unsigned_current('tenant_store.user_id') = $1",
            )
            .bind(who.user_id()),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(verified.get::<bool, _>(0), "both functions see the tenant");
    let calls = [
        "tenant_store_private.current_tenant('user_id')",
        "public.bench_unsigned_current('tenant_store.user_id')",
    ];
    let times = time_calls(&mut tx, &calls, rounds).await;
    tx.release();
    (times[0], times[1])
}

/// `sql` under `EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON)`: the server's own execution
/// time, without per-node timing.
fn explain(sql: &str) -> String {
    format!("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {sql}")
}

/// The execution time, in microseconds, in the plan an [`explain`] statement returned.
fn execution_micros(row: &sqlx::postgres::PgRow) -> f64 {
    let plan: serde_json::Value = row.get(0);
    plan[0]["Execution Time"]
        .as_f64()
        .expect("EXPLAIN ANALYZE reports an execution time")
        * 1000.0
}

/// Microseconds the server spends on each of `statements`, divided by `calls_each` (the calls
/// one statement makes), the statements interleaved; medians of `rounds`.
async fn server_micros(
    tx: &mut tenant_store::postgres::TenantTx<'_>,
    statements: &[String],
    rounds: usize,
    calls_each: f64,
) -> Vec<f64> {
    let mut times = vec![Vec::new(); statements.len()];
    for _ in 0..rounds {
        for (sql, out) in statements.iter().zip(&mut times) {
            let q = sqlx::query(sqlx::AssertSqlSafe(explain(sql)));
            let row = tx.fetch_optional(q).await.unwrap().unwrap();
            out.push(execution_micros(&row) / calls_each);
        }
    }
    times.into_iter().map(median).collect()
}

/// Microseconds per call of each of `calls` (SQL expressions), measured by the server over
/// 20,000 calls in `tx`, the expressions interleaved; medians of `rounds`.
async fn time_calls(
    tx: &mut tenant_store::postgres::TenantTx<'_>,
    calls: &[&str],
    rounds: usize,
) -> Vec<f64> {
    const CALLS: i64 = 20_000;
    let statements: Vec<String> = calls
        .iter()
        .map(|call| format!("SELECT count({call}) FROM generate_series(1, {CALLS})"))
        .collect();
    server_micros(tx, &statements, rounds.max(3), CALLS as f64).await
}

/// Microseconds of each of `calls` made once in a statement of its own, as the policy's
/// InitPlan makes it: the server's execution time of `SELECT <call>`, the calls interleaved,
/// medians of 300 statements each. What a function sets up per statement (its lookup, its
/// `SET` clause, PL/pgSQL's state) counts here in full; in [`time_calls`] it is shared by
/// 20,000 calls.
async fn time_first_calls(
    tx: &mut tenant_store::postgres::TenantTx<'_>,
    calls: &[&str],
) -> Vec<f64> {
    let statements: Vec<String> = calls.iter().map(|call| format!("SELECT {call}")).collect();
    server_micros(tx, &statements, 300, 1.0).await
}

/// One copy of the policy function for [`policy_parts`]: its name, what it leaves out, its
/// body, whether it keeps the `SET search_path` clause, and whether it still verifies (and so
/// must return the tenant).
struct Part {
    what: &'static str,
    body: String,
    set_path: bool,
    verifies: bool,
}

/// The generated `current_tenant` body with one part after another taken out. Each replacement
/// asserts that the text it replaces is there, so a changed body fails here instead of timing
/// something else.
fn policy_part_bodies() -> Vec<Part> {
    use tenant_store::postgres::migrate::CURRENT_TENANT_BODY as BODY;
    let swap = |body: &str, from: &str, to: &str| {
        assert!(body.contains(from), "current_tenant no longer has {from:?}");
        body.replace(from, to)
    };
    const LOOKUP: &str = "SELECT secret INTO k FROM tenant_store_private.keys WHERE id = p[2] AND retired_at IS NULL;";
    const MAC: &str = "encode(tenant_store_private.hmac(convert_to(left(v, length(v) - length(p[7]) - 1), 'UTF8'), k, 'sha256'), 'hex') <> p[7]";
    // Without the SET clause, the one name outside pg_catalog is qualified.
    let qualified = swap(BODY, "encode(hmac(", "encode(tenant_store_private.hmac(");
    let core_sha = swap(
        &swap(
            &swap(
                &qualified,
                "k bytea;",
                "k bytea;\n    ki bytea;\n    ko bytea;",
            ),
            LOOKUP,
            "SELECT ikey, okey, ikey INTO ki, ko, k FROM tenant_store_private.bench_pads WHERE id = p[2];",
        ),
        MAC,
        "encode(sha256(ko || sha256(ki || convert_to(left(v, length(v) - length(p[7]) - 1), 'UTF8'))), 'hex') <> p[7]",
    );
    let no_mac = swap(&qualified, MAC, "false");
    let no_lookup = swap(&no_mac, LOOKUP, "k := '\\x00'::bytea;");
    let empty = "\nBEGIN\n    RETURN NULL;\nEND\n".to_owned();
    vec![
        Part {
            what: "as generated, without the SET search_path clause",
            body: qualified,
            set_path: false,
            verifies: true,
        },
        Part {
            what: "without SET, the HMAC on core sha256 (pads stored) instead of pgcrypto",
            body: core_sha,
            set_path: false,
            verifies: true,
        },
        Part {
            what: "without SET and without the HMAC",
            body: no_mac,
            set_path: false,
            verifies: true,
        },
        Part {
            what: "without SET, the HMAC and the key lookup (parsing and the checks)",
            body: no_lookup,
            set_path: false,
            verifies: true,
        },
        Part {
            what: "an empty PL/pgSQL definer function, with the SET clause",
            body: empty.clone(),
            set_path: true,
            verifies: false,
        },
        Part {
            what: "an empty PL/pgSQL definer function",
            body: empty,
            set_path: false,
            verifies: false,
        },
    ]
}

/// Where the signed check's time goes on the server (issue #33, item 1): one call of the
/// generated function, then of copies with one part after another removed, each against the
/// unsigned SQL function in the same run. The copies are made as the definer role next to the
/// real one (with the HMAC pads a core-sha256 HMAC needs, from the same keys) and dropped
/// after; each copy that still verifies is checked to return the tenant first.
async fn policy_parts(db: &Db, who: &Principal, rounds: usize, report: &mut Report) {
    let parts = policy_part_bodies();
    let owner = raw_pool(&owner_url(), 1).await;
    let mut ddl = String::from(
        "SET ROLE tenant_store_definer;
         CREATE TABLE tenant_store_private.bench_pads AS
             SELECT id,
                    decode(string_agg(lpad(to_hex(coalesce(b, 0) # 54), 2, '0'), '' ORDER BY i), 'hex') AS ikey,
                    decode(string_agg(lpad(to_hex(coalesce(b, 0) # 92), 2, '0'), '' ORDER BY i), 'hex') AS okey
             FROM tenant_store_private.keys,
                  LATERAL (SELECT i, CASE WHEN i < length(secret) THEN get_byte(secret, i) END FROM generate_series(0, 63) i) g(i, b)
             WHERE retired_at IS NULL AND length(secret) <= 64
             GROUP BY id;\n",
    );
    for (i, part) in parts.iter().enumerate() {
        let set = match part.set_path {
            true => format!(
                "SET search_path = {}",
                tenant_store::postgres::migrate::DEFINER_SEARCH_PATH
            ),
            false => String::new(),
        };
        ddl.push_str(&format!(
            "CREATE FUNCTION tenant_store_private.bench_part_{i}(scope text) RETURNS uuid
                 LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER {set}
                 AS $fn${}$fn$;
             GRANT EXECUTE ON FUNCTION tenant_store_private.bench_part_{i}(text) TO tenant_store_app;\n",
            part.body
        ));
    }
    ddl.push_str("RESET ROLE;");
    sqlx::raw_sql(sqlx::AssertSqlSafe(ddl))
        .execute(&owner)
        .await
        .expect("the policy function's parts");

    let mut tx = both_contexts(db, who).await;
    for (i, part) in parts.iter().enumerate().filter(|(_, p)| p.verifies) {
        let sql = format!("SELECT tenant_store_private.bench_part_{i}('user_id')");
        let row = tx
            .fetch_optional(sqlx::query(sqlx::AssertSqlSafe(sql)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            row.get::<Option<Uuid>, _>(0),
            Some(who.user_id()),
            "{} returns the tenant",
            part.what
        );
    }
    let mut calls = vec![
        "tenant_store_private.current_tenant('user_id')".to_owned(),
        "public.bench_unsigned_current('tenant_store.user_id')".to_owned(),
    ];
    calls.extend(
        (0..parts.len()).map(|i| format!("tenant_store_private.bench_part_{i}('user_id')")),
    );
    let calls: Vec<&str> = calls.iter().map(String::as_str).collect();
    let times = time_calls(&mut tx, &calls, rounds).await;
    let firsts = time_first_calls(&mut tx, &calls).await;
    tx.release();
    for (kind, times) in [
        ("one call of many in a statement", times),
        ("the one call of a statement", firsts),
    ] {
        let unsigned = times[1];
        let whats = std::iter::once("the generated function").chain(parts.iter().map(|p| p.what));
        for (what, us) in whats.zip(std::iter::once(times[0]).chain(times[2..].iter().copied())) {
            report.row(R::micros(
                "pg policy parts",
                format!("{kind}: {what} vs the unsigned SQL function"),
                us,
                unsigned,
            ));
        }
    }

    let mut drop =
        String::from("SET ROLE tenant_store_definer; DROP TABLE tenant_store_private.bench_pads;");
    for i in 0..parts.len() {
        drop.push_str(&format!(
            " DROP FUNCTION tenant_store_private.bench_part_{i}(text);"
        ));
    }
    drop.push_str(" RESET ROLE;");
    sqlx::raw_sql(sqlx::AssertSqlSafe(drop))
        .execute(&owner)
        .await
        .expect("drop the policy function's parts");
    owner.close().await;
}

/// What resetting a session that ran hand-written SQL costs: a hand-written get + COMMIT
/// (reset and prepared-statement check in the COMMIT message) against the generated get +
/// COMMIT (clean, plain COMMIT). Same statement, same round trips.
async fn reset_cost(scale: &Scale, report: &mut Report, c: &Ctx) {
    let id = c.ids[0];
    let sql = format!(
        "SELECT {COLS} FROM public.memories WHERE user_id = $1 AND id = $2 AND state <> $3"
    );
    let (mut clean, mut dirty) = (Vec::new(), Vec::new());
    for _ in 0..scale.rounds {
        clean.push(
            rate(scale.slice, || async {
                let mut tx = c.db.begin(&c.who).await.unwrap();
                Memory::store().get(&mut tx, id).await.unwrap().unwrap();
                tx.commit().await.unwrap();
            })
            .await,
        );
        dirty.push(
            rate(scale.slice, || async {
                let mut tx = c.db.begin(&c.who).await.unwrap();
                let q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(c.who.user_id())
                    .bind(id)
                    .bind(MemoryState::Deleted);
                tx.fetch_optional(q).await.unwrap().unwrap();
                tx.commit().await.unwrap();
            })
            .await,
        );
    }
    let (cl, di) = (median(clean), median(dirty));
    report.row(R {
        group: "pg 1 conn",
        what: "hand-written get + commit (session reset) vs generated get + commit".into(),
        value: ops(di),
        baseline: ops(cl),
        ratio: di / cl,
        target: None,
    });
}

fn ops(v: f64) -> String {
    format!("{v:.0}/s")
}

/// Operations per second of each of `variants` doing `op` on one connection, latency-bound: the
/// variants take turns ([`in_turns`]), medians over the scale's rounds in `variants` order.
async fn in_turn(scale: &Scale, c: &Ctx, variants: &[Variant], op: Op) -> Vec<f64> {
    let mut results = vec![Vec::new(); variants.len()];
    for _ in 0..scale.rounds {
        // Updates track versions per table: two variants on one table share them.
        let mut versions = std::collections::HashMap::new();
        for v in variants {
            if !versions.contains_key(table_of(*v)) {
                versions.insert(table_of(*v), versions_of(c, *v).await);
            }
        }
        let rates = in_turns(scale.slice, variants.len(), async |vi, k| {
            let v = variants[vi];
            let vers = versions.get_mut(table_of(v)).expect("read above");
            once(c, v, op, k as usize, vers).await;
        })
        .await;
        for (r, rate) in results.iter_mut().zip(rates) {
            r.push(rate);
        }
    }
    results.into_iter().map(median).collect()
}

/// Operations per second of each of `variants` doing `op` from `tasks` tasks at once on `c`,
/// the variants interleaved for the scale's rounds, medians in `variants` order. Each task
/// updates rows of its own, so versions never collide.
async fn interleaved(
    scale: &Scale,
    c: &std::sync::Arc<Ctx>,
    variants: &[Variant],
    op: Op,
    tasks: usize,
) -> Vec<f64> {
    let mut results = vec![Vec::new(); variants.len()];
    for _ in 0..scale.rounds {
        for (vi, v) in variants.iter().enumerate() {
            let base_versions = versions_of(c, *v).await;
            let start = Instant::now();
            let mut running = Vec::new();
            for t in 0..tasks {
                let (c, v, slice) = (c.clone(), *v, scale.slice);
                let mut versions = base_versions.clone();
                running.push(tokio::spawn(async move {
                    let mut n = 0u64;
                    // Task t owns rows t, t + tasks, t + 2 * tasks, ...
                    let per_task = c.ids.len() / tasks;
                    while start.elapsed() < slice {
                        let k = t + tasks * (n as usize % per_task);
                        once(&c, v, op, k, &mut versions).await;
                        n += 1;
                    }
                    n
                }));
            }
            let mut total = 0;
            for t in running {
                total += t.await.unwrap();
            }
            results[vi].push(total as f64 / start.elapsed().as_secs_f64());
        }
    }
    results.into_iter().map(median).collect()
}

async fn saturation(scale: &Scale, report: &mut Report) {
    // 8 tasks on a pool of 4.
    let c = std::sync::Arc::new(ctx(4, &app_url()).await);
    for op in OPS {
        let variants = [Variant::Generated, Variant::Guarded, Variant::Floor];
        let m = interleaved(scale, &c, &variants, op, 8).await;
        let name = format!("{op:?}").to_lowercase();
        report.row(R {
            group: "pg 8 on 4",
            what: format!("generated {name} vs hand-written guard"),
            value: ops(m[0]),
            baseline: ops(m[1]),
            ratio: m[0] / m[1],
            target: Some((">=", 1.3)),
        });
        // Issue #33's row: the guarded statement against the same statement unguarded, both
        // from 8 tasks on 4 connections.
        report.row(R {
            group: "pg 8 on 4",
            what: format!("generated {name} vs unguarded floor through sqlx's pool of 4"),
            value: ops(m[0]),
            baseline: ops(m[2]),
            ratio: m[0] / m[2],
            target: Some((">=", 0.8)),
        });
    }
}

/// The native rows alone (`--only native`), on tables of their own making.
pub async fn native(scale: &Scale, report: &mut Report) {
    migrate().await;
    setup_floor().await;
    native_rows(scale, report).await;
    drop_floor().await;
}

/// The generated operations again with the native tenant check on
/// (`tenant_store::postgres::native`): on one connection against the true floor, and from 8
/// tasks on 4 against the unguarded statement through sqlx's pool of 4, with the targets of the
/// rows above.
async fn native_rows(scale: &Scale, report: &mut Report) {
    tenant_store_tests::set_native(true).await;
    for (conns, tasks, group, floor, against) in [
        (
            1,
            1,
            "pg native 1 conn",
            Variant::Held,
            "true floor: unguarded on a held connection",
        ),
        (
            4,
            8,
            "pg native 8 on 4",
            Variant::Floor,
            "unguarded floor through sqlx's pool of 4",
        ),
    ] {
        let c = std::sync::Arc::new(ctx(conns, &app_url()).await);
        for op in OPS {
            let variants = [Variant::Generated, floor];
            let m = if tasks == 1 {
                in_turn(scale, &c, &variants, op).await
            } else {
                interleaved(scale, &c, &variants, op, tasks).await
            };
            let target = match (tasks, op) {
                (1, Op::Get | Op::List) => 0.85,
                _ => 0.8,
            };
            let name = format!("{op:?}").to_lowercase();
            report.row(R {
                group,
                what: format!("generated {name}, native check, vs {against}"),
                value: ops(m[0]),
                baseline: ops(m[1]),
                ratio: m[0] / m[1],
                target: Some((">=", target)),
            });
        }
        if tasks == 1 {
            get_parts(scale, report, &c, "pg native get parts").await;
        }
    }
    tenant_store_tests::set_native(false).await;
}

/// Through PgBouncer in transaction mode (`Pooler::Transaction`): each generated operation on
/// one connection and from 8 tasks on 4, against the unguarded statement through the same
/// pooler as sqlx must send it there ([`Variant::PooledFloor`]). Both make four round trips.
pub async fn pooled(scale: &Scale, report: &mut Report) {
    migrate().await;
    setup_floor().await;
    let url = std::env::var("TENANT_STORE_PG_POOLER_URL")
        .expect("TENANT_STORE_PG_POOLER_URL (scripts/services.sh env) names PgBouncer");
    let options = DbOptions::default().pooler(tenant_store::postgres::Pooler::Transaction);
    for (conns, tasks, group) in [(1, 1, "pgbouncer 1 conn"), (4, 8, "pgbouncer 8 on 4")] {
        let c = std::sync::Arc::new(ctx_with(conns, &url, options.clone()).await);
        for op in OPS {
            let variants = [Variant::Generated, Variant::PooledFloor];
            let m = interleaved(scale, &c, &variants, op, tasks).await;
            let name = format!("{op:?}").to_lowercase();
            report.row(R {
                group,
                what: format!("generated {name} vs unguarded floor through the same pooler"),
                value: ops(m[0]),
                baseline: ops(m[1]),
                ratio: m[0] / m[1],
                target: None,
            });
        }
    }
    report.note(
        "pgbouncer: PgBouncer 1.18 in transaction mode; both variants make four round trips \
         per operation (BEGIN, Parse/Describe/Sync, Bind/Execute/Sync, COMMIT), the generated \
         one reading its backend pid in BEGIN's message and verifying the signed context",
    );
    drop_floor().await;
}

/// The table `v` reads and writes.
fn table_of(v: Variant) -> &'static str {
    match v {
        Variant::Floor | Variant::Held | Variant::PooledFloor => "bench_floor_memories",
        Variant::Guarded => "bench_unsigned_memories",
        Variant::Generated => "memories",
    }
}

/// The current versions of the context's rows, in `ids` order, in the variant's table.
async fn versions_of(c: &Ctx, v: Variant) -> Vec<i64> {
    let table = table_of(v);
    let su = raw_pool(&super_url(), 1).await;
    let sql = format!("SELECT id, version FROM {table} WHERE user_id = $1");
    let rows: Vec<(Uuid, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(c.who.user_id())
        .fetch_all(&su)
        .await
        .unwrap();
    su.close().await;
    c.ids
        .iter()
        .map(|id| {
            rows.iter()
                .find(|(r, _)| r == id)
                .map(|(_, v)| *v)
                .unwrap_or(1)
        })
        .collect()
}

/// Round trips per operation of each variant: (on the caller's path, after it), averaged over
/// 20 operations after a warm-up.
async fn round_trips() -> std::collections::HashMap<(Op, Variant), (f64, f64)> {
    let mut trips = std::collections::HashMap::new();
    let proxy = RoundTripCounter::start(host_port(&app_url())).await;
    let c = ctx(1, &via(&app_url(), proxy.addr)).await;
    for op in OPS {
        for v in VARIANTS {
            let mut versions = versions_of(&c, v).await;
            // Warm the prepared-statement cache, then count the caller's path of 20 operations.
            for k in 0..3 {
                once(&c, v, op, k, &mut versions).await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            let (mut path, mut background) = (0u64, 0u64);
            for k in 3..23 {
                let before = proxy.count();
                once(&c, v, op, k, &mut versions).await;
                let after = proxy.count();
                tokio::time::sleep(Duration::from_millis(20)).await;
                path += after - before;
                background += proxy.count() - after;
            }
            trips.insert((op, v), (path as f64 / 20.0, background as f64 / 20.0));
        }
    }
    trips
}

pub async fn rls_at_scale(scale: &Scale, report: &mut Report) {
    migrate().await;
    setup_floor().await;
    let su = raw_pool(&super_url(), 1).await;
    let started = Instant::now();
    // Tenants 00000000-0000-4000-8000-<n>: recognisable, so the rows can be removed afterwards.
    sqlx::query(
        "INSERT INTO memories (id, user_id, app_id, content, metadata, state, version, created_at)
         SELECT gen_random_uuid(), ('00000000-0000-4000-8000-' || lpad(to_hex(g % $2), 12, '0'))::uuid,
                gen_random_uuid(), 'row ' || g, '{}', 'active', 1, now() - g * interval '1 second'
         FROM generate_series(1, $1) g",
    )
    .bind(scale.rls_rows)
    .bind(scale.rls_tenants)
    .execute(&su)
    .await
    .expect("load");
    sqlx::raw_sql(
        "INSERT INTO bench_unsigned_memories SELECT * FROM memories WHERE user_id::text LIKE '00000000-0000-4000-8000-%';
         INSERT INTO bench_signed_memories SELECT * FROM memories WHERE user_id::text LIKE '00000000-0000-4000-8000-%';
         ANALYZE memories; ANALYZE bench_unsigned_memories; ANALYZE bench_signed_memories;",
    )
    .execute(&su)
    .await
    .unwrap();
    report.note(format!(
        "RLS at scale: loaded {} rows across {} tenants in {:.1}s",
        scale.rls_rows,
        scale.rls_tenants,
        started.elapsed().as_secs_f64()
    ));

    let tenant = Uuid::parse_str("00000000-0000-4000-8000-00000000002a").unwrap();
    let who = Principal::new(tenant, Uuid::new_v4()).unwrap();
    let db = db(1, &app_url(), DbOptions::default()).await;
    let sql = format!("SELECT {COLS} FROM memories WHERE user_id = $1 ORDER BY id LIMIT 100");
    let guarded = || async {
        let mut tx = db.begin(&who).await.unwrap();
        let rows = tx
            .fetch_all(sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(tenant))
            .await
            .unwrap();
        assert_eq!(rows.len(), 100);
        tx.release();
    };
    // RLS off: the superuser bypasses it; same query, same predicate, no guard.
    let unguarded = || async {
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(tenant)
            .fetch_all(&su)
            .await
            .unwrap();
        assert_eq!(rows.len(), 100);
    };
    // Where the row above spends its time (issue #33 item 2): the same listing as one generated
    // statement in a `TenantTx` (its transaction is clean: no `set_context` round trip, no
    // session reset at its end), and on a `TenantDb` (one statement, one round trip), against
    // the unguarded statement on a connection held for the whole run (one round trip, no ping).
    let mut held = <sqlx::PgConnection as sqlx::Connection>::connect(&super_url())
        .await
        .expect("held superuser connection");
    let in_tx = || async {
        let mut tx = db.begin(&who).await.unwrap();
        let page = Memory::store()
            .list(&mut tx, MemoryFilter::new(), Page::first(100))
            .await
            .unwrap();
        assert_eq!(page.items.len(), 100);
        tx.release();
    };
    let one_statement = || async {
        let page = Memory::store()
            .list(&mut db.tenant(&who), MemoryFilter::new(), Page::first(100))
            .await
            .unwrap();
        assert_eq!(page.items.len(), 100);
    };
    // The five run in turn, one listing each, for as long as the sequential slices took: this
    // machine's speed moves up to 3x within minutes (the held query took 0.27 ms in one run and
    // 0.80 ms four minutes later), and a variant measured in a slice of its own while the
    // machine was slow made ratios move 2x between runs of the same code. In turn, a slow
    // spell slows every variant alike.
    let mut spent = [Duration::ZERO; 5];
    let mut n = 0u32;
    let began = Instant::now();
    while began.elapsed() < scale.slice * 5 * scale.rounds as u32 {
        let t0 = Instant::now();
        guarded().await;
        let t1 = Instant::now();
        unguarded().await;
        let t2 = Instant::now();
        in_tx().await;
        let t3 = Instant::now();
        one_statement().await;
        let t4 = Instant::now();
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(tenant)
            .fetch_all(&mut held)
            .await
            .unwrap();
        assert_eq!(rows.len(), 100);
        let t5 = Instant::now();
        for (i, (a, b)) in [(t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5)]
            .into_iter()
            .enumerate()
        {
            spent[i] += b - a;
        }
        n += 1;
    }
    // Operations per second of each, from its mean latency.
    let [g, u, t, d, h] = spent.map(|s| f64::from(n) / s.as_secs_f64());
    report.row(R {
        group: "rls scale",
        what: format!(
            "generated list of 1 tenant of {} rows on a TenantDb (1 statement) vs RLS off on a held connection, latency",
            scale.rls_rows
        ),
        value: format!("{:.2}ms", 1000.0 / d),
        baseline: format!("{:.2}ms", 1000.0 / h),
        ratio: h / d,
        target: None,
    });
    report.note(format!(
        "rls scale, where the hand-written row's time goes (latency per listing): hand-written in \
         a TenantTx (BEGIN, set_context, query, ROLLBACK with the session reset) {:.2}ms; the \
         generated listing in a TenantTx (BEGIN, query, ROLLBACK) {:.2}ms; on a TenantDb (one \
         statement) {:.2}ms; RLS off through sqlx's pool (a ping, the query) {:.2}ms; on a held \
         connection {:.2}ms",
        1000.0 / g,
        1000.0 / t,
        1000.0 / d,
        1000.0 / u,
        1000.0 / h
    ));
    // Latency ratio = inverse of the throughput ratio.
    report.row(R {
        group: "rls scale",
        what: format!(
            "guarded list of 1 tenant of {} rows, latency vs RLS off",
            scale.rls_rows
        ),
        value: format!("{:.2}ms", 1000.0 / g),
        baseline: format!("{:.2}ms", 1000.0 / u),
        ratio: u / g,
        target: Some(("<=", 1.2)),
    });
    newest_50(scale, report, &db, &who, &su).await;
    let mut tx = db.begin(&who).await.unwrap();
    let plan: Vec<String> = tx
        .fetch_all(sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN {sql}"))).bind(tenant))
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    tx.release();
    report.note(format!(
        "plan of the guarded list: `{}`",
        plan.join(" / ").replace('|', "\\|")
    ));
    let (s, u) = signed_vs_unsigned(
        &db,
        &who,
        &format!("SELECT {COLS} FROM {{table}} WHERE user_id = $1 ORDER BY id LIMIT 100"),
        |mut a| {
            use sqlx::Arguments as _;
            a.add(tenant).unwrap();
            a
        },
        100,
        scale,
    )
    .await;
    report.row(R {
        group: "pg policy",
        what: format!(
            "list of 1 tenant of {} rows, signed context vs unsigned setting (same transaction), latency",
            scale.rls_rows
        ),
        value: format!("{:.3}ms", 1000.0 / s),
        baseline: format!("{:.3}ms", 1000.0 / u),
        ratio: u / s,
        target: Some(("<=", 1.05)),
    });
    drop_floor().await;
    sqlx::query("DELETE FROM memories WHERE user_id::text LIKE '00000000-0000-4000-8000-%'")
        .execute(&su)
        .await
        .unwrap();
}

/// The generated ordered listing (the 50 newest of one tenant, a `Listing` with its cursor, on a
/// `TenantDb`: one statement) vs the same statement written by hand with RLS off.
async fn newest_50(scale: &Scale, report: &mut Report, db: &Db, who: &Principal, su: &PgPool) {
    use tenant_store::Direction;
    use tenant_store_examples::memory::MemoryOrder;
    let tenant = who.user_id();
    let generated = || async {
        let page = Memory::store()
            .list(
                &mut db.tenant(who),
                MemoryFilter::new().order_by(MemoryOrder::CreatedAt, Direction::Desc),
                Page::first(50),
            )
            .await
            .unwrap();
        assert_eq!(page.items.len(), 50);
        assert!(page.next.is_some());
    };
    let sql = format!(
        "SELECT {COLS} FROM memories WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 50"
    );
    // The same work by hand: the statement, and each row decoded into a `Memory`.
    let by_hand = || async {
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(tenant)
            .fetch_all(su)
            .await
            .unwrap();
        let memories: Vec<Memory> = rows.iter().map(|r| Memory::from_row(r).unwrap()).collect();
        assert_eq!(memories.len(), 50);
    };
    let (mut g, mut h) = (Vec::new(), Vec::new());
    for _ in 0..scale.rounds {
        g.push(rate(scale.slice, generated).await);
        h.push(rate(scale.slice, by_hand).await);
    }
    let (g, h) = (median(g), median(h));
    report.row(R {
        group: "rls scale",
        what: format!(
            "ordered list, the 50 newest of 1 tenant of {} rows: generated vs hand-written with RLS off, throughput",
            scale.rls_rows
        ),
        value: ops(g),
        baseline: ops(h),
        ratio: g / h,
        target: Some((">=", 0.8)),
    });
}

pub async fn bulk(scale: &Scale, report: &mut Report) {
    migrate().await;
    setup_floor().await;
    let db = db(1, &app_url(), DbOptions::default()).await;
    let owner = raw_pool(&owner_url(), 1).await;
    let n = scale.bulk_rows;
    let (mut g, mut f) = (Vec::new(), Vec::new());
    for _ in 0..scale.rounds {
        let who = Principal::new(Uuid::new_v4(), Uuid::new_v4()).unwrap();
        let start = Instant::now();
        let mut tx = db.begin(&who).await.unwrap();
        let rows = (0..n).map(|i| NewMemory {
            content: format!("bulk {i}"),
            ..Default::default()
        });
        Memory::store().create_many(&mut tx, rows).await.unwrap();
        tx.commit().await.unwrap();
        g.push(n as f64 / start.elapsed().as_secs_f64());

        let start = Instant::now();
        let uid = Uuid::new_v4();
        let mut data = String::with_capacity(n * 150);
        for i in 0..n {
            use std::fmt::Write as _;
            let _ = writeln!(
                data,
                "{}\t{uid}\t{}\tbulk {i}\tnull\tactive\t1",
                Uuid::new_v4(),
                Uuid::nil()
            );
        }
        let mut conn = owner.acquire().await.unwrap();
        let mut copy = conn
            .copy_in_raw("COPY bench_floor_memories (id, user_id, app_id, content, metadata, state, version) FROM STDIN")
            .await
            .unwrap();
        copy.send(data.as_bytes()).await.unwrap();
        copy.finish().await.unwrap();
        f.push(n as f64 / start.elapsed().as_secs_f64());
    }
    let (g, f) = (median(g), median(f));
    report.row(R {
        group: "bulk",
        what: format!("create_many of {n} rows vs owner's COPY"),
        value: ops(g).replace("/s", " rows/s"),
        baseline: ops(f).replace("/s", " rows/s"),
        ratio: g / f,
        target: Some((">=", 0.7)),
    });
    drop_floor().await;

    // Peak RSS of a fresh process inserting N rows with create_many.
    let exe = std::env::current_exe().unwrap();
    let mut rss = Vec::new();
    for size in scale.rss_sizes {
        let out = std::process::Command::new(&exe)
            .args(["--rss-child", &size.to_string()])
            .output()
            .expect("child");
        assert!(
            out.status.success(),
            "rss child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let kb: f64 = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("kB");
        rss.push((size, kb));
    }
    let (small, large) = (rss[0], rss[2]);
    report.row(R {
        group: "bulk",
        what: format!("peak RSS, create_many of {} vs {} rows", large.0, small.0),
        value: format!("{:.1} MB", large.1 / 1024.0),
        baseline: format!("{:.1} MB", small.1 / 1024.0),
        ratio: large.1 / small.1,
        target: Some(("<=", 1.2)),
    });
    report.note(format!(
        "peak RSS by size: {}",
        rss.iter()
            .map(|(n, kb)| format!("{n} rows: {:.1} MB", kb / 1024.0))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let su = raw_pool(&super_url(), 1).await;
    sqlx::query("DELETE FROM memories WHERE content LIKE 'bulk %' OR content LIKE 'rss %'")
        .execute(&su)
        .await
        .unwrap();
}

/// Child process: insert `n` rows lazily, return peak RSS (VmHWM) in kB.
pub async fn rss_child(n: usize) -> u64 {
    let db = db(1, &app_url(), DbOptions::default()).await;
    let who = Principal::new(Uuid::new_v4(), Uuid::new_v4()).unwrap();
    let mut tx = db.begin(&who).await.unwrap();
    let rows = (0..n).map(|i| NewMemory {
        content: format!("rss {i}"),
        ..Default::default()
    });
    let inserted = Memory::store().create_many(&mut tx, rows).await.unwrap();
    assert_eq!(inserted, n as u64);
    tx.commit().await.unwrap();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .expect("VmHWM")
}
