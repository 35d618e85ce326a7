//! One round trip per guarded operation (`Db::tenant`): counted on the wire for every generated
//! operation; the facts the gate rests on, each shown on the server; calls cancelled at every
//! await point; connections killed by the server between calls.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use sqlx::Row;
use tenant_store::postgres::run::gate;
use tenant_store::postgres::{CHUNK, Db, DbOptions, PgCrud, TenantDb, TenantTx};
use tenant_store::{Direction, Page, Principal};
use tenant_store_examples::memory::{Memory, MemoryFilter, MemoryOrder, MemoryPatch, NewMemory};
use tenant_store_tests::{
    RoundTripCounter, app_url, db_through, db_with, host_port, key, leftover, migrate, options,
    raw_pool, super_url, tenant,
};
use uuid::Uuid;

fn memory(content: &str) -> NewMemory {
    NewMemory {
        content: content.to_owned(),
        ..Default::default()
    }
}

/// Round trips of `op` on the caller's path, and in the 200 ms after it returned (work a
/// dropped guard or the pool would do on the way back).
async fn counted<T>(proxy: &RoundTripCounter, op: impl Future<Output = T>) -> (T, u64, u64) {
    let before = proxy.count();
    let out = op.await;
    let path = proxy.count() - before;
    tokio::time::sleep(Duration::from_millis(200)).await;
    (out, path, proxy.count() - before - path)
}

#[tokio::test]
async fn every_operation_on_a_tenant_db_is_one_round_trip_and_none_after() {
    let proxy = RoundTripCounter::start(host_port(&app_url())).await;
    let db = db_through(&proxy).await;
    let (a, b) = (tenant(), tenant());
    let store = Memory::store();
    let newest = || MemoryFilter::new().order_by(MemoryOrder::CreatedAt, Direction::Desc);
    let mut t = db.tenant(&a);

    // Warm up: the connection exists and every statement is prepared once (sqlx caches them).
    let m = store.create(&mut t, memory("warm")).await.unwrap();
    store.create(&mut t, memory("warm 2")).await.unwrap();
    store.get(&mut t, m.id).await.unwrap();
    let first = store.list(&mut t, newest(), Page::first(1)).await.unwrap();
    let next = first.next.clone().unwrap();
    store.list(&mut t, newest(), next.clone()).await.unwrap();
    store.count(&mut t, MemoryFilter::new()).await.unwrap();
    let patch = MemoryPatch {
        content: Some("warm".into()),
        ..Default::default()
    };
    let m = store.update(&mut t, m.id, m.version, patch).await.unwrap();
    let gone = store.create(&mut t, memory("to delete")).await.unwrap();
    store.delete(&mut t, gone.id).await.unwrap();
    store
        .create_many(&mut t, vec![memory("many")])
        .await
        .unwrap();
    store.delete_tenant(&mut db.tenant(&b)).await.unwrap();

    let mut rows = Vec::new();
    let (got, p, after) = counted(&proxy, store.get(&mut t, m.id)).await;
    assert_eq!(got.unwrap().unwrap().id, m.id);
    rows.push(("get", p, after));
    let (got, p, after) = counted(&proxy, store.list(&mut t, newest(), Page::first(1))).await;
    assert_eq!(got.unwrap().items.len(), 1);
    rows.push(("list, first page", p, after));
    let (got, p, after) = counted(&proxy, store.list(&mut t, newest(), next)).await;
    assert_eq!(got.unwrap().items.len(), 1);
    rows.push(("list, after a cursor", p, after));
    let (got, p, after) = counted(&proxy, store.count(&mut t, MemoryFilter::new())).await;
    assert_eq!(got.unwrap(), 3, "warm, warm 2, many");
    rows.push(("count", p, after));
    let (got, p, after) = counted(&proxy, store.create(&mut t, memory("one"))).await;
    let one = got.unwrap();
    rows.push(("create", p, after));
    let patch = MemoryPatch {
        content: Some("changed".into()),
        ..Default::default()
    };
    let (got, p, after) = counted(&proxy, store.update(&mut t, one.id, one.version, patch)).await;
    assert_eq!(got.unwrap().content, "changed");
    rows.push(("update", p, after));
    let (got, p, after) = counted(&proxy, store.delete(&mut t, one.id)).await;
    got.unwrap();
    rows.push(("delete", p, after));
    let many: Vec<_> = (0..100).map(|i| memory(&format!("m{i}"))).collect();
    let (got, p, after) = counted(&proxy, store.create_many(&mut t, many)).await;
    assert_eq!(got.unwrap(), 100);
    rows.push(("create_many, one chunk", p, after));
    let (got, p, after) = counted(&proxy, store.delete_tenant(&mut db.tenant(&b))).await;
    assert_eq!(got.unwrap(), 0);
    rows.push(("delete_tenant", p, after));

    for (op, path, after) in &rows {
        println!("{op}: {path} round trip(s) on the caller's path, {after} after");
    }
    // Behind a transaction pooler: `BEGIN` and the pid, sqlx's Parse/Describe/Sync of the
    // unnamed statement, its Bind/Execute/Sync, `COMMIT`.
    let each = if tenant_store_tests::pooled() { 4 } else { 1 };
    for (op, path, after) in rows {
        assert_eq!((path, after), (each, 0), "{op}");
    }

    // What the calls wrote is committed: another connection sees it, from a's side only.
    let direct = Db::connect_with(&app_url(), key(), options())
        .await
        .unwrap();
    let mut tx = direct.begin(&a).await.unwrap();
    let n: i64 = tx
        .fetch_one_as::<(i64,), _>(sqlx::query("SELECT count(*) FROM public.memories"))
        .await
        .unwrap()
        .0;
    // Soft deletes keep their rows: warm, warm 2, to delete, many, one, and the 100.
    assert_eq!(n, 105);
}

/// A connection of `db` that has left its guard's transaction (a hand-written `COMMIT`), so what
/// follows runs as autocommit statements, with `who`'s signed context for this session.
/// A connection of `db` in autocommit (hostile SQL ended the guard's transaction) and a context
/// for `who` that one statement on it may set (it expires in a minute).
async fn autocommit_with_context<'d>(db: &'d Db, who: &Principal) -> (TenantTx<'d>, String) {
    let mut tx = db.begin(who).await.unwrap();
    tx.execute(sqlx::query("COMMIT")).await.unwrap();
    let (pid, now_ms): (i32, i64) = tx
        .fetch_one_as(sqlx::query(
            "SELECT pg_backend_pid(), (extract(epoch FROM clock_timestamp()) * 1000)::bigint",
        ))
        .await
        .unwrap();
    let bound = format!("e{}", now_ms + 60_000);
    let token = tenant_store_tests::sign_context(pid, &bound, who.user_id(), who.org_id());
    (tx, token)
}

async fn ids(
    tx: &mut TenantTx<'_>,
    q: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
) -> Vec<Uuid> {
    tx.fetch_all(q)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<Uuid, _>(0))
        .collect()
}

async fn setting(tx: &mut TenantTx<'_>) -> String {
    tx.fetch_one_as::<(Option<String>,), _>(sqlx::query(
        "SELECT current_setting('tenant_store.ctx', true)",
    ))
    .await
    .unwrap()
    .0
    .unwrap_or_default()
}

#[test]
fn the_expansion_writes_the_runtimes_gate() {
    // The macro cannot call the runtime, so it writes the gate's text itself: the same text.
    assert!(
        <Memory as PgCrud>::GET.contains(&gate(3)),
        "id, soft delete, context"
    );
    assert!(<Memory as PgCrud>::DELETE_TENANT.ends_with(&gate(1)));
    assert!(
        <Memory as PgCrud>::CREATE.contains(&gate(7)),
        "id, tenant, 4 data fields"
    );
}

#[tokio::test]
async fn the_gate_sets_the_context_before_the_policy_reads_it_and_nothing_outlives_the_statement() {
    let db = db_with(2).await;
    let (a, b) = (tenant(), tenant());
    let mine = store_one(&db, &a, "a's").await;
    let theirs = store_one(&db, &b, "b's").await;
    for (me, them, own, other) in [(&a, &b, mine, theirs), (&b, &a, theirs, mine)] {
        let (mut tx, token) = autocommit_with_context(&db, me).await;
        let gate = gate(1);
        let by_id = format!("SELECT id FROM public.memories WHERE {gate} AND id = $2");
        let q = |id| {
            sqlx::query(sqlx::AssertSqlSafe(by_id.clone()))
                .bind(token.clone())
                .bind(id)
        };
        // The gate alone: the tenant's own row, and another's is absent.
        assert_eq!(ids(&mut tx, q(own)).await, vec![own]);
        assert!(ids(&mut tx, q(other)).await.is_empty());
        // The setting ended with the statement's implicit transaction.
        assert_eq!(setting(&mut tx).await, "");
        // Without the gate the policy reads no context at all.
        let bare = sqlx::query("SELECT id FROM public.memories WHERE id = $1").bind(own);
        assert!(ids(&mut tx, bare).await.is_empty());

        // The generated statement's plan: the gate is the one-time filter, alone, above the
        // scan; the policy's tenant is an index condition inside the scan, computed after.
        let get = format!("EXPLAIN (COSTS off) {}", <Memory as PgCrud>::GET);
        let q = sqlx::query(sqlx::AssertSqlSafe(get))
            .bind(own)
            .bind("deleted")
            .bind(token.clone());
        let plan: Vec<String> = tx
            .fetch_all(q)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>(0).trim().to_owned())
            .collect();
        let gate_only = |l: &String| {
            l.strip_prefix("One-Time Filter: $")
                .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
        };
        assert!(plan.first().is_some_and(|l| l == "Result"), "{plan:#?}");
        assert!(plan.iter().any(gate_only), "{plan:#?}");
        assert!(
            plan.iter()
                .any(|l| l.starts_with("Index Cond: ((user_id = $")),
            "{plan:#?}"
        );
        // The trap: the setting made in a LATERAL call before the read. The policy's one-time
        // filter is hoisted above the join and runs first: no rows (closed, not open).
        let lateral = "SELECT t.id FROM (SELECT set_config('tenant_store.ctx', $1, true) AS s) c \
                       CROSS JOIN LATERAL (SELECT id FROM public.memories \
                       WHERE c.s IS NOT NULL AND user_id = $3 AND id = $2) t";
        let q = sqlx::query(lateral)
            .bind(token.clone())
            .bind(own)
            .bind(me.user_id());
        assert!(ids(&mut tx, q).await.is_empty());
        // `SET LOCAL` outside a transaction block is a warning and sets nothing for the next
        // statement.
        tx.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "SET LOCAL tenant_store.ctx = '{token}'"
        ))))
        .await
        .unwrap();
        let bare = sqlx::query("SELECT id FROM public.memories WHERE id = $1").bind(own);
        assert!(ids(&mut tx, bare).await.is_empty());

        // A gated write commits at the statement's end and leaves no setting.
        let insert = format!(
            "INSERT INTO public.memories (id, user_id, app_id, content, metadata, state, version) \
             SELECT $2, $3, $2, 'gated', 'null', 'active', 1 WHERE {gate} RETURNING id"
        );
        let id = Uuid::new_v4();
        let q = sqlx::query(sqlx::AssertSqlSafe(insert.clone()))
            .bind(token.clone())
            .bind(id)
            .bind(me.user_id());
        assert_eq!(ids(&mut tx, q).await, vec![id]);
        assert_eq!(setting(&mut tx).await, "");
        let mut check = db.tenant(me);
        assert!(Memory::store().get(&mut check, id).await.unwrap().is_some());
        // ... and cannot write into another tenant: the policy's check refuses the row.
        let q = sqlx::query(sqlx::AssertSqlSafe(insert))
            .bind(token.clone())
            .bind(Uuid::new_v4())
            .bind(them.user_id());
        let refused = tx.fetch_all(q).await.unwrap_err().to_string();
        assert!(refused.contains("row-level security"), "{refused}");
    }
}

async fn store_one(db: &Db, who: &Principal, content: &str) -> Uuid {
    Memory::store()
        .create(&mut db.tenant(who), memory(content))
        .await
        .unwrap()
        .id
}

/// Polls `fut` `polls` times, letting the server answer in between, then drops it.
async fn poll_then_drop<F: Future>(fut: F, polls: usize) -> bool {
    let mut fut = Box::pin(fut);
    for _ in 0..polls {
        let ready =
            std::future::poll_fn(|cx| Poll::Ready(Pin::as_mut(&mut fut).poll(cx).is_ready())).await;
        if ready {
            return true;
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    false
}

#[tokio::test]
async fn a_call_cancelled_at_any_point_leaves_nothing_for_the_next_tenant() {
    let db = db_with(1).await;
    let (a, b) = (tenant(), tenant());
    let b_own = store_one(&db, &b, "b's").await;
    let a_own = store_one(&db, &a, "a's").await;
    let store = Memory::store();
    let mut completed = 0;
    // Each call is dropped after 0, 1, 2, ... polls: before it takes a connection, with its
    // statement written but unanswered, half read, and so on until it completes.
    for polls in 0..40 {
        let mut ta: TenantDb<'_> = db.tenant(&a);
        let done = if polls % 2 == 0 {
            poll_then_drop(store.create(&mut ta, memory("cancelled?")), polls).await
        } else {
            poll_then_drop(store.get(&mut ta, a_own), polls).await
        };
        completed += usize::from(done);
        // The next call, another tenant's, on the same (or a replacing) connection.
        let mut tb = db.tenant(&b);
        let seen = store
            .list(&mut tb, MemoryFilter::new(), Page::first(100))
            .await
            .unwrap();
        assert_eq!(
            seen.items.iter().map(|m| m.id).collect::<Vec<_>>(),
            vec![b_own],
            "after {polls} polls"
        );
        assert_eq!(
            leftover(&db).await,
            (String::new(), 0),
            "after {polls} polls"
        );
    }
    assert!(
        completed > 0 && completed < 40,
        "the sweep crossed every await point: {completed} of 40 completed"
    );
    // a's cancelled creates committed whole or not at all, and only in a's tenant.
    let mine = store
        .list(&mut db.tenant(&a), MemoryFilter::new(), Page::first(100))
        .await
        .unwrap();
    assert!(mine.items.iter().all(|m| m.user_id == a.user_id()));
    assert!(mine.items.iter().any(|m| m.id == a_own));
}

async fn pid(db: &Db) -> i32 {
    tenant_store_tests::raw_pid(db).await
}

/// Terminates the pooled connection's backend, as an operator or `idle_session_timeout` would.
async fn kill(db: &Db) -> i32 {
    let victim = pid(db).await;
    let su = raw_pool(&super_url(), 1).await;
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1, 5000)")
        .bind(victim)
        .fetch_one(&su)
        .await
        .unwrap();
    assert!(killed);
    su.close().await;
    victim
}

#[tokio::test]
async fn a_connection_the_server_closed_between_calls_is_replaced_without_an_error() {
    let db = db_with(1).await;
    let a = tenant();
    let store = Memory::store();
    let m = store
        .create(&mut db.tenant(&a), memory("kept"))
        .await
        .unwrap();
    let mut versions = m.version;
    for op in [
        "get",
        "list",
        "count",
        "create",
        "update",
        "create_many",
        "create_many over a chunk",
        "delete_tenant of another",
        "a transaction (db.begin)",
    ] {
        let victim = kill(&db).await;
        let mut t = db.tenant(&a);
        match op {
            "get" => assert!(store.get(&mut t, m.id).await.unwrap().is_some()),
            "list" => {
                let l = store
                    .list(&mut t, MemoryFilter::new(), Page::first(10))
                    .await
                    .unwrap();
                assert!(l.items.iter().any(|x| x.id == m.id));
            }
            "count" => assert!(store.count(&mut t, MemoryFilter::new()).await.unwrap() >= 1),
            "create" => {
                store.create(&mut t, memory("after a kill")).await.unwrap();
            }
            "update" => {
                let u = store
                    .update(&mut t, m.id, versions, MemoryPatch::default())
                    .await
                    .unwrap();
                versions = u.version;
            }
            "create_many" => {
                assert_eq!(
                    store.create_many(&mut t, vec![memory("x")]).await.unwrap(),
                    1
                );
            }
            "create_many over a chunk" => {
                // A transaction: its BEGIN is the call's first statement, and is sent again.
                let rows = (0..=CHUNK).map(|_| memory("x"));
                let n = store.create_many(&mut t, rows).await.unwrap();
                assert_eq!(n as usize, CHUNK + 1);
            }
            "a transaction (db.begin)" => {
                let mut tx = db.begin(&a).await.unwrap();
                assert!(store.get(&mut tx, m.id).await.unwrap().is_some());
                tx.commit().await.unwrap();
            }
            _ => {
                assert_eq!(
                    store
                        .delete_tenant(&mut db.tenant(&tenant()))
                        .await
                        .unwrap(),
                    0
                );
            }
        }
        assert_ne!(
            pid(&db).await,
            victim,
            "{op}: the dead connection was replaced"
        );
    }
}

async fn db_opts(options: DbOptions) -> Db {
    migrate().await;
    Db::connect_with(&app_url(), key(), options.max_connections(1))
        .await
        .unwrap()
}

#[tokio::test]
async fn connections_past_their_lifetime_or_idle_limit_are_replaced_and_the_pool_reports_itself() {
    let a = tenant();
    let store = Memory::store();
    for options in [
        DbOptions::default().max_lifetime(Some(Duration::from_millis(300))),
        DbOptions::default().idle_timeout(Some(Duration::from_millis(300))),
    ] {
        let db = db_opts(options.clone()).await;
        let m = store.create(&mut db.tenant(&a), memory("x")).await.unwrap();
        let first = pid(&db).await;
        assert_eq!(
            pid(&db).await,
            first,
            "{options:?}: kept while young and busy"
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(store.get(&mut db.tenant(&a), m.id).await.unwrap().is_some());
        assert_ne!(pid(&db).await, first, "{options:?}: retired");
    }
    let db = db_opts(DbOptions::default()).await;
    let status = db.pool_status();
    assert_eq!((status.max_size, status.size, status.waiting), (1, 0, 0));
    store
        .count(&mut db.tenant(&a), MemoryFilter::new())
        .await
        .unwrap();
    let status = db.pool_status();
    assert_eq!((status.size, status.available), (1, 1));
}
