//! The tenant guard: the setting exists inside the transaction and nowhere after it, whichever
//! way the transaction ends; round trips per guarded read and write, counted on the wire.

use std::time::Duration;

use sqlx::Row;
use tenant_store::postgres::Db;
use tenant_store_examples::memory::{Memory, NewMemory};
use tenant_store_tests::{
    RoundTripCounter, app_url, db_through, db_with, host_port, leftover, migrate, tenant,
};
use uuid::Uuid;

fn clean(got: (String, i64)) -> bool {
    got.0.is_empty() && got.1 == 0
}

#[tokio::test]
async fn the_tenant_is_visible_inside_the_transaction() {
    let db = db_with(1).await;
    let a = tenant();
    let mut tx = db.begin(&a).await.unwrap();
    let row = tx
        .fetch_optional(sqlx::query(
            "SELECT tenant_store_private.current_tenant('user_id'),
                    tenant_store_private.current_tenant('org_id')",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.get::<Uuid, _>(0), a.user_id());
    assert_eq!(row.get::<Uuid, _>(1), a.org_id());
}

async fn seeded_tx(db: &Db) -> tenant_store::postgres::TenantTx<'_> {
    let mut tx = db.begin(&tenant()).await.unwrap();
    Memory::store()
        .create(&mut tx, NewMemory::default())
        .await
        .unwrap();
    tx
}

#[tokio::test]
async fn nothing_survives_commit() {
    let db = db_with(1).await;
    seeded_tx(&db).await.commit().await.unwrap();
    assert!(clean(leftover(&db).await));
}

#[tokio::test]
async fn nothing_survives_rollback() {
    let db = db_with(1).await;
    seeded_tx(&db).await.rollback().await.unwrap();
    assert!(clean(leftover(&db).await));
}

#[tokio::test]
async fn nothing_survives_a_dropped_or_released_guard() {
    let db = db_with(1).await;
    drop(seeded_tx(&db).await);
    assert!(clean(leftover(&db).await));
    seeded_tx(&db).await.release();
    assert!(clean(leftover(&db).await));
}

#[tokio::test]
async fn nothing_survives_an_error_and_commit_reports_it() {
    let db = db_with(1).await;
    let a = tenant();
    let mut tx = db.begin(&a).await.unwrap();
    let m = Memory::store()
        .create(&mut tx, NewMemory::default())
        .await
        .unwrap();
    assert!(tx.execute(sqlx::query("SELECT 1 / 0")).await.is_err());
    assert!(tx.is_aborted());
    assert!(
        tx.commit().await.is_err(),
        "a commit that PostgreSQL turned into a rollback is an error"
    );
    assert!(clean(leftover(&db).await));
    let mut tx = db.begin(&a).await.unwrap();
    assert_eq!(
        Memory::store().get(&mut tx, m.id).await.unwrap(),
        None,
        "nothing was committed"
    );
}

#[tokio::test]
async fn nothing_survives_a_panic() {
    let db = db_with(1).await;
    let task_db = db.clone();
    let joined = tokio::spawn(async move {
        let mut tx = seeded_tx(&task_db).await;
        let _ = tx.fetch_all(sqlx::query("SELECT 1")).await;
        panic!("the handler panicked mid-transaction");
    })
    .await;
    assert!(joined.unwrap_err().is_panic());
    assert!(clean(leftover(&db).await));
}

#[tokio::test]
async fn round_trips_per_guarded_read_and_write() {
    migrate().await;
    let proxy = RoundTripCounter::start(host_port(&app_url())).await;
    let db = db_through(&proxy).await;
    let a = tenant();
    let store = Memory::store();
    // Warm up: the connection exists and the statements are prepared (sqlx caches them).
    let mut tx = db.begin(&a).await.unwrap();
    let m = store.create(&mut tx, NewMemory::default()).await.unwrap();
    store.get(&mut tx, m.id).await.unwrap();
    tx.commit().await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let before = proxy.count();
    let mut tx = db.begin(&a).await.unwrap();
    assert!(store.get(&mut tx, m.id).await.unwrap().is_some());
    tx.release();
    let read = proxy.count() - before;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let read_background = proxy.count() - before - read;

    let before = proxy.count();
    let mut tx = db.begin(&a).await.unwrap();
    store.create(&mut tx, NewMemory::default()).await.unwrap();
    tx.commit().await.unwrap();
    let write = proxy.count() - before;

    println!(
        "round trips: guarded get = {read} (+{read_background} off the caller's path: queued ROLLBACK flushed with the pool's release ping); \
         guarded create + commit = {write}"
    );
    assert_eq!(read, 2, "BEGIN+SET LOCAL, then the query");
    assert_eq!(write, 3, "BEGIN+SET LOCAL, the insert, COMMIT");
}
