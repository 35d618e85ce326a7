//! Reads from a streaming-replication hot standby (`scripts/services.sh up pg pg_replica`):
//! `get`, `list` and `count` of a `TenantDb` go there and keep two tenants apart from both
//! sides, the standby verifying the signed context itself; what a read sees of recent writes
//! (eventual, or the caller's own writes); a standby that falls behind or is gone; a "replica"
//! that is a primary; a context carried from the primary to the standby.
//!
//! `scripts/test.sh` also runs the PostgreSQL contract and isolation suites with every read on
//! the replica (`TENANT_STORE_PG_READS=replica`).

use std::time::Duration;

use futures_util::FutureExt as _;
use sqlx::{Executor as _, Row as _};
use tenant_store::postgres::{Db, DbOptions, ReadConsistency};
use tenant_store::{Error, Page, Principal};
use tenant_store_examples::memory::{Memory, MemoryFilter, NewMemory};
use tenant_store_tests::{
    RoundTripCounter, app_url, free_port, host_port, key, migrate, options, raw_pool, super_url,
    tenant, via, with_database,
};
use uuid::Uuid;

/// The application role's URL on the standby.
fn replica_url() -> String {
    std::env::var("TENANT_STORE_PG_REPLICA_URL")
        .unwrap_or_else(|_| "postgres://ts_app:ts_app_pw@127.0.0.1:54330/tenant_store".to_owned())
}

/// The superuser's URL on the standby (to pause and resume its replay).
fn replica_super_url() -> String {
    let (_, app) = replica_url()
        .split_once('@')
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .expect("a URL with credentials");
    let super_creds = super_url()
        .split_once('@')
        .map(|(a, _)| a.to_owned())
        .expect("a URL with credentials");
    with_database(&format!("{super_creds}@{app}"), "tenant_store")
}

/// The tests here take turns: one pauses the standby's replay.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const START: &str = "start it with `scripts/services.sh up pg pg_replica`";

async fn connect(options: DbOptions) -> Db {
    migrate().await;
    Db::connect_with(&app_url(), key(), options)
        .await
        .unwrap_or_else(|e| panic!("connecting with a read replica failed: {e}; {START}"))
}

fn memory(content: &str) -> NewMemory {
    NewMemory {
        content: content.into(),
        ..Default::default()
    }
}

/// Waits until the standby has replayed everything the primary has flushed.
async fn caught_up() {
    let primary = raw_pool(&app_url(), 1).await;
    let flushed: i64 = primary
        .fetch_one(sqlx::raw_sql(
            "SELECT (pg_current_wal_flush_lsn() - '0/0'::pg_lsn)::bigint",
        ))
        .await
        .unwrap()
        .get(0);
    let standby = raw_pool(&replica_url(), 1).await;
    // Generous: a standby that was stopped while the primary wrote a lot (a benchmark's million
    // rows) replays that backlog first.
    for _ in 0..3000 {
        let replayed: i64 = standby
            .fetch_one(sqlx::raw_sql(
                "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint",
            ))
            .await
            .unwrap_or_else(|e| panic!("the replica: {e}; {START}"))
            .get(0);
        if replayed >= flushed {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the replica did not catch up in 30 s");
}

async fn write(db: &Db, who: &Principal, content: &str) -> Uuid {
    Memory::store()
        .create(&mut db.tenant(who), memory(content))
        .await
        .unwrap()
        .id
}

async fn listed(db: &Db, who: &Principal) -> Vec<Uuid> {
    Memory::store()
        .list(&mut db.tenant(who), MemoryFilter::new(), Page::first(100))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|m| m.id)
        .collect()
}

#[tokio::test]
async fn reads_go_to_the_replica_and_keep_two_tenants_apart_from_both_sides() {
    let _serial = SERIAL.lock().await;
    let proxy = RoundTripCounter::start(host_port(&replica_url())).await;
    let db = connect(
        options()
            .read_replica(via(&replica_url(), proxy.addr))
            .replica_max_lag(Duration::from_secs(600)),
    )
    .await;
    let (a, b) = (tenant(), tenant());
    let mine = [write(&db, &a, "a1").await, write(&db, &a, "a2").await];
    let theirs = [write(&db, &b, "b1").await];
    caught_up().await;
    // The replica's pool opens its connection, and sqlx prepares each read's statement there
    // once (Parse/Describe, one more round trip the first time).
    let store = Memory::store();
    listed(&db, &a).await;
    store
        .count(&mut db.tenant(&a), MemoryFilter::new())
        .await
        .unwrap();
    store.get(&mut db.tenant(&a), mine[0]).await.unwrap();
    for (me, own, other) in [(&a, &mine[..], &theirs[..]), (&b, &theirs[..], &mine[..])] {
        let before = proxy.count();
        let mut ids = listed(&db, me).await;
        ids.sort();
        let mut expected = own.to_vec();
        expected.sort();
        assert_eq!(ids, expected, "its own rows, all of them, and nothing else");
        let n = store
            .count(&mut db.tenant(me), MemoryFilter::new())
            .await
            .unwrap();
        assert_eq!(n, own.len() as u64);
        for id in own {
            assert!(store.get(&mut db.tenant(me), *id).await.unwrap().is_some());
        }
        for id in other {
            assert!(store.get(&mut db.tenant(me), *id).await.unwrap().is_none());
        }
        // Each read: `BEGIN` with the checks, the statement, `COMMIT` (a standby that turned
        // a read away would show `BEGIN` and `ROLLBACK` only, and one still replaying more).
        assert_eq!(
            proxy.count() - before,
            3 * (2 + own.len() + other.len()) as u64,
            "every read ran on the replica"
        );
    }
    // Writes stay on the primary: a write sends nothing to the replica.
    let before = proxy.count();
    write(&db, &a, "a3").await;
    assert_eq!(proxy.count(), before);
}

#[tokio::test]
async fn an_idle_caught_up_replica_serves_reads_past_the_lag_allowance() {
    let _serial = SERIAL.lock().await;
    let proxy = RoundTripCounter::start(host_port(&replica_url())).await;
    let db = connect(
        options()
            .read_replica(via(&replica_url(), proxy.addr))
            .replica_max_lag(Duration::from_millis(100)),
    )
    .await;
    let a = tenant();
    let id = write(&db, &a, "then quiet").await;
    caught_up().await;
    assert_eq!(listed(&db, &a).await, vec![id]);
    // Nothing written for three times the allowed lag: the last replayed transaction is old,
    // but the standby has replayed all it received, so it still serves: its three round trips
    // (a read it turns away costs two there, `BEGIN` and `ROLLBACK`, and goes to the primary).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = proxy.count();
    assert_eq!(listed(&db, &a).await, vec![id]);
    assert_eq!(proxy.count() - before, 3, "read on the replica");
}

/// Runs `body` with the standby's replay paused, resuming it whatever happens.
async fn replay_paused<F: std::future::Future<Output = ()>>(body: F) {
    let su = raw_pool(&replica_super_url(), 1).await;
    su.execute(sqlx::raw_sql("SELECT pg_wal_replay_pause()"))
        .await
        .unwrap_or_else(|e| panic!("pausing the replica's replay: {e}; {START}"));
    let outcome = std::panic::AssertUnwindSafe(body).catch_unwind().await;
    su.execute(sqlx::raw_sql("SELECT pg_wal_replay_resume()"))
        .await
        .unwrap();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

#[tokio::test]
async fn what_a_read_sees_of_a_write_the_replica_has_not_replayed() {
    let _serial = SERIAL.lock().await;
    let a = tenant();
    let eventual = connect(
        options()
            .read_replica(replica_url())
            .replica_max_lag(Duration::from_secs(600)),
    )
    .await;
    let own_writes = connect(
        options()
            .read_replica(replica_url())
            .read_consistency(ReadConsistency::ReadYourWrites)
            .replica_wait(Duration::from_millis(200)),
    )
    .await;
    let strict_lag = connect(
        options()
            .read_replica(replica_url())
            .replica_max_lag(Duration::from_millis(50)),
    )
    .await;
    let store = Memory::store();
    replay_paused(async {
        let id = write(&eventual, &a, "not replayed yet").await;
        // Eventual: the standby serves what it has, within the allowed lag: not this write.
        assert!(
            store
                .get(&mut eventual.tenant(&a), id)
                .await
                .unwrap()
                .is_none()
        );
        // Read-your-writes: the standby is short of the primary's position past the wait, so
        // the read goes to the primary, and sees it.
        assert!(
            store
                .get(&mut own_writes.tenant(&a), id)
                .await
                .unwrap()
                .is_some()
        );
        // Further behind than allowed (its WAL waits, and its last replayed transaction is
        // older than 50 ms): the primary serves, and sees it.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            store
                .get(&mut strict_lag.tenant(&a), id)
                .await
                .unwrap()
                .is_some()
        );
    })
    .await;
    // Replayed: read-your-writes now reads it on the replica too.
    let id = write(&own_writes, &a, "after").await;
    assert!(
        store
            .get(&mut own_writes.tenant(&a), id)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_replica_that_cannot_be_reached_leaves_reads_to_the_primary() {
    let _serial = SERIAL.lock().await;
    let gone = format!(
        "postgres://ts_app:ts_app_pw@127.0.0.1:{}/tenant_store",
        free_port()
    );
    let db = connect(
        options()
            .read_replica(gone)
            .acquire_timeout(Duration::from_secs(2)),
    )
    .await;
    let (a, b) = (tenant(), tenant());
    let id = write(&db, &a, "kept").await;
    assert_eq!(listed(&db, &a).await, vec![id]);
    assert!(listed(&db, &b).await.is_empty());
    let store = Memory::store();
    assert!(store.get(&mut db.tenant(&b), id).await.unwrap().is_none());
}

#[tokio::test]
async fn a_replica_that_is_a_primary_is_refused_at_connect() {
    let _serial = SERIAL.lock().await;
    migrate().await;
    let err = Db::connect_with(&app_url(), key(), options().read_replica(app_url()))
        .await
        .expect_err("a primary named as the replica");
    assert!(
        matches!(&err, Error::Audit(m) if m.contains("is not a standby")),
        "{err}"
    );
}

/// A context made on the primary, carried to the standby by hand-written SQL: the pid and the
/// transaction it names are the primary's. It claims nothing there, loudly or as no rows.
#[tokio::test]
async fn a_context_from_the_primary_claims_nothing_on_the_replica() {
    let _serial = SERIAL.lock().await;
    let db = connect(
        options()
            .read_replica(replica_url())
            .read_consistency(ReadConsistency::ReadYourWrites),
    )
    .await;
    let (a, b) = (tenant(), tenant());
    write(&db, &a, "a's").await;
    write(&db, &b, "b's").await;
    // Replayed on the standby (read-your-writes waits for it).
    assert_eq!(listed(&db, &a).await.len(), 1);
    for victim in [&a, &b] {
        let mut tx = db.begin(victim).await.unwrap();
        let ctx: (String,) = tx
            .fetch_one_as(sqlx::query("SELECT current_setting('tenant_store.ctx')"))
            .await
            .unwrap();
        let spy = raw_pool(&replica_url(), 1).await;
        let seen = spy
            .fetch_all(sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "BEGIN; SELECT set_config('tenant_store.ctx', '{}', true); \
                 SELECT count(*) FROM public.memories; COMMIT",
                ctx.0
            ))))
            .await;
        match seen {
            Ok(rows) => assert_eq!(rows.last().map(|r| r.get::<i64, _>(0)), Some(0)),
            Err(e) => assert!(e.to_string().contains("reached backend"), "{e}"),
        }
        tx.rollback().await.unwrap();
    }
}
