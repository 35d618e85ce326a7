//! Plans (`postgres::pool`'s "Plans: PostgreSQL's default"): what a generated statement reads,
//! for the data shapes where a forced generic plan read a tenant's every row.

use tenant_store::Page;
use tenant_store_examples::memory::{Memory, MemoryFilter, MemoryState, NewMemory};
use tenant_store_tests::tenant;

/// A listing reads about its page, not its tenant's every row, when the planner's statistics
/// say the soft-delete column holds one value (every row live: the usual case while deletes are
/// rare). The generic plan estimated the live filter (`state <> $n`, the value unknown) as
/// matching no row, so it fetched the whole tenant through a bitmap scan and sorted it for a
/// page of two. Measured here by what the transaction fetched from the table, not by time.
#[tokio::test]
async fn a_listing_reads_its_page_when_every_row_is_live() {
    let scratch = tenant_store_tests::ScratchDb::new("ts_plans_live").await;
    let db = scratch.examples_db(1).await;
    let (who, store) = (tenant(), Memory::store());
    let rows = (0..3000).map(|i| NewMemory {
        content: format!("live {i}"),
        ..Default::default()
    });
    store.create_many(&mut db.tenant(&who), rows).await.unwrap();
    let owner = tenant_store_tests::raw_pool(&scratch.owner_url(), 1).await;
    sqlx::raw_sql("ANALYZE public.memories")
        .execute(&owner)
        .await
        .unwrap();
    owner.close().await;

    let filters: [fn() -> MemoryFilter; 2] = [MemoryFilter::new, || {
        MemoryFilter::new().state(MemoryState::Active)
    }];
    for filter in filters {
        let mut tx = db.begin(&who).await.unwrap();
        // Six times: PostgreSQL's default plans a statement for its values five times before it
        // weighs the generic plan.
        for _ in 0..6 {
            store.list(&mut tx, filter(), Page::first(2)).await.unwrap();
        }
        let (read,): (i64,) = tx
            .fetch_one_as(sqlx::query(
                "SELECT pg_catalog.pg_stat_get_xact_tuples_fetched('public.memories'::regclass)
                      + pg_catalog.pg_stat_get_xact_tuples_returned('public.memories'::regclass)",
            ))
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        assert!(
            read < 6 * 100,
            "six listings of a page of two read {read} rows of a 3000-row tenant"
        );
    }
    drop(db);
    scratch.drop().await;
}
