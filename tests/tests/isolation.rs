//! Isolation property tests (proptest), one per backend: random interleavings of insert, get,
//! list, paging through every page, count, update and delete by three tenants, each
//! get/update/delete aimed at any entity any tenant created. After every step the acting
//! tenant's view (its full list) and one other tenant's (in turn) equal their own models and
//! hold nothing of another tenant, and after every case all three do; every get, update and
//! delete of an entity that is not the caller's (or no longer exists) looks like absence; a
//! count is the size of the tenant's model; pages hold each of the tenant's entities once.
//!
//! 100 cases of 100 random operations: 10,000 per backend per run, each case with three fresh
//! tenants. The operations, the store calls and the time are printed per backend
//! (`cargo test --test isolation -- --nocapture`).

use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tenant_store::Error;
use tenant_store::contract::TenantStore;
use tenant_store_tests::fixtures::{self, Fixture};
use tenant_store_tests::tenant;

const TENANTS: usize = 3;
const CASES: u32 = 100;
const OPS: usize = 100;

#[derive(Debug, Clone)]
enum Op {
    Insert { by: usize, n: u32 },
    Get { by: usize, target: usize },
    Update { by: usize, target: usize, n: u32 },
    Delete { by: usize, target: usize },
    List { by: usize },
    Pages { by: usize, limit: u32 },
    Count { by: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let by = 0..TENANTS;
    prop_oneof![
        3 => (by.clone(), 0..1000u32).prop_map(|(by, n)| Op::Insert { by, n }),
        2 => (by.clone(), any::<usize>()).prop_map(|(by, target)| Op::Get { by, target }),
        2 => (by.clone(), any::<usize>(), 0..1000u32)
            .prop_map(|(by, target, n)| Op::Update { by, target, n }),
        2 => (by.clone(), any::<usize>()).prop_map(|(by, target)| Op::Delete { by, target }),
        1 => by.clone().prop_map(|by| Op::List { by }),
        1 => (by.clone(), 1..4u32).prop_map(|(by, limit)| Op::Pages { by, limit }),
        1 => by.prop_map(|by| Op::Count { by }),
    ]
}

/// One entity any tenant created: its owner, its id, its data (`None` once deleted).
struct Entry<F: Fixture> {
    owner: usize,
    id: <F::S as TenantStore>::Id,
    data: Option<u32>,
}

/// The data of tenant `t`'s live entities in the model, sorted.
fn expected<F: Fixture>(model: &[Entry<F>], t: usize) -> Vec<u32> {
    let mut v: Vec<u32> = model
        .iter()
        .filter(|e| e.owner == t)
        .filter_map(|e| e.data)
        .collect();
    v.sort();
    v
}

/// Tenant `t`'s full list equals its model and holds nothing of another tenant.
async fn view_matches<F: Fixture>(
    conn: &<F::S as TenantStore>::Conn,
    store: &F::S,
    who: &[tenant_store::Principal],
    t: usize,
    model: &[Entry<F>],
    op: &Op,
) -> Result<(), TestCaseError> {
    let listed = store
        .list(conn, &who[t], tenant_store::Page::first(1000))
        .await
        .unwrap();
    prop_assert!(listed.next.is_none());
    prop_assert!(
        listed
            .items
            .iter()
            .all(|e| F::tenant_of(e) == F::scope_of(&who[t]))
    );
    let mut seen: Vec<u32> = listed.items.iter().map(F::data).collect();
    seen.sort();
    prop_assert_eq!(
        seen,
        expected(model, t),
        "tenant {}'s view after {:?}",
        t,
        op
    );
    Ok(())
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
    for (step, op) in ops.iter().enumerate() {
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
            Op::Pages { by, limit } => {
                // Every page, following the cursors: each of the tenant's entities once.
                let (mut seen, mut page) = (Vec::new(), tenant_store::Page::first(limit));
                loop {
                    let l = store.list(conn, &who[by], page).await.unwrap();
                    call();
                    prop_assert!(l.items.len() <= limit as usize);
                    prop_assert!(
                        !l.items.is_empty() || seen.is_empty(),
                        "an empty page after others"
                    );
                    prop_assert!(
                        l.items
                            .iter()
                            .all(|e| F::tenant_of(e) == F::scope_of(&who[by]))
                    );
                    seen.extend(l.items.iter().map(F::data));
                    match l.next {
                        Some(next) => page = next,
                        None => break,
                    }
                }
                seen.sort();
                prop_assert_eq!(seen, expected(&model, by), "pages of tenant {}", by);
            }
            Op::Count { by } => {
                let n = store.count(conn, &who[by]).await.unwrap();
                prop_assert_eq!(n as usize, expected(&model, by).len());
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
        // The actor's view and, in turn, another tenant's equal their models.
        let by = match *op {
            Op::Insert { by, .. }
            | Op::Get { by, .. }
            | Op::Update { by, .. }
            | Op::Delete { by, .. }
            | Op::List { by }
            | Op::Pages { by, .. }
            | Op::Count { by } => by,
        };
        for t in [by, (by + 1 + step % (TENANTS - 1)) % TENANTS] {
            call();
            view_matches::<F>(conn, &store, &who, t, &model, op).await?;
        }
    }
    for t in 0..TENANTS {
        call();
        view_matches::<F>(conn, &store, &who, t, &model, &ops[ops.len() - 1]).await?;
    }
    Ok(())
}

fn isolation<F: Fixture>(backend: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let conn = rt.block_on(F::conn());
    let (calls, ops_run) = (AtomicU64::new(0), AtomicU64::new(0));
    let started = std::time::Instant::now();
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = proptest::collection::vec(op(), OPS);
    let result = runner.run(&strategy, |ops| {
        ops_run.fetch_add(ops.len() as u64, Ordering::Relaxed);
        rt.block_on(run_case::<F>(&conn, &ops, &calls))
    });
    if let Err(e) = result {
        panic!("{backend}: {e}");
    }
    let (n, ops) = (
        calls.load(Ordering::Relaxed),
        ops_run.load(Ordering::Relaxed),
    );
    assert!(
        ops >= 10_000,
        "{ops} random operations: at least 10,000 per run"
    );
    println!(
        "isolation[{backend}]: {CASES} cases, {ops} random operations, {n} store calls, {:.1} s",
        started.elapsed().as_secs_f64()
    );
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
