//! Offboarding (`tenant_store_examples::lifecycle::offboard`): one tenant's data leaves every
//! backend, the counts are reported per store, a raw scan of each backend (bypassing
//! tenant-store) finds nothing of it afterwards, and another tenant keeps everything.

use tenant_store_examples::lifecycle::offboard;
use tenant_store_tests::everywhere::{backends, plant, scan, total};
use tenant_store_tests::tenant;

#[tokio::test]
async fn offboarding_removes_the_tenant_from_every_backend_and_counts_per_store() {
    let b = backends().await;
    let (operator, gone, stays) = (tenant(), tenant(), tenant());
    plant(&b, &gone, "").await;
    plant(&b, &stays, "").await;
    let before = scan(&gone).await;
    assert!(
        before.iter().all(|(_, n)| *n > 0),
        "planted everywhere: {before:?}"
    );

    let report = offboard(&b, &operator, "contract ended", &gone).await;
    assert!(report.is_complete(), "{report:?}");
    let counts: Vec<(&str, u64)> = report
        .stores
        .iter()
        .map(|(s, r)| (*s, *r.as_ref().unwrap()))
        .collect();
    assert_eq!(
        counts,
        [
            ("experiment_status_history", 1),
            ("experiment_assignments", 1),
            ("experiment_variants", 2),
            ("experiments", 1),
            ("feedback_events", 1),
            ("memories", 2),
            ("valkey:episodes", 2),
            ("opensearch:search", 3),
            ("neo4j:CODE_SYMBOL", 2),
            ("neo4j:CODE_REPO", 1),
            ("qdrant:embeddings_minilm", 4),
        ]
    );
    let after = scan(&gone).await;
    assert_eq!(total(&after), 0, "nothing of the tenant is left: {after:?}");
    let other = scan(&stays).await;
    assert_eq!(other, before, "the other tenant keeps everything");
}

#[tokio::test]
async fn offboarding_again_finds_nothing_and_reports_zeros() {
    let b = backends().await;
    let (operator, gone) = (tenant(), tenant());
    plant(&b, &gone, "").await;
    let first = offboard(&b, &operator, "first run", &gone).await;
    assert!(first.is_complete(), "{first:?}");
    let again = offboard(&b, &operator, "re-run", &gone).await;
    assert!(again.is_complete(), "{again:?}");
    assert!(
        again.stores.iter().all(|(_, r)| *r.as_ref().unwrap() == 0),
        "{again:?}"
    );
    assert_eq!(total(&scan(&gone).await), 0);
}
