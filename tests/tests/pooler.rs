//! Behind PgBouncer in transaction mode (`scripts/services.sh up pgbouncer`): without
//! `DbOptions::pooler` the connect is refused, naming the option, instead of running tokens
//! signed for a backend the statements never meet (zero rows); with it, two tenants keep
//! apart from both sides, over single operations and transactions, many calls at once.
//!
//! `scripts/test.sh` also runs the contract, isolation, RLS, round-trip and hostile-SQL suites
//! through the pooler; this file runs in every pass, so the direct one covers the pooler too.

use tenant_store::Principal;
use tenant_store::postgres::{Db, DbOptions, Pooler};
use tenant_store::{Error, Page};
use tenant_store_examples::memory::{Memory, MemoryFilter, NewMemory};
use tenant_store_tests::{key, migrate, tenant};
use uuid::Uuid;

/// The application role's URL through PgBouncer.
fn pooler_url() -> String {
    std::env::var("TENANT_STORE_PG_POOLER_URL")
        .unwrap_or_else(|_| "postgres://ts_app:ts_app_pw@127.0.0.1:56432/tenant_store".to_owned())
}

async fn through_pooler(options: DbOptions) -> Result<Db, Error> {
    migrate().await;
    Db::connect_with(&pooler_url(), key(), options).await
}

/// The tests here take turns: the connect probe is shown on a quiet pooler (on a busy one it
/// can miss, and the policy's refusal, the last test, is what remains).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn unreachable(e: &Error) -> bool {
    matches!(e, Error::Unavailable(_) | Error::Timeout(_))
}

fn memory(content: &str) -> NewMemory {
    NewMemory {
        content: content.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn without_the_option_a_transaction_pooler_is_refused_at_connect_naming_it() {
    let _serial = SERIAL.lock().await;
    // Several times: each connect probes afresh, and none may slip through.
    for _ in 0..5 {
        let err = through_pooler(DbOptions::default())
            .await
            .expect_err("a transaction pooler without `DbOptions::pooler` must be refused");
        assert!(
            !unreachable(&err),
            "cannot reach PgBouncer at {}: {err}; start it with `scripts/services.sh up pg pgbouncer`",
            pooler_url()
        );
        let text = err.to_string();
        assert!(matches!(err, Error::Audit(_)), "{text}");
        assert!(
            text.contains("DbOptions::pooler(Pooler::Transaction)"),
            "names the fix: {text}"
        );
    }
}

/// Ids of the memories `who` lists, and the count it is told.
async fn listed(db: &Db, who: &Principal) -> (Vec<Uuid>, u64) {
    let store = Memory::store();
    let page = store
        .list(&mut db.tenant(who), MemoryFilter::new(), Page::first(100))
        .await
        .unwrap();
    let n = store
        .count(&mut db.tenant(who), MemoryFilter::new())
        .await
        .unwrap();
    (page.items.into_iter().map(|m| m.id).collect(), n)
}

#[tokio::test]
async fn with_the_option_two_tenants_stay_apart_from_both_sides_over_many_calls_at_once() {
    let _serial = SERIAL.lock().await;
    let db = through_pooler(DbOptions::default().pooler(Pooler::Transaction).max_connections(4))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "connecting through PgBouncer at {} failed: {e}; start it with `scripts/services.sh up pg pgbouncer`",
                pooler_url()
            )
        });
    let (a, b) = (tenant(), tenant());
    // Twenty writers at once on four connections, through a pooler that lends each
    // transaction whichever server session is free: half single operations, half transactions.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (db, who) = (db.clone(), if i % 2 == 0 { a.clone() } else { b.clone() });
        tasks.push(tokio::spawn(async move {
            let store = Memory::store();
            let made = if i % 4 < 2 {
                store
                    .create(&mut db.tenant(&who), memory(&format!("{i}")))
                    .await
            } else {
                let mut tx = db.begin(&who).await.unwrap();
                let made = store.create(&mut tx, memory(&format!("{i}"))).await;
                tx.commit().await.unwrap();
                made
            };
            (who.user_id(), made.unwrap().id)
        }));
    }
    let mut made = Vec::new();
    for t in tasks {
        made.push(t.await.unwrap());
    }
    for (me, other) in [(&a, &b), (&b, &a)] {
        let mine: Vec<Uuid> = made
            .iter()
            .filter(|(u, _)| *u == me.user_id())
            .map(|(_, id)| *id)
            .collect();
        let (ids, n) = listed(&db, me).await;
        assert_eq!((ids.len(), n), (10, 10), "its own ten, nothing else");
        assert!(ids.iter().all(|id| mine.contains(id)));
        // The other tenant's ids, one by one, through both guards: absent.
        let store = Memory::store();
        for (u, id) in &made {
            if *u == other.user_id() {
                assert!(store.get(&mut db.tenant(me), *id).await.unwrap().is_none());
                let mut tx = db.begin(me).await.unwrap();
                assert!(store.get(&mut tx, *id).await.unwrap().is_none());
                let seen: Vec<(Uuid,)> = tx
                    .fetch_all_as(
                        sqlx::query("SELECT user_id FROM public.memories WHERE id = $1").bind(id),
                    )
                    .await
                    .unwrap();
                assert!(seen.is_empty(), "hand-written SQL sees only its tenant");
                tx.commit().await.unwrap();
            }
        }
    }
}

/// What a `Db` made for direct connections would meet behind a transaction pooler that slipped
/// past the connect probe: a statement signed for one backend runs on another. Shown with two
/// direct sessions: a genuine context, copied from a transaction on one backend into a
/// transaction on another. It must fail, naming the option, not read as an empty tenant.
#[tokio::test]
async fn a_genuine_context_on_another_backend_fails_naming_the_option_never_as_no_rows() {
    use sqlx::{Executor as _, Row as _};
    let _serial = SERIAL.lock().await;
    let db = tenant_store_tests::db_with(2).await;
    let a = tenant();
    Memory::store()
        .create(&mut db.tenant(&a), memory("a's"))
        .await
        .unwrap();
    let mut tx = db.begin(&a).await.unwrap();
    let (ctx, pid): (String, i32) = tx
        .fetch_one_as(sqlx::query(
            "SELECT current_setting('tenant_store.ctx'), pg_backend_pid()",
        ))
        .await
        .unwrap();
    let other = tenant_store_tests::raw_pool(&tenant_store_tests::app_url(), 1).await;
    let mut conn = other.acquire().await.unwrap();
    let their_pid: i32 = conn
        .fetch_one(sqlx::raw_sql("SELECT pg_backend_pid()"))
        .await
        .unwrap()
        .get(0);
    assert_ne!(pid, their_pid);
    // In one message, so the three statements share one transaction through any pooler.
    let seen = conn
        .fetch_all(sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "BEGIN; SELECT set_config('tenant_store.ctx', '{ctx}', true); \
             SELECT count(*) FROM public.memories; COMMIT"
        ))))
        .await;
    let err = match seen {
        Ok(rows) => panic!(
            "the context ran on backend {their_pid} and saw {:?} rows instead of failing",
            rows.last().map(|r| r.get::<i64, _>(0))
        ),
        Err(e) => e,
    };
    let text = Error::from(err).to_string();
    assert!(
        text.contains(&format!("signed for backend {pid}"))
            && text.contains("DbOptions::pooler(Pooler::Transaction)"),
        "{text}"
    );
    tx.rollback().await.unwrap();
}
