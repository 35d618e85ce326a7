//! One plan per statement (`postgres::pool`'s "One plan per statement"): the library's own
//! statements are planned once per connection; SQL the caller writes plans as PostgreSQL does
//! by default, and that choice does not stay on the connection.

use sqlx::Row;
use tenant_store::Page;
use tenant_store_examples::memory::{Memory, MemoryFilter, NewMemory};
use tenant_store_tests::{db_with, tenant};

/// The generic and the custom plans made so far for the listing statement on this connection.
async fn listing_plans(conn: &mut sqlx::PgConnection) -> (i64, i64) {
    let row = sqlx::query(
        "SELECT generic_plans, custom_plans FROM pg_catalog.pg_prepared_statements
         WHERE statement LIKE '%FROM \"public\".\"memories\"%ORDER BY%'",
    )
    .persistent(false)
    .fetch_one(conn)
    .await
    .expect("the listing is prepared on this connection");
    (row.get(0), row.get(1))
}

#[tokio::test]
async fn generated_statements_plan_once_and_the_callers_sql_keeps_the_servers_choice() {
    // One connection: every call below shares it.
    let db = db_with(1).await;
    let who = tenant();
    let store = Memory::store();
    for i in 0..3 {
        let new = NewMemory {
            content: format!("plan {i}"),
            ..Default::default()
        };
        store.create(&mut db.tenant(&who), new).await.unwrap();
    }
    let list = || async {
        let page = store
            .list(&mut db.tenant(&who), MemoryFilter::new(), Page::first(2))
            .await
            .unwrap();
        assert_eq!(page.items.len(), 2);
    };
    for _ in 0..10 {
        list().await;
    }

    let mut raw = db.raw().await.unwrap();
    let mode: String = sqlx::query_scalar("SELECT current_setting('plan_cache_mode')")
        .persistent(false)
        .fetch_one(&mut *raw)
        .await
        .unwrap();
    assert_eq!(
        mode, "auto",
        "the caller's SQL on Db::raw plans as by default"
    );
    let (generic, custom) = listing_plans(&mut raw).await;
    // With PostgreSQL's default the listing was planned for its values on every call.
    assert_eq!((generic, custom), (10, 0), "planned once, used ten times");
    drop(raw);

    let mut tx = db.begin(&who).await.unwrap();
    let row = tx
        .fetch_all(sqlx::query("SELECT current_setting('plan_cache_mode')"))
        .await
        .unwrap();
    assert_eq!(
        row[0].get::<String, _>(0),
        "auto",
        "hand-written SQL in a TenantTx"
    );
    tx.commit().await.unwrap();

    // After both, the connection is back to one plan for the library's statements.
    for _ in 0..5 {
        list().await;
    }
    let mut raw = db.raw().await.unwrap();
    assert_eq!(listing_plans(&mut raw).await, (15, 0));
}
