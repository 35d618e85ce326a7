//! Row Level Security as the database enforces it, independent of the generated code: the policy
//! fails closed, isolates concurrent tenants (in transactions and in single operations),
//! survives pooling, resists the application role's bypass attempts, and is planned as an
//! InitPlan over the scope index.

use sqlx::Row;
use tenant_store::Page;
use tenant_store::postgres::PgEntity;
use tenant_store_examples::memory::{Memory, MemoryFilter, NewMemory};
use tenant_store_tests::{app_url, db, db_with, leftover, raw_pool, super_url, tenant};
use uuid::Uuid;

async fn seed(db: &tenant_store::postgres::Db, who: &tenant_store::Principal, n: usize) {
    let mut tx = db.begin(who).await.unwrap();
    let rows = (0..n).map(|i| NewMemory {
        content: format!("seed {i}"),
        ..Default::default()
    });
    Memory::store().create_many(&mut tx, rows).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn every_tenant_store_table_has_its_policy_with_rls_enabled_and_forced() {
    let _db = db().await;
    let su = raw_pool(&super_url(), 1).await;
    // Every entity table; the admin audit table holds no tenant data and has no policy.
    let tables = tenant_store_examples::entities().tables().count();
    let rows = sqlx::query(
        "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity, p.polname::text,
                pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
         FROM pg_class c LEFT JOIN pg_policy p ON p.polrelid = c.oid
         WHERE obj_description(c.oid, 'pg_class') LIKE 'tenant-store: scope %'",
    )
    .fetch_all(&su)
    .await
    .unwrap();
    assert_eq!(rows.len(), tables, "one policy per entity table");
    for r in &rows {
        let name: String = r.get(0);
        assert!(r.get::<bool, _>(1), "{name}: RLS enabled");
        assert!(r.get::<bool, _>(2), "{name}: RLS forced");
        assert_eq!(r.get::<String, _>(3), "tenant_isolation");
        let using: String = r.get(4);
        let check: String = r.get(5);
        assert_eq!(
            using,
            format!(
                "({0} = ( SELECT tenant_store_private.current_tenant('{0}'::text) AS current_tenant))",
                if name == "feedback_events" || name.starts_with("experiment") {
                    "org_id"
                } else {
                    "user_id"
                }
            ),
            "{name}"
        );
        assert_eq!(using, check, "{name}: USING and WITH CHECK agree");
    }
    assert!(rows.iter().any(|r| r.get::<String, _>(0) == Memory::TABLE));
}

/// Counts the memories the application role sees outside any tenant transaction after `prep`.
async fn visible_with_setting(prep: &str) -> i64 {
    let pool = raw_pool(&app_url(), 1).await;
    let mut conn = pool.acquire().await.unwrap();
    if !prep.is_empty() {
        sqlx::raw_sql(sqlx::AssertSqlSafe(prep.to_owned()))
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    // A simple query: through a transaction pooler, sqlx's named statements collide.
    sqlx::Row::get(
        &sqlx::raw_sql("SELECT count(*) FROM memories")
            .fetch_one(&mut *conn)
            .await
            .unwrap(),
        0,
    )
}

#[tokio::test]
async fn an_unset_setting_sees_zero_rows_without_error() {
    let db = db().await;
    seed(&db, &tenant(), 3).await;
    assert_eq!(visible_with_setting("").await, 0);
}

#[tokio::test]
async fn an_empty_setting_sees_zero_rows_without_error() {
    let db = db().await;
    seed(&db, &tenant(), 3).await;
    // What a connection holds after an earlier `SET LOCAL` ended: the empty string.
    assert_eq!(
        visible_with_setting("BEGIN; SET LOCAL tenant_store.ctx = 'x'; COMMIT").await,
        0
    );
    assert_eq!(
        visible_with_setting("SELECT set_config('tenant_store.ctx', '', false)").await,
        0
    );
}

#[tokio::test]
async fn a_malformed_or_unsigned_setting_sees_zero_rows_without_error() {
    let db = db().await;
    let a = tenant();
    seed(&db, &a, 3).await;
    let mut tx = db.begin(&a).await.unwrap();
    let signed: String = tx
        .fetch_optional(sqlx::query("SELECT current_setting('tenant_store.ctx')"))
        .await
        .unwrap()
        .unwrap()
        .get(0);
    let parts: Vec<&str> = signed.split('.').collect();
    let mut bad = vec![
        "not-a-context".to_owned(),
        "' OR true --".to_owned(),
        " ".to_owned(),
        a.user_id().to_string(),
        "v1.tests.1.2.3.4.5".to_owned(),
        "v1.tests.x.y.z.w.v".to_owned(),
        format!("v1.tests.{}", ".".repeat(300)),
        // The signed context with a part dropped or added, or another version or key id.
        parts[..6].join("."),
        format!("{signed}.00"),
        format!("v2.{}", parts[1..].join(".")),
        signed.replacen("tests", "retired", 1),
    ];
    // Each field (but the version) changed to a value of the same shape.
    for i in 2..7 {
        let mut p: Vec<String> = parts.iter().map(|s| s.to_string()).collect();
        let last = p[i].pop().unwrap();
        p[i].push(if last == '0' { '1' } else { '0' });
        bad.push(p.join("."));
    }
    // Tried on the tenant's own connection and transaction, where the genuine context works
    // (the control after the attempts), so only the change can be what fails.
    for bad in bad.iter().chain([&signed]) {
        tx.execute(sqlx::query("SELECT set_config('tenant_store.ctx', $1, true)").bind(bad))
            .await
            .unwrap();
        let seen = tx
            .fetch_all(sqlx::query("SELECT 1 FROM memories"))
            .await
            .unwrap()
            .len();
        assert_eq!(seen, if *bad == signed { 3 } else { 0 }, "setting {bad:?}");
    }
}

#[tokio::test]
async fn a_tenant_sees_only_its_rows_even_through_raw_sql_naming_another() {
    let db = db().await;
    let (a, b) = (tenant(), tenant());
    seed(&db, &a, 4).await;
    seed(&db, &b, 2).await;
    for (who, own, other) in [(&a, 4i64, &b), (&b, 2, &a)] {
        let mut tx = db.begin(who).await.unwrap();
        let all = tx
            .fetch_all(sqlx::query("SELECT user_id FROM memories"))
            .await
            .unwrap();
        assert_eq!(all.len() as i64, own);
        assert!(all.iter().all(|r| r.get::<Uuid, _>(0) == who.user_id()));
        let named = tx
            .fetch_all(
                sqlx::query("SELECT * FROM memories WHERE user_id = $1").bind(other.user_id()),
            )
            .await
            .unwrap();
        assert!(
            named.is_empty(),
            "raw SQL naming the other tenant sees nothing"
        );
        tx.release();
    }
}

#[tokio::test]
async fn inserting_a_row_for_another_tenant_is_refused_by_with_check() {
    let db = db().await;
    let (a, b) = (tenant(), tenant());
    let mut tx = db.begin(&a).await.unwrap();
    let err = tx
        .execute(
            sqlx::query(
                "INSERT INTO memories (id, user_id, app_id, content, metadata, state, version)
                 VALUES ($1, $2, $1, 'x', '{}', 'active', 1)",
            )
            .bind(Uuid::new_v4())
            .bind(b.user_id()),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("row-level security"), "{err}");
}

#[tokio::test]
async fn two_tenants_on_concurrent_connections_stay_apart() {
    let db = db().await;
    let (a, b) = (tenant(), tenant());
    seed(&db, &a, 3).await;
    seed(&db, &b, 5).await;
    // Both transactions open at once, statements interleaved.
    let mut ta = db.begin(&a).await.unwrap();
    let mut tb = db.begin(&b).await.unwrap();
    for _ in 0..3 {
        let ra = ta
            .fetch_all(sqlx::query("SELECT user_id FROM memories"))
            .await
            .unwrap();
        let rb = tb
            .fetch_all(sqlx::query("SELECT user_id FROM memories"))
            .await
            .unwrap();
        assert_eq!((ra.len(), rb.len()), (3, 5));
        assert!(ra.iter().all(|r| r.get::<Uuid, _>(0) == a.user_id()));
        assert!(rb.iter().all(|r| r.get::<Uuid, _>(0) == b.user_id()));
    }
}

/// A pool of two connections, and five tenants holding 1 to 5 memories.
async fn five_tenants_on_a_pool_of_two()
-> (tenant_store::postgres::Db, Vec<tenant_store::Principal>) {
    let db = db_with(2).await;
    let tenants: Vec<_> = (0..5).map(|_| tenant()).collect();
    for (i, t) in tenants.iter().enumerate() {
        seed(&db, t, i + 1).await;
    }
    (db, tenants)
}

#[tokio::test]
async fn a_pool_of_two_serving_fifty_tasks_never_mixes_tenants() {
    let (db, tenants) = five_tenants_on_a_pool_of_two().await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let db = db.clone();
        let t = tenants[i % tenants.len()].clone();
        let expect = i % tenants.len() + 1;
        tasks.push(tokio::spawn(async move {
            let mut tx = db.begin(&t).await.unwrap();
            let rows = tx
                .fetch_all(sqlx::query("SELECT user_id FROM memories"))
                .await
                .unwrap();
            tokio::task::yield_now().await;
            assert_eq!(rows.len(), expect);
            assert!(
                rows.iter().all(|r| r.get::<Uuid, _>(0) == t.user_id()),
                "task {i} saw another tenant"
            );
            if i % 2 == 0 {
                tx.commit().await.unwrap()
            } else {
                tx.release()
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test]
async fn a_pooled_connection_reused_after_a_tenant_transaction_sees_nothing() {
    let db = db_with(1).await;
    let a = tenant();
    seed(&db, &a, 3).await;
    let mut tx = db.begin(&a).await.unwrap();
    assert_eq!(
        tx.fetch_all(sqlx::query("SELECT 1 FROM memories"))
            .await
            .unwrap()
            .len(),
        3
    );
    tx.commit().await.unwrap();
    // The single pooled connection, now outside any tenant transaction.
    assert_eq!(leftover(&db).await, (String::new(), 0));
}

async fn app_attempt(sql: &str) -> Result<(), String> {
    let pool = raw_pool(&app_url(), 1).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&pool)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn the_application_role_cannot_become_the_owner() {
    let _db = db().await;
    let err = app_attempt("SET ROLE ts_owner").await.unwrap_err();
    assert!(err.contains("permission denied"), "{err}");
    let err = app_attempt("SET SESSION AUTHORIZATION ts_owner")
        .await
        .unwrap_err();
    assert!(err.contains("permission denied"), "{err}");
}

#[tokio::test]
async fn the_application_role_cannot_disable_or_unforce_rls_or_drop_the_policy() {
    let _db = db().await;
    for sql in [
        "ALTER TABLE memories DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE memories NO FORCE ROW LEVEL SECURITY",
        "DROP POLICY tenant_isolation ON memories",
        "CREATE POLICY open ON memories USING (true)",
    ] {
        let err = app_attempt(sql).await.unwrap_err();
        assert!(err.contains("must be owner"), "{sql}: {err}");
    }
}

#[tokio::test]
async fn resetting_the_setting_or_turning_row_security_off_reveals_nothing() {
    let db = db().await;
    let a = tenant();
    seed(&db, &a, 2).await;
    let mut tx = db.begin(&a).await.unwrap();
    tx.execute(sqlx::query("RESET tenant_store.ctx"))
        .await
        .unwrap();
    assert!(
        tx.fetch_all(sqlx::query("SELECT 1 FROM memories"))
            .await
            .unwrap()
            .is_empty()
    );
    tx.rollback().await.unwrap();
    // row_security = off makes a query that RLS would filter fail instead of bypassing it.
    let pool = raw_pool(&app_url(), 1).await;
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SET row_security = off")
        .execute(&mut *conn)
        .await
        .unwrap();
    let err = sqlx::query("SELECT * FROM memories")
        .fetch_all(&mut *conn)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("row-level security"), "{err}");
}

#[tokio::test]
async fn the_application_role_cannot_create_a_function_to_bypass_rls() {
    let _db = db().await;
    let err = app_attempt(
        "CREATE FUNCTION peek() RETURNS bigint LANGUAGE sql SECURITY DEFINER AS 'SELECT count(*) FROM memories'",
    )
    .await
    .unwrap_err();
    assert!(err.contains("permission denied"), "{err}");
    // Nor redefine the function the policy calls.
    let err = app_attempt(
        "CREATE OR REPLACE FUNCTION tenant_store_current(setting text) RETURNS uuid LANGUAGE sql AS 'SELECT NULL::uuid'",
    )
    .await
    .unwrap_err();
    assert!(
        err.contains("must be owner") || err.contains("permission denied"),
        "{err}"
    );
}

#[tokio::test]
async fn the_policy_reads_the_setting_once_and_uses_the_scope_index() {
    let db = db().await;
    // Enough rows in enough tenants that a sequential scan would lose; inserted by the superuser.
    let su = raw_pool(&super_url(), 1).await;
    let filler = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO memories (id, user_id, app_id, content, metadata, state, version)
         SELECT gen_random_uuid(), md5($1::text || (g % 200))::uuid, $1, 'filler', '{}', 'active', 1
         FROM generate_series(1, 20000) g",
    )
    .bind(filler)
    .execute(&su)
    .await
    .unwrap();
    sqlx::query("ANALYZE memories").execute(&su).await.unwrap();

    let a = tenant();
    seed(&db, &a, 3).await;
    let mut tx = db.begin(&a).await.unwrap();
    let plan: Vec<String> = tx
        .fetch_all(sqlx::query("EXPLAIN SELECT * FROM memories"))
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let plan = plan.join("\n");
    println!("{plan}");
    assert!(
        plan.contains("InitPlan"),
        "setting evaluated once per statement:\n{plan}"
    );
    assert!(
        plan.contains("Index Cond: (user_id = $0)"),
        "index on the scope column:\n{plan}"
    );
    assert!(!plan.contains("Seq Scan"), "{plan}");
}

/// Typed hand-written queries decode with sqlx and still see only the caller's tenant, from
/// both sides: a listing, one row by the other tenant's id (absent), a count.
#[tokio::test]
async fn typed_hand_written_queries_stay_inside_the_tenant() {
    #[derive(sqlx::FromRow, Debug, PartialEq)]
    struct Row {
        id: Uuid,
        content: String,
    }
    let db = db().await;
    let (a, b) = (tenant(), tenant());
    seed(&db, &a, 3).await;
    seed(&db, &b, 2).await;
    let mut ids = Vec::new();
    for (who, n) in [(&a, 3_i64), (&b, 2)] {
        let mut tx = db.begin(who).await.unwrap();
        let rows: Vec<Row> = tx
            .fetch_all_as(sqlx::query(
                "SELECT id, content FROM public.memories ORDER BY content",
            ))
            .await
            .unwrap();
        assert_eq!(rows.len() as i64, n, "only the caller's rows");
        let (count,): (i64,) = tx
            .fetch_one_as(sqlx::query("SELECT count(*) FROM public.memories"))
            .await
            .unwrap();
        assert_eq!(count, n);
        ids.push(rows[0].id);
        tx.release();
    }
    for (who, theirs) in [(&a, ids[1]), (&b, ids[0])] {
        let mut tx = db.begin(who).await.unwrap();
        let q =
            || sqlx::query("SELECT id, content FROM public.memories WHERE id = $1").bind(theirs);
        assert_eq!(tx.fetch_optional_as::<Row, _>(q()).await.unwrap(), None);
        assert!(matches!(
            tx.fetch_one_as::<Row, _>(q()).await,
            Err(tenant_store::Error::NotFound)
        ));
        tx.release();
    }
}

/// `count` takes the list's filter and equals the length of the full listing, per tenant, from
/// both sides; a soft-deleted row is not counted.
#[tokio::test]
async fn count_matches_the_listing_and_stays_inside_the_tenant() {
    use tenant_store::Page;
    use tenant_store_examples::memory::MemoryFilter;
    let db = db().await;
    let (a, b) = (tenant(), tenant());
    let (app1, app2) = (Uuid::new_v4(), Uuid::new_v4());
    for (who, n1, n2) in [(&a, 3, 1), (&b, 2, 4)] {
        let mut tx = db.begin(who).await.unwrap();
        for (app, n) in [(app1, n1), (app2, n2)] {
            for i in 0..n {
                let new = NewMemory {
                    app_id: app,
                    content: format!("{i}"),
                    ..Default::default()
                };
                Memory::store().create(&mut tx, new).await.unwrap();
            }
        }
        tx.commit().await.unwrap();
    }
    for (who, n1, n2) in [(&a, 3_u64, 1_u64), (&b, 2, 4)] {
        let mut tx = db.begin(who).await.unwrap();
        for (app, want) in [(None, n1 + n2), (Some(app1), n1), (Some(app2), n2)] {
            let filter = || match app {
                Some(app) => MemoryFilter::new().app_id(app),
                None => MemoryFilter::new(),
            };
            let listed = Memory::store()
                .list(&mut tx, filter(), Page::first(1000))
                .await
                .unwrap()
                .items;
            let counted = Memory::store().count(&mut tx, filter()).await.unwrap();
            assert_eq!(counted, want);
            assert_eq!(counted, listed.len() as u64);
        }
        // A soft-deleted memory is neither listed nor counted.
        let any = Memory::store()
            .list(&mut tx, MemoryFilter::new().app_id(app1), Page::first(1))
            .await
            .unwrap()
            .items;
        Memory::store().delete(&mut tx, any[0].id).await.unwrap();
        let counted = Memory::store()
            .count(&mut tx, MemoryFilter::new().app_id(app1))
            .await
            .unwrap();
        assert_eq!(counted, n1 - 1);
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn a_pool_of_two_serving_fifty_single_operation_tasks_never_mixes_tenants() {
    let (db, tenants) = five_tenants_on_a_pool_of_two().await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let pool = db.clone();
        let t = tenants[i % tenants.len()].clone();
        let (expect, rounds) = (i % tenants.len() + 1, i / tenants.len());
        tasks.push(tokio::spawn(async move {
            let db = pool;
            // Each call is one statement on whichever connection the pool hands out.
            let mut me = db.tenant(&t);
            let listed = Memory::store()
                .list(&mut me, MemoryFilter::new(), Page::first(100))
                .await
                .unwrap()
                .items;
            tokio::task::yield_now().await;
            assert_eq!(listed.len(), expect + rounds, "task {i}");
            assert!(
                listed.iter().all(|m| m.user_id == t.user_id()),
                "task {i} saw another tenant"
            );
            let counted = Memory::store()
                .count(&mut me, MemoryFilter::new())
                .await
                .unwrap();
            assert!(counted as usize >= listed.len(), "task {i}");
            let other = tenant();
            let foreign = Memory::store()
                .get(&mut db.tenant(&other), listed[0].id)
                .await
                .unwrap();
            assert!(foreign.is_none(), "task {i}: another tenant read it");
        }));
        // Writes interleave with the reads: the task's own tenant grows by one per round.
        if i % tenants.len() == tenants.len() - 1 {
            for t in tasks.drain(..) {
                t.await.unwrap();
            }
            for t in &tenants {
                Memory::store()
                    .create(&mut db.tenant(t), NewMemory::default())
                    .await
                    .unwrap();
            }
        }
    }
}

#[tokio::test]
async fn a_pooled_connection_reused_after_single_operations_sees_nothing() {
    let db = db_with(1).await;
    let a = tenant();
    let mut me = db.tenant(&a);
    let m = Memory::store()
        .create(&mut me, NewMemory::default())
        .await
        .unwrap();
    assert!(Memory::store().get(&mut me, m.id).await.unwrap().is_some());
    // The single pooled connection, outside any call.
    assert_eq!(leftover(&db).await, (String::new(), 0));
}
