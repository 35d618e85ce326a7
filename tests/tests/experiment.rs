//! Experiments against PostgreSQL: atomic creation with variants, deterministic recorded-once
//! assignment, the status workflow with its history, tenant-safe child rows, and isolation.

use tenant_store::postgres::Db;
use tenant_store::{Error, Page, Principal};
use tenant_store_examples::experiment::{
    Assignment, ExperimentError, ExperimentStatus, Experiments, NewVariant, Variant, variant_for,
};
use tenant_store_tests::{db, tenant};
use uuid::Uuid;

const STORE: Experiments = Experiments;

async fn running(db: &Db, org: &Principal, variants: &[(&str, u32)]) -> (Uuid, Vec<Variant>) {
    let mut tx = db.begin(org).await.unwrap();
    let (exp, vs) = STORE.create(&mut tx, "exp", variants).await.unwrap();
    STORE
        .update_status(&mut tx, exp.id, ExperimentStatus::Running, "launch")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    (exp.id, vs)
}

#[tokio::test]
async fn create_stores_the_experiment_and_its_variants_together() {
    let db = db().await;
    let org = tenant();
    let mut tx = db.begin(&org).await.unwrap();
    let (exp, vs) = STORE
        .create(&mut tx, "button colour", &[("red", 1), ("blue", 3)])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        (exp.status, exp.version, exp.org_id),
        (ExperimentStatus::Draft, 1, org.org_id())
    );
    let mut tx = db.begin(&org).await.unwrap();
    let (got, got_vs) = STORE.get(&mut tx, exp.id).await.unwrap().unwrap();
    assert_eq!(got, exp);
    assert_eq!(got_vs, vs);
    assert_eq!(
        got_vs
            .iter()
            .map(|v| (v.name.as_str(), v.weight))
            .collect::<Vec<_>>(),
        vec![("red", 1), ("blue", 3)]
    );
}

#[tokio::test]
async fn a_failing_variant_leaves_no_experiment_behind() {
    let db = db().await;
    let org = tenant();
    let mut tx = db.begin(&org).await.unwrap();
    let err = STORE
        .create(&mut tx, "dup", &[("same", 1), ("same", 1)])
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExperimentError::Store(Error::Duplicate)),
        "{err:?}"
    );
    assert!(tx.commit().await.is_err());
    let mut tx = db.begin(&org).await.unwrap();
    assert!(
        STORE
            .list(&mut tx, Page::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn variants_need_positive_weights() {
    let db = db().await;
    let mut tx = db.begin(&tenant()).await.unwrap();
    for bad in [&[][..], &[("a", 0)][..]] {
        let err = STORE.create(&mut tx, "x", bad).await.unwrap_err();
        assert!(
            matches!(err, ExperimentError::Store(Error::InvalidInput(_))),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn list_and_get_of_another_org_see_nothing_from_both_sides() {
    let db = db().await;
    let (a, b) = (tenant(), tenant());
    let (ea, _) = running(&db, &a, &[("x", 1)]).await;
    let (eb, _) = running(&db, &b, &[("y", 1)]).await;
    for (org, own, other) in [(&a, ea, eb), (&b, eb, ea)] {
        let mut tx = db.begin(org).await.unwrap();
        let listed: Vec<Uuid> = STORE
            .list(&mut tx, Page::first(10))
            .await
            .unwrap()
            .items
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(listed, vec![own]);
        assert!(STORE.get(&mut tx, other).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn assignment_is_deterministic_and_matches_the_documented_hash() {
    let db = db().await;
    let org = tenant();
    let (exp, vs) = running(&db, &org, &[("a", 1), ("b", 1), ("c", 2)]).await;
    let weights: Vec<u32> = vs.iter().map(|v| v.weight as u32).collect();
    for _ in 0..20 {
        let user = Uuid::new_v4();
        let mut tx = db.begin(&org).await.unwrap();
        let first = STORE.assign_user(&mut tx, exp, user).await.unwrap();
        let again = STORE.assign_user(&mut tx, exp, user).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(first, again);
        assert_eq!(
            first.variant_id,
            vs[variant_for(exp, user, &weights).unwrap()].id
        );
    }
}

#[tokio::test]
async fn assignment_is_recorded_once_and_get_assignment_reads_it() {
    let db = db().await;
    let org = tenant();
    let (exp, _) = running(&db, &org, &[("a", 1), ("b", 1)]).await;
    let user = Uuid::new_v4();
    let mut tx = db.begin(&org).await.unwrap();
    assert!(
        STORE
            .get_assignment(&mut tx, exp, user)
            .await
            .unwrap()
            .is_none()
    );
    let a = STORE.assign_user(&mut tx, exp, user).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = db.begin(&org).await.unwrap();
    assert_eq!(
        STORE.get_assignment(&mut tx, exp, user).await.unwrap(),
        Some(a)
    );
    let rows = tx
        .fetch_all(
            sqlx::query("SELECT 1 FROM experiment_assignments WHERE experiment_id = $1").bind(exp),
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
}

#[tokio::test]
async fn two_concurrent_assigns_of_one_user_yield_one_row() {
    let db = db().await;
    let org = tenant();
    let (exp, _) = running(&db, &org, &[("a", 1), ("b", 1)]).await;
    for _ in 0..10 {
        let user = Uuid::new_v4();
        let assign = |db: Db, org: Principal| async move {
            let mut tx = db.begin(&org).await.unwrap();
            let a = STORE.assign_user(&mut tx, exp, user).await.unwrap();
            tx.commit().await.unwrap();
            a
        };
        let (x, y) = tokio::join!(
            tokio::spawn(assign(db.clone(), org.clone())),
            tokio::spawn(assign(db.clone(), org.clone()))
        );
        let (x, y): (Assignment, Assignment) = (x.unwrap(), y.unwrap());
        assert_eq!(x, y, "both callers see the one recorded assignment");
    }
    let mut tx = db.begin(&org).await.unwrap();
    let rows = tx
        .fetch_all(
            sqlx::query("SELECT 1 FROM experiment_assignments WHERE experiment_id = $1").bind(exp),
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 10);
}

#[tokio::test]
async fn assignment_follows_the_weights_over_many_users() {
    let db = db().await;
    let org = tenant();
    let (exp, vs) = running(&db, &org, &[("small", 1), ("large", 3)]).await;
    let mut tx = db.begin(&org).await.unwrap();
    let mut large = 0;
    for _ in 0..400 {
        if STORE
            .assign_user(&mut tx, exp, Uuid::new_v4())
            .await
            .unwrap()
            .variant_id
            == vs[1].id
        {
            large += 1;
        }
    }
    tx.commit().await.unwrap();
    // 75% expected; 400 users give a standard deviation of about 2.2 points: allow 8.
    let share = f64::from(large) / 400.0;
    assert!(
        (share - 0.75).abs() < 0.08,
        "share of the weight-3 variant: {share}"
    );
}

#[tokio::test]
async fn users_are_assigned_only_while_running() {
    let db = db().await;
    let org = tenant();
    let mut tx = db.begin(&org).await.unwrap();
    let (exp, _) = STORE.create(&mut tx, "draft", &[("a", 1)]).await.unwrap();
    let err = STORE
        .assign_user(&mut tx, exp.id, Uuid::new_v4())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExperimentError::NotRunning(ExperimentStatus::Draft)),
        "{err:?}"
    );
    let err = STORE
        .assign_user(&mut tx, Uuid::new_v4(), Uuid::new_v4())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExperimentError::Store(Error::NotFound)),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_full_workflow_is_recorded_in_order_with_actor_and_reason() {
    use ExperimentStatus::*;
    let db = db().await;
    let org = tenant();
    let mut tx = db.begin(&org).await.unwrap();
    let (exp, _) = STORE.create(&mut tx, "flow", &[("a", 1)]).await.unwrap();
    for (to, why) in [
        (Running, "go"),
        (Paused, "incident"),
        (Running, "fixed"),
        (Completed, "done"),
    ] {
        let e = STORE.update_status(&mut tx, exp.id, to, why).await.unwrap();
        assert_eq!(e.status, to);
    }
    tx.commit().await.unwrap();
    let mut tx = db.begin(&org).await.unwrap();
    let history = STORE.get_status_history(&mut tx, exp.id).await.unwrap();
    let steps: Vec<_> = history
        .iter()
        .map(|h| (h.from_status, h.to_status, h.reason.as_str()))
        .collect();
    assert_eq!(
        steps,
        vec![
            (Draft, Running, "go"),
            (Running, Paused, "incident"),
            (Paused, Running, "fixed"),
            (Running, Completed, "done")
        ]
    );
    assert!(history.iter().all(|h| h.actor == org.user_id()));
    assert_eq!(
        history
            .iter()
            .map(|h| h.experiment_version)
            .collect::<Vec<_>>(),
        vec![2, 3, 4, 5]
    );
}

#[tokio::test]
async fn an_illegal_transition_is_a_typed_error_and_changes_nothing() {
    let db = db().await;
    let org = tenant();
    let mut tx = db.begin(&org).await.unwrap();
    let (exp, _) = STORE.create(&mut tx, "x", &[("a", 1)]).await.unwrap();
    let err = STORE
        .update_status(&mut tx, exp.id, ExperimentStatus::Completed, "skip")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ExperimentError::IllegalTransition {
                from: ExperimentStatus::Draft,
                to: ExperimentStatus::Completed
            }
        ),
        "{err:?}"
    );
    assert!(
        STORE
            .get_status_history(&mut tx, exp.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        STORE.get(&mut tx, exp.id).await.unwrap().unwrap().0.status,
        ExperimentStatus::Draft
    );
}

#[tokio::test]
async fn a_concurrent_status_change_is_a_conflict() {
    let db = db().await;
    let org = tenant();
    let mut tx = db.begin(&org).await.unwrap();
    let (exp, _) = STORE.create(&mut tx, "race", &[("a", 1)]).await.unwrap();
    tx.commit().await.unwrap();
    // Both read version 1; the second writer loses.
    let mut t1 = db.begin(&org).await.unwrap();
    let mut t2 = db.begin(&org).await.unwrap();
    let seen = STORE.get(&mut t2, exp.id).await.unwrap().unwrap().0;
    STORE
        .update_status(&mut t1, exp.id, ExperimentStatus::Running, "first")
        .await
        .unwrap();
    t1.commit().await.unwrap();
    let patch = tenant_store_examples::experiment::ExperimentPatch {
        status: Some(ExperimentStatus::Running),
        ..Default::default()
    };
    let err = tenant_store_examples::experiment::Experiment::store()
        .update(&mut t2, exp.id, seen.version, patch)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict), "{err:?}");
}

#[tokio::test]
async fn status_changes_of_another_org_are_invisible() {
    let db = db().await;
    let (a, b) = (tenant(), tenant());
    let (exp, _) = running(&db, &a, &[("a", 1)]).await;
    let mut tx = db.begin(&b).await.unwrap();
    assert!(
        STORE
            .get_status_history(&mut tx, exp)
            .await
            .unwrap()
            .is_empty()
    );
    let err = STORE
        .update_status(&mut tx, exp, ExperimentStatus::Paused, "sabotage")
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExperimentError::Store(Error::NotFound)),
        "{err:?}"
    );
    let err = STORE
        .assign_user(&mut tx, exp, Uuid::new_v4())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExperimentError::Store(Error::NotFound)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_child_row_cannot_reference_another_orgs_experiment() {
    // Tenant b knows a's experiment id and tries to hang a variant off it: the composite key
    // (org_id, experiment_id) finds no such experiment in b, so the insert fails as NotFound.
    let db = db().await;
    let (a, b) = (tenant(), tenant());
    let (exp, _) = running(&db, &a, &[("a", 1)]).await;
    let mut tx = db.begin(&b).await.unwrap();
    let v = NewVariant {
        id: None,
        experiment_id: exp,
        name: "intruder".into(),
        weight: 1,
        position: 9,
    };
    let err = Variant::store().create(&mut tx, v).await.unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    tx.rollback().await.unwrap();
    let mut tx = db.begin(&a).await.unwrap();
    let (_, vs) = STORE.get(&mut tx, exp).await.unwrap().unwrap();
    assert_eq!(vs.len(), 1, "a's experiment still has only its own variant");
}

#[tokio::test]
async fn deleting_an_experiment_removes_its_children() {
    let db = db().await;
    let org = tenant();
    let (exp, _) = running(&db, &org, &[("a", 1)]).await;
    let mut tx = db.begin(&org).await.unwrap();
    STORE
        .assign_user(&mut tx, exp, Uuid::new_v4())
        .await
        .unwrap();
    tenant_store_examples::experiment::Experiment::store()
        .delete(&mut tx, exp)
        .await
        .unwrap();
    for table in [
        "experiment_variants",
        "experiment_assignments",
        "experiment_status_history",
    ] {
        let sql = sqlx::AssertSqlSafe(format!("SELECT 1 FROM {table} WHERE experiment_id = $1"));
        assert!(
            tx.fetch_all(sqlx::query(sql).bind(exp))
                .await
                .unwrap()
                .is_empty(),
            "{table}"
        );
    }
}
