//! The admin scope (`Db::admin`): a reason, audit rows in the same transaction, RLS still in
//! force for the tenant entered, and `move_tenant` moving a tenant's rows atomically.

use sqlx::Row;
use tenant_store::Error;
use tenant_store::postgres::{MoveTable, move_tenant};
use tenant_store_examples::feedback::FeedbackEvent;
use tenant_store_examples::memory::{Memory, NewMemory};
use tenant_store_tests::everywhere::accepted_event;
use tenant_store_tests::{app_url, db, owner_url, raw_pool, super_url, tenant};
use uuid::Uuid;

fn memory(content: &str) -> NewMemory {
    NewMemory {
        content: content.into(),
        ..Default::default()
    }
}

/// The audit rows of one admin session, as the tables' owner reads them: (reason, user, org).
async fn audit_rows(session: Uuid) -> Vec<(String, Option<Uuid>, Option<Uuid>)> {
    let owner = raw_pool(&owner_url(), 1).await;
    let rows = sqlx::query(
        "SELECT reason, user_id, org_id FROM tenant_store_admin_audit WHERE session_id = $1 ORDER BY id",
    )
    .bind(session)
    .fetch_all(&owner)
    .await
    .unwrap();
    rows.iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[tokio::test]
async fn an_admin_scope_needs_a_reason() {
    let db = db().await;
    let operator = tenant();
    for reason in ["", "   "] {
        let err = db.admin(&operator, reason).await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    }
}

#[tokio::test]
async fn entering_tenants_is_audited_with_the_work_in_one_transaction() {
    let db = db().await;
    let (operator, a) = (tenant(), tenant());
    let mut admin = db.admin(&operator, "support ticket 17").await.unwrap();
    let session = admin.session_id();
    let tx = admin.enter(&a).await.unwrap();
    let m = Memory::store()
        .create(tx, memory("written by support"))
        .await
        .unwrap();
    assert_eq!(m.user_id, a.user_id());
    admin.commit().await.unwrap();

    let rows = audit_rows(session).await;
    assert_eq!(
        rows,
        [
            ("support ticket 17".to_owned(), None, None),
            (
                "support ticket 17".to_owned(),
                Some(a.user_id()),
                Some(a.org_id())
            ),
        ]
    );
    let mut tx = db.begin(&a).await.unwrap();
    assert!(Memory::store().get(&mut tx, m.id).await.unwrap().is_some());
}

#[tokio::test]
async fn a_rolled_back_admin_scope_undoes_its_work_but_not_its_audit() {
    let db = db().await;
    let (operator, a) = (tenant(), tenant());
    let mut tx = db.begin(&a).await.unwrap();
    Memory::store()
        .create(&mut tx, memory("a's"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // The attack: enter a tenant, read its rows, roll back to leave no trace.
    let mut admin = db.admin(&operator, "just looking").await.unwrap();
    let session = admin.session_id();
    let tx = admin.enter(&a).await.unwrap();
    let read = Memory::store()
        .list(tx, Default::default(), tenant_store::Page::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(read.len(), 1);
    let m = Memory::store().create(tx, memory("undone")).await.unwrap();
    admin.rollback().await.unwrap();
    assert_eq!(
        audit_rows(session).await,
        [
            ("just looking".to_owned(), None, None),
            (
                "just looking".to_owned(),
                Some(a.user_id()),
                Some(a.org_id())
            ),
        ],
        "the audit rows were committed before the admin read anything"
    );
    let mut tx = db.begin(&a).await.unwrap();
    assert!(Memory::store().get(&mut tx, m.id).await.unwrap().is_none());
}

#[tokio::test]
async fn the_audit_row_is_committed_before_enter_returns() {
    let db = db().await;
    let (operator, a) = (tenant(), tenant());
    let mut admin = db.admin(&operator, "visible at once").await.unwrap();
    let session = admin.session_id();
    assert_eq!(audit_rows(session).await.len(), 1, "opening row");
    admin.enter(&a).await.unwrap();
    // Read by another session while the admin transaction is still open.
    assert_eq!(audit_rows(session).await.len(), 2, "entering row");
    // Entering the same tenant again in the same session adds no row.
    admin.enter(&a).await.unwrap();
    assert_eq!(audit_rows(session).await.len(), 2);
    drop(admin);
}

#[tokio::test]
async fn an_admin_scope_sees_no_tenant_until_it_enters_one_and_then_only_that_one() {
    let db = db().await;
    let (operator, a, b) = (tenant(), tenant(), tenant());
    for (who, text) in [(&a, "a's"), (&b, "b's")] {
        let mut tx = db.begin(who).await.unwrap();
        Memory::store().create(&mut tx, memory(text)).await.unwrap();
        tx.commit().await.unwrap();
    }
    let mut admin = db.admin(&operator, "inspection").await.unwrap();
    let tx = admin.enter(&a).await.unwrap();
    let seen = Memory::store()
        .list(tx, Default::default(), tenant_store::Page::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(
        seen.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(),
        ["a's"]
    );
    let tx = admin.enter(&b).await.unwrap();
    let seen = Memory::store()
        .list(tx, Default::default(), tenant_store::Page::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(
        seen.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(),
        ["b's"]
    );
    admin.rollback().await.unwrap();
}

#[tokio::test]
async fn the_application_role_can_neither_read_nor_write_the_audit_table() {
    let _db = db().await;
    let app = raw_pool(&app_url(), 1).await;
    for sql in [
        "SELECT count(*) FROM tenant_store_admin_audit",
        "UPDATE tenant_store_admin_audit SET reason = 'rewritten'",
        "DELETE FROM tenant_store_admin_audit",
        "INSERT INTO tenant_store_admin_audit (session_id, actor_user_id, actor_org_id, reason) \
         VALUES (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 'false row')",
    ] {
        let err = sqlx::query(sql).execute(&app).await.unwrap_err();
        assert!(
            err.to_string().contains("permission denied"),
            "{sql}: {err}"
        );
    }
}

#[tokio::test]
async fn the_application_role_cannot_write_a_false_audit_row_through_the_function() {
    let _db = db().await;
    let app = raw_pool(&app_url(), 1).await;
    let (actor, victim) = (tenant(), tenant());
    let now_ms: i64 = sqlx::query_scalar("SELECT (extract(epoch FROM now()) * 1000)::bigint")
        .fetch_one(&app)
        .await
        .unwrap();
    // Without the key, no signature verifies: a made-up one, an empty one, another row's.
    for signature in ["00".repeat(32), String::new(), "f".repeat(64)] {
        let err = sqlx::query(
            "SELECT tenant_store_private.admin_audit($1, $2, $3, 'false row', $4, $5, $6, 'tests', $7)",
        )
        .bind(Uuid::new_v4())
        .bind(actor.user_id())
        .bind(actor.org_id())
        .bind(victim.user_id())
        .bind(victim.org_id())
        .bind(now_ms)
        .bind(signature)
        .execute(&app)
        .await
        .unwrap_err();
        assert!(err.to_string().contains("bad signature"), "{err}");
    }
}

#[tokio::test]
async fn move_tenant_moves_every_row_and_keeps_ids_versions_and_timestamps() {
    let db = db().await;
    let (operator, from, to) = (tenant(), tenant(), tenant());
    let mut tx = db.begin(&from).await.unwrap();
    let m1 = Memory::store()
        .create(&mut tx, memory("one"))
        .await
        .unwrap();
    let m2 = Memory::store()
        .create(&mut tx, memory("two"))
        .await
        .unwrap();
    let m1 = Memory::store()
        .update(&mut tx, m1.id, 1, Default::default())
        .await
        .unwrap();
    FeedbackEvent::store()
        .create(&mut tx, accepted_event(from.user_id()))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = db.begin(&to).await.unwrap();
    let theirs = Memory::store()
        .create(&mut tx, memory("to's own"))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut admin = db.admin(&operator, "merge accounts").await.unwrap();
    let tables = [MoveTable::of::<Memory>(), MoveTable::of::<FeedbackEvent>()];
    let moved = move_tenant(&mut admin, &from, &to, &tables).await.unwrap();
    admin.commit().await.unwrap();
    assert_eq!(moved.tables, [("memories", 2), ("feedback_events", 1)]);

    let mut tx = db.begin(&to).await.unwrap();
    let got = Memory::store().get(&mut tx, m1.id).await.unwrap().unwrap();
    assert_eq!(
        (got.user_id, got.version, got.created_at),
        (to.user_id(), m1.version, m1.created_at)
    );
    assert!(Memory::store().get(&mut tx, m2.id).await.unwrap().is_some());
    assert!(
        Memory::store()
            .get(&mut tx, theirs.id)
            .await
            .unwrap()
            .is_some()
    );
    tx.release();
    let mut tx = db.begin(&from).await.unwrap();
    let left = Memory::store()
        .list(&mut tx, Default::default(), tenant_store::Page::first(10))
        .await
        .unwrap()
        .items;
    assert!(left.is_empty());
    tx.release();
    // The superuser, for whom RLS does not apply (the owner is subject to FORCE).
    let all = raw_pool(&super_url(), 1).await;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM feedback_events WHERE org_id = $1")
        .bind(to.org_id())
        .fetch_one(&all)
        .await
        .unwrap();
    assert_eq!(n, 1);
    let n: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM memories WHERE user_id = $1) + (SELECT count(*) FROM feedback_events WHERE org_id = $2)",
    )
    .bind(from.user_id())
    .bind(from.org_id())
    .fetch_one(&all)
    .await
    .unwrap();
    assert_eq!(n, 0, "nothing of the old tenant is left");
}

#[tokio::test]
async fn a_move_that_clashes_on_an_id_fails_whole_and_moves_nothing() {
    let db = db().await;
    let (operator, from, to) = (tenant(), tenant(), tenant());
    let shared = Uuid::new_v4();
    for who in [&from, &to] {
        let mut tx = db.begin(who).await.unwrap();
        Memory::store()
            .create(
                &mut tx,
                NewMemory {
                    id: Some(shared),
                    ..memory("same id")
                },
            )
            .await
            .unwrap();
        Memory::store()
            .create(&mut tx, memory("other"))
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let mut admin = db.admin(&operator, "merge with a clash").await.unwrap();
    let err = move_tenant(&mut admin, &from, &to, &[MoveTable::of::<Memory>()])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Duplicate), "{err:?}");
    assert!(
        admin.commit().await.is_err(),
        "an aborted transaction does not commit"
    );
    for who in [&from, &to] {
        let mut tx = db.begin(who).await.unwrap();
        let n = Memory::store()
            .list(&mut tx, Default::default(), tenant_store::Page::first(10))
            .await
            .unwrap()
            .items
            .len();
        assert_eq!(n, 2, "both tenants are as they were");
    }
}
