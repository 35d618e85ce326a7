//! Isolation property tests (proptest), one per backend: random interleavings of insert, get,
//! list, update and delete by three tenants, each get/update/delete aimed at any entity any
//! tenant created. After every step each tenant's view (its list) equals its own model and holds
//! nothing of another tenant; every get, update and delete of an entity that is not the
//! caller's (or no longer exists) looks like absence.
//!
//! Each case uses three fresh tenants. The number of store calls made is printed per backend
//! (`cargo test --test isolation -- --nocapture`).

use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tenant_store::Error;
use tenant_store::contract::TenantStore;
use tenant_store_tests::fixtures::{self, Fixture};
use tenant_store_tests::tenant;

const TENANTS: usize = 3;
const CASES: u32 = 64;
const MAX_OPS: usize = 40;

#[derive(Debug, Clone)]
enum Op {
    Insert { by: usize, n: u32 },
    Get { by: usize, target: usize },
    Update { by: usize, target: usize, n: u32 },
    Delete { by: usize, target: usize },
    List { by: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let by = 0..TENANTS;
    prop_oneof![
        3 => (by.clone(), 0..1000u32).prop_map(|(by, n)| Op::Insert { by, n }),
        2 => (by.clone(), any::<usize>()).prop_map(|(by, target)| Op::Get { by, target }),
        2 => (by.clone(), any::<usize>(), 0..1000u32)
            .prop_map(|(by, target, n)| Op::Update { by, target, n }),
        2 => (by.clone(), any::<usize>()).prop_map(|(by, target)| Op::Delete { by, target }),
        1 => by.prop_map(|by| Op::List { by }),
    ]
}

/// One entity any tenant created: its owner, its id, its data (`None` once deleted).
struct Entry<F: Fixture> {
    owner: usize,
    id: <F::S as TenantStore>::Id,
    data: Option<u32>,
}

async fn run_case<F: Fixture>(
    conn: &<F::S as TenantStore>::Conn,
    ops: &[Op],
    calls: &AtomicU64,
) -> Result<(), TestCaseError> {
    let store = F::store();
    let who: Vec<_> = (0..TENANTS).map(|_| tenant()).collect();
    let mut model: Vec<Entry<F>> = Vec::new();
    let call = || calls.fetch_add(1, Ordering::Relaxed);
    for op in ops {
        call();
        match *op {
            Op::Insert { by, n } => {
                let e = store.insert(conn, &who[by], F::new(n, None)).await.unwrap();
                prop_assert_eq!(F::tenant_of(&e), F::scope_of(&who[by]));
                model.push(Entry {
                    owner: by,
                    id: F::S::id_of(&e),
                    data: Some(n),
                });
            }
            Op::List { by } => {
                // A short page: at most 2, all the tenant's own (full lists follow every step).
                let page = store
                    .list(conn, &who[by], tenant_store::Page::first(2))
                    .await
                    .unwrap()
                    .items;
                let live = model.iter().filter(|e| e.owner == by && e.data.is_some());
                prop_assert_eq!(page.len(), live.count().min(2));
                prop_assert!(
                    page.iter()
                        .all(|e| F::tenant_of(e) == F::scope_of(&who[by]))
                );
            }
            Op::Get { by, target } | Op::Update { by, target, .. } | Op::Delete { by, target }
                if model.is_empty() =>
            {
                let _ = (by, target);
                let got = store.get(conn, &who[by], &F::fresh_id()).await.unwrap();
                prop_assert!(got.is_none());
            }
            Op::Get { by, target } => {
                let entry = &model[target % model.len()];
                let got = store.get(conn, &who[by], &entry.id).await.unwrap();
                let expected = entry.data.filter(|_| entry.owner == by);
                prop_assert_eq!(got.map(|e| F::data(&e)), expected);
            }
            Op::Update { by, target, n } => {
                let k = target % model.len();
                let entry = &mut model[k];
                let result = store
                    .update(conn, &who[by], &entry.id, F::new(n, None))
                    .await;
                if entry.owner == by && entry.data.is_some() {
                    prop_assert_eq!(F::data(&result.unwrap()), n);
                    entry.data = Some(n);
                } else {
                    prop_assert!(matches!(result, Err(Error::NotFound)), "{:?}", result.err());
                }
            }
            Op::Delete { by, target } => {
                let k = target % model.len();
                let entry = &mut model[k];
                let result = store.delete(conn, &who[by], &entry.id).await;
                if entry.owner == by && entry.data.is_some() {
                    prop_assert!(result.is_ok(), "{:?}", result.err());
                    entry.data = None;
                } else {
                    prop_assert!(matches!(result, Err(Error::NotFound)), "{:?}", result.err());
                }
            }
        }
        // Each tenant's view equals its own model and holds nothing of another tenant.
        for (t, principal) in who.iter().enumerate() {
            call();
            let listed = store
                .list(conn, principal, tenant_store::Page::first(1000))
                .await
                .unwrap()
                .items;
            prop_assert!(
                listed
                    .iter()
                    .all(|e| F::tenant_of(e) == F::scope_of(principal))
            );
            let mut seen: Vec<u32> = listed.iter().map(F::data).collect();
            let mut expected: Vec<u32> = model
                .iter()
                .filter(|e| e.owner == t)
                .filter_map(|e| e.data)
                .collect();
            seen.sort();
            expected.sort();
            prop_assert_eq!(seen, expected, "tenant {}'s view after {:?}", t, op);
        }
    }
    Ok(())
}

fn isolation<F: Fixture>(backend: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let conn = rt.block_on(F::conn());
    let calls = AtomicU64::new(0);
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = proptest::collection::vec(op(), 1..=MAX_OPS);
    let result = runner.run(&strategy, |ops| {
        rt.block_on(run_case::<F>(&conn, &ops, &calls))
    });
    if let Err(e) = result {
        panic!("{backend}: {e}");
    }
    let n = calls.load(Ordering::Relaxed);
    assert!(n >= u64::from(CASES), "every case ran");
    println!("isolation[{backend}]: {CASES} cases, {n} store calls");
}

#[test]
fn postgres_tenants_never_see_each_other() {
    isolation::<fixtures::Pg>("postgres");
}

#[test]
fn valkey_tenants_never_see_each_other() {
    isolation::<fixtures::Valkey>("valkey");
}

#[test]
fn opensearch_tenants_never_see_each_other() {
    isolation::<fixtures::OpenSearch>("opensearch");
}

#[test]
fn neo4j_tenants_never_see_each_other() {
    isolation::<fixtures::Neo4j>("neo4j");
}

#[test]
fn qdrant_tenants_never_see_each_other() {
    isolation::<fixtures::Qdrant>("qdrant");
}
