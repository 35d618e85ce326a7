//! ScopedMemoryStore against the real PostgreSQL: CRUD, paging, soft delete, optimistic locking,
//! duplicates, batches, and isolation asserted from both tenants' sides.

use tenant_store::postgres::Db;
use tenant_store::{Error, Page, Principal};
use tenant_store_examples::memory::{Memory, MemoryFilter, MemoryPatch, MemoryState, NewMemory};
use tenant_store_tests::{db, tenant};
use uuid::Uuid;

fn new(app_id: Uuid, content: &str) -> NewMemory {
    NewMemory {
        app_id,
        content: content.into(),
        ..Default::default()
    }
}

async fn create(db: &Db, who: &Principal, m: NewMemory) -> Memory {
    let mut tx = db.begin(who).await.unwrap();
    let created = Memory::store().create(&mut tx, m).await.unwrap();
    tx.commit().await.unwrap();
    created
}

async fn get(db: &Db, who: &Principal, id: Uuid) -> Option<Memory> {
    let mut tx = db.begin(who).await.unwrap();
    let got = Memory::store().get(&mut tx, id).await.unwrap();
    tx.release();
    got
}

async fn list(db: &Db, who: &Principal, filter: MemoryFilter) -> Vec<Memory> {
    let mut tx = db.begin(who).await.unwrap();
    let got = Memory::store()
        .list(&mut tx, filter, Page::first(1000))
        .await
        .unwrap()
        .items;
    tx.release();
    got
}

#[tokio::test]
async fn create_fills_id_tenant_version_and_timestamps() {
    let db = db().await;
    let a = tenant();
    let app = Uuid::new_v4();
    let m = create(
        &db,
        &a,
        NewMemory {
            metadata: serde_json::json!({"k": [1, 2]}),
            ..new(app, "x")
        },
    )
    .await;
    assert_eq!(m.user_id, a.user_id());
    assert_eq!(m.app_id, app);
    assert_eq!(m.content, "x");
    assert_eq!(m.metadata, serde_json::json!({"k": [1, 2]}));
    assert_eq!(m.state, MemoryState::Active);
    assert_eq!(m.version, 1);
    assert_eq!(m.created_at, m.updated_at);
    assert!(!m.id.is_nil());
}

#[tokio::test]
async fn get_returns_what_create_returned() {
    let db = db().await;
    let a = tenant();
    let m = create(&db, &a, new(Uuid::new_v4(), "hello")).await;
    assert_eq!(get(&db, &a, m.id).await, Some(m));
}

#[tokio::test]
async fn get_of_a_missing_id_is_none() {
    let db = db().await;
    assert_eq!(get(&db, &tenant(), Uuid::new_v4()).await, None);
}

#[tokio::test]
async fn list_of_an_empty_tenant_is_empty() {
    let db = db().await;
    assert!(list(&db, &tenant(), MemoryFilter::new()).await.is_empty());
}

#[tokio::test]
async fn list_filters_by_state() {
    let db = db().await;
    let a = tenant();
    let app = Uuid::new_v4();
    let active = create(&db, &a, new(app, "active")).await;
    let paused = create(
        &db,
        &a,
        NewMemory {
            state: MemoryState::Paused,
            ..new(app, "paused")
        },
    )
    .await;
    assert_eq!(
        list(&db, &a, MemoryFilter::new().state(MemoryState::Active)).await,
        vec![active]
    );
    assert_eq!(
        list(&db, &a, MemoryFilter::new().state(MemoryState::Paused)).await,
        vec![paused]
    );
    assert!(
        list(&db, &a, MemoryFilter::new().state(MemoryState::Archived))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn list_filters_by_app_id() {
    let db = db().await;
    let a = tenant();
    let (app1, app2) = (Uuid::new_v4(), Uuid::new_v4());
    let m1 = create(&db, &a, new(app1, "one")).await;
    let m2 = create(&db, &a, new(app2, "two")).await;
    assert_eq!(
        list(&db, &a, MemoryFilter::new().app_id(app1)).await,
        vec![m1]
    );
    assert_eq!(
        list(&db, &a, MemoryFilter::new().app_id(app2)).await,
        vec![m2]
    );
    assert!(
        list(&db, &a, MemoryFilter::new().app_id(Uuid::new_v4()))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn list_combines_filters() {
    let db = db().await;
    let a = tenant();
    let (app1, app2) = (Uuid::new_v4(), Uuid::new_v4());
    let want = create(
        &db,
        &a,
        NewMemory {
            state: MemoryState::Archived,
            ..new(app1, "w")
        },
    )
    .await;
    create(&db, &a, new(app1, "active, same app")).await;
    create(
        &db,
        &a,
        NewMemory {
            state: MemoryState::Archived,
            ..new(app2, "other app")
        },
    )
    .await;
    let got = list(
        &db,
        &a,
        MemoryFilter::new()
            .app_id(app1)
            .state(MemoryState::Archived),
    )
    .await;
    assert_eq!(got, vec![want]);
}

#[tokio::test]
async fn list_pages_in_id_order_without_gaps_or_repeats() {
    let db = db().await;
    let a = tenant();
    let app = Uuid::new_v4();
    let mut tx = db.begin(&a).await.unwrap();
    Memory::store()
        .create_many(&mut tx, (0..25).map(|i| new(app, &format!("m{i}"))))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut seen = Vec::new();
    let mut page = Page::first(10);
    let mut sizes = Vec::new();
    loop {
        let mut tx = db.begin(&a).await.unwrap();
        let batch = Memory::store()
            .list(&mut tx, MemoryFilter::new(), page)
            .await
            .unwrap();
        tx.release();
        sizes.push(batch.items.len());
        seen.extend(batch.items.iter().map(|m| m.id));
        let Some(next) = batch.next else { break };
        page = next;
    }
    // No empty last page: the last listing says there is no next one.
    assert_eq!(sizes, vec![10, 10, 5]);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted, "pages are in id order with no repeats");
    assert_eq!(seen.len(), 25);
}

#[tokio::test]
async fn list_rejects_a_zero_or_huge_page() {
    let db = db().await;
    let mut tx = db.begin(&tenant()).await.unwrap();
    for page in [Page::first(0), Page::first(Page::MAX_LIMIT + 1)] {
        let err = Memory::store()
            .list(&mut tx, MemoryFilter::new(), page)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    }
}

#[tokio::test]
async fn update_changes_fields_and_bumps_the_version() {
    let db = db().await;
    let a = tenant();
    let m = create(&db, &a, new(Uuid::new_v4(), "before")).await;
    let mut tx = db.begin(&a).await.unwrap();
    let patch = MemoryPatch {
        content: Some("after".into()),
        state: Some(MemoryState::Paused),
        ..Default::default()
    };
    let u = Memory::store()
        .update(&mut tx, m.id, 1, patch)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        (u.content.as_str(), u.state, u.version),
        ("after", MemoryState::Paused, 2)
    );
    assert_eq!(
        (u.app_id, u.user_id, u.created_at),
        (m.app_id, m.user_id, m.created_at)
    );
    assert!(u.updated_at >= m.updated_at);
    assert_eq!(get(&db, &a, m.id).await, Some(u));
}

#[tokio::test]
async fn update_with_a_stale_version_is_a_conflict_and_changes_nothing() {
    let db = db().await;
    let a = tenant();
    let m = create(&db, &a, new(Uuid::new_v4(), "v1")).await;
    let mut tx = db.begin(&a).await.unwrap();
    let patch = || MemoryPatch {
        content: Some("v2".into()),
        ..Default::default()
    };
    Memory::store()
        .update(&mut tx, m.id, 1, patch())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = db.begin(&a).await.unwrap();
    let err = Memory::store()
        .update(&mut tx, m.id, 1, patch())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict), "{err:?}");
    tx.rollback().await.unwrap();
    assert_eq!(get(&db, &a, m.id).await.unwrap().version, 2);
}

#[tokio::test]
async fn update_of_a_missing_id_is_not_found() {
    let db = db().await;
    let mut tx = db.begin(&tenant()).await.unwrap();
    let err = Memory::store()
        .update(&mut tx, Uuid::new_v4(), 1, MemoryPatch::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
}

#[tokio::test]
async fn soft_delete_hides_the_memory_but_keeps_the_row() {
    let db = db().await;
    let a = tenant();
    let m = create(&db, &a, new(Uuid::new_v4(), "bye")).await;
    let mut tx = db.begin(&a).await.unwrap();
    Memory::store().delete(&mut tx, m.id).await.unwrap();
    tx.commit().await.unwrap();

    assert_eq!(get(&db, &a, m.id).await, None);
    assert!(list(&db, &a, MemoryFilter::new()).await.is_empty());
    assert!(
        list(&db, &a, MemoryFilter::new().state(MemoryState::Deleted))
            .await
            .is_empty()
    );
    // The row is still there, in state `deleted`, visible to hand-written SQL in the tenant.
    let mut tx = db.begin(&a).await.unwrap();
    let rows = tx
        .fetch_all(sqlx::query("SELECT state FROM memories WHERE id = $1").bind(m.id))
        .await
        .unwrap();
    use sqlx::Row;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<String, _>(0), "deleted");
}

#[tokio::test]
async fn deleting_twice_or_updating_a_deleted_memory_is_not_found() {
    let db = db().await;
    let a = tenant();
    let m = create(&db, &a, new(Uuid::new_v4(), "once")).await;
    let mut tx = db.begin(&a).await.unwrap();
    Memory::store().delete(&mut tx, m.id).await.unwrap();
    assert!(matches!(
        Memory::store().delete(&mut tx, m.id).await,
        Err(Error::NotFound)
    ));
    tx.commit().await.unwrap();
    let mut tx = db.begin(&a).await.unwrap();
    let err = Memory::store()
        .update(&mut tx, m.id, 2, MemoryPatch::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
}

#[tokio::test]
async fn delete_of_a_missing_id_is_not_found() {
    let db = db().await;
    let mut tx = db.begin(&tenant()).await.unwrap();
    assert!(matches!(
        Memory::store().delete(&mut tx, Uuid::new_v4()).await,
        Err(Error::NotFound)
    ));
}

#[tokio::test]
async fn cross_tenant_get_is_none_from_both_sides() {
    let db = db().await;
    let (a, b) = (tenant(), tenant());
    let ma = create(&db, &a, new(Uuid::new_v4(), "a's")).await;
    let mb = create(&db, &b, new(Uuid::new_v4(), "b's")).await;
    assert_eq!(get(&db, &b, ma.id).await, None);
    assert_eq!(get(&db, &a, mb.id).await, None);
    assert_eq!(get(&db, &a, ma.id).await, Some(ma));
    assert_eq!(get(&db, &b, mb.id).await, Some(mb));
}

#[tokio::test]
async fn cross_tenant_list_holds_only_the_callers_memories_from_both_sides() {
    let db = db().await;
    let (a, b) = (tenant(), tenant());
    let app = Uuid::new_v4();
    let ma = create(&db, &a, new(app, "a's")).await;
    let mb = create(&db, &b, new(app, "b's")).await;
    assert_eq!(
        list(&db, &a, MemoryFilter::new().app_id(app)).await,
        vec![ma]
    );
    assert_eq!(
        list(&db, &b, MemoryFilter::new().app_id(app)).await,
        vec![mb]
    );
}

#[tokio::test]
async fn cross_tenant_update_is_not_found_and_changes_nothing() {
    let db = db().await;
    let (a, b) = (tenant(), tenant());
    let ma = create(&db, &a, new(Uuid::new_v4(), "a's")).await;
    let mb = create(&db, &b, new(Uuid::new_v4(), "b's")).await;
    for (who, victim) in [(&b, &ma), (&a, &mb)] {
        let mut tx = db.begin(who).await.unwrap();
        let patch = MemoryPatch {
            content: Some("hijacked".into()),
            ..Default::default()
        };
        let err = Memory::store()
            .update(&mut tx, victim.id, 1, patch)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NotFound), "{err:?}");
        tx.commit().await.unwrap();
    }
    assert_eq!(get(&db, &a, ma.id).await, Some(ma));
    assert_eq!(get(&db, &b, mb.id).await, Some(mb));
}

#[tokio::test]
async fn cross_tenant_delete_is_not_found_and_deletes_nothing() {
    let db = db().await;
    let (a, b) = (tenant(), tenant());
    let ma = create(&db, &a, new(Uuid::new_v4(), "a's")).await;
    let mb = create(&db, &b, new(Uuid::new_v4(), "b's")).await;
    for (who, victim) in [(&b, &ma), (&a, &mb)] {
        let mut tx = db.begin(who).await.unwrap();
        assert!(matches!(
            Memory::store().delete(&mut tx, victim.id).await,
            Err(Error::NotFound)
        ));
        tx.commit().await.unwrap();
    }
    assert_eq!(get(&db, &a, ma.id).await, Some(ma));
    assert_eq!(get(&db, &b, mb.id).await, Some(mb));
}

#[tokio::test]
async fn a_duplicate_id_in_the_same_tenant_is_duplicate() {
    let db = db().await;
    let a = tenant();
    let id = Uuid::new_v4();
    create(
        &db,
        &a,
        NewMemory {
            id: Some(id),
            ..new(Uuid::new_v4(), "first")
        },
    )
    .await;
    let mut tx = db.begin(&a).await.unwrap();
    let err = Memory::store()
        .create(
            &mut tx,
            NewMemory {
                id: Some(id),
                ..new(Uuid::new_v4(), "second")
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Duplicate), "{err:?}");
    assert!(
        tx.commit().await.is_err(),
        "commit after a failed statement must not report success"
    );
    assert_eq!(get(&db, &a, id).await.unwrap().content, "first");
}

#[tokio::test]
async fn the_same_id_in_another_tenant_reveals_nothing() {
    // A Duplicate error here would tell tenant b that tenant a holds this id.
    let db = db().await;
    let (a, b) = (tenant(), tenant());
    let id = Uuid::new_v4();
    let ma = create(
        &db,
        &a,
        NewMemory {
            id: Some(id),
            ..new(Uuid::new_v4(), "a's")
        },
    )
    .await;
    let mb = create(
        &db,
        &b,
        NewMemory {
            id: Some(id),
            ..new(Uuid::new_v4(), "b's")
        },
    )
    .await;
    assert_eq!(get(&db, &a, id).await, Some(ma));
    assert_eq!(get(&db, &b, id).await, Some(mb));
}

#[tokio::test]
async fn create_many_inserts_every_row_in_the_tenant() {
    let db = db().await;
    let (a, b) = (tenant(), tenant());
    let app = Uuid::new_v4();
    let mut tx = db.begin(&a).await.unwrap();
    let n = Memory::store()
        .create_many(&mut tx, (0..30).map(|i| new(app, &i.to_string())))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(n, 30);
    let got = list(&db, &a, MemoryFilter::new().app_id(app)).await;
    assert_eq!(got.len(), 30);
    assert!(
        got.iter()
            .all(|m| m.user_id == a.user_id() && m.version == 1)
    );
    assert!(
        list(&db, &b, MemoryFilter::new().app_id(app))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn create_many_of_nothing_inserts_nothing() {
    let db = db().await;
    let mut tx = db.begin(&tenant()).await.unwrap();
    assert_eq!(
        Memory::store()
            .create_many(&mut tx, std::iter::empty())
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn a_batch_with_one_bad_row_leaves_nothing_behind() {
    let db = db().await;
    let a = tenant();
    let app = Uuid::new_v4();
    let dup = Uuid::new_v4();
    // 25,000 rows: the bad one (a repeated id) sits in the third chunk, after two chunks went in.
    let rows = (0..25_000).map(|i| {
        let id = if i == 0 || i == 24_000 {
            dup
        } else {
            Uuid::new_v4()
        };
        NewMemory {
            id: Some(id),
            ..new(app, "batch")
        }
    });
    let mut tx = db.begin(&a).await.unwrap();
    let err = Memory::store()
        .create_many(&mut tx, rows)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Duplicate), "{err:?}");
    assert!(tx.commit().await.is_err());
    assert!(
        list(&db, &a, MemoryFilter::new().app_id(app))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn create_many_of_100_000_rows() {
    let db = db().await;
    let a = tenant();
    let app = Uuid::new_v4();
    let mut tx = db.begin(&a).await.unwrap();
    let n = Memory::store()
        .create_many(&mut tx, (0..100_000).map(|i| new(app, &format!("row {i}"))))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(n, 100_000);
    let mut tx = db.begin(&a).await.unwrap();
    let rows = tx
        .fetch_all(sqlx::query("SELECT count(*) FROM memories WHERE app_id = $1").bind(app))
        .await
        .unwrap();
    use sqlx::Row;
    assert_eq!(rows[0].get::<i64, _>(0), 100_000);
}
