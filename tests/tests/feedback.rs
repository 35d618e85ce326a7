//! FeedbackStore against PostgreSQL: append-only events, the half-open time window, retention,
//! the chunked purge, exact aggregates, and isolation between organisations from both sides.

use chrono::{DateTime, Duration, Utc};
use tenant_store::postgres::Db;
use tenant_store::{Error, Page, Principal};
use tenant_store_examples::feedback::{
    AcceptanceRate, FeedbackEvent, FeedbackEventFilter, FeedbackStore, NewFeedbackEvent, Outcome,
};
use tenant_store_tests::{app_url, db, raw_pool, tenant};
use uuid::Uuid;

fn event(
    user: Uuid,
    kind: &str,
    outcome: Outcome,
    score: f64,
    at: DateTime<Utc>,
) -> NewFeedbackEvent {
    NewFeedbackEvent {
        id: None,
        user_id: user,
        query_id: Uuid::new_v4(),
        query_type: kind.into(),
        outcome,
        score,
        occurred_at: at,
        comment: None,
    }
}

/// Appends events directly through the generated store (bypassing `append`'s retention check,
/// to plant expired events for the purge and window tests).
async fn plant(db: &Db, who: &Principal, events: Vec<NewFeedbackEvent>) {
    let mut tx = db.begin(who).await.unwrap();
    FeedbackEvent::store()
        .create_many(&mut tx, events)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn append_then_query_by_user_returns_the_users_events() {
    let db = db().await;
    let org = tenant();
    let (u1, u2) = (Uuid::new_v4(), Uuid::new_v4());
    let store = FeedbackStore::default();
    let mut tx = db.begin(&org).await.unwrap();
    let e1 = store
        .append(
            &mut tx,
            event(u1, "search", Outcome::Accepted, 4.0, Utc::now()),
        )
        .await
        .unwrap();
    store
        .append(
            &mut tx,
            event(u2, "search", Outcome::Rejected, 1.0, Utc::now()),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = db.begin(&org).await.unwrap();
    let mine = store
        .query_by_user(&mut tx, u1, Page::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(mine, vec![e1.clone()]);
    assert_eq!(e1.org_id, org.org_id());
}

#[tokio::test]
async fn query_by_user_of_another_org_is_empty_from_both_sides() {
    let db = db().await;
    let (a, b) = (tenant(), tenant());
    let user = Uuid::new_v4();
    let store = FeedbackStore::default();
    for org in [&a, &b] {
        let mut tx = db.begin(org).await.unwrap();
        store
            .append(
                &mut tx,
                event(user, "qa", Outcome::Accepted, 1.0, Utc::now()),
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    for (org, other) in [(&a, &b), (&b, &a)] {
        let mut tx = db.begin(org).await.unwrap();
        let seen = store
            .query_by_user(&mut tx, user, Page::first(10))
            .await
            .unwrap()
            .items;
        assert_eq!(seen.len(), 1);
        assert!(
            seen.iter()
                .all(|e| e.org_id == org.org_id() && e.org_id != other.org_id())
        );
    }
}

#[tokio::test]
async fn query_by_user_pages_without_repeats() {
    let db = db().await;
    let org = tenant();
    let user = Uuid::new_v4();
    plant(
        &db,
        &org,
        (0..7)
            .map(|_| event(user, "qa", Outcome::Ignored, 0.0, Utc::now()))
            .collect(),
    )
    .await;
    let store = FeedbackStore::default();
    let mut tx = db.begin(&org).await.unwrap();
    let first = store
        .query_by_user(&mut tx, user, Page::first(4))
        .await
        .unwrap();
    let next = first.next.expect("a second page");
    let first = first.items;
    let rest = store.query_by_user(&mut tx, user, next).await.unwrap();
    assert_eq!(rest.next, None, "the second page is the last");
    let rest = rest.items;
    assert_eq!((first.len(), rest.len()), (4, 3));
    assert!(rest.iter().all(|e| !first.contains(e)));
}

#[tokio::test]
async fn the_time_range_is_half_open_at_both_edges() {
    let db = db().await;
    let org = tenant();
    let u = Uuid::new_v4();
    let t0 = Utc::now() - Duration::hours(10);
    let (start, end) = (t0, t0 + Duration::hours(1));
    plant(
        &db,
        &org,
        vec![
            event(
                u,
                "before",
                Outcome::Accepted,
                0.0,
                start - Duration::microseconds(1),
            ),
            event(u, "at-start", Outcome::Accepted, 0.0, start),
            event(
                u,
                "inside",
                Outcome::Accepted,
                0.0,
                start + Duration::minutes(30),
            ),
            event(
                u,
                "just-before-end",
                Outcome::Accepted,
                0.0,
                end - Duration::microseconds(1),
            ),
            event(u, "at-end", Outcome::Accepted, 0.0, end),
        ],
    )
    .await;
    let mut tx = db.begin(&org).await.unwrap();
    let got = FeedbackStore::default()
        .query_by_time_range(&mut tx, start, end, Page::first(1000))
        .await
        .unwrap()
        .items;
    let kinds: Vec<&str> = got.iter().map(|e| e.query_type.as_str()).collect();
    assert_eq!(kinds, vec!["at-start", "inside", "just-before-end"]);
}

#[tokio::test]
async fn a_reversed_time_range_is_invalid_input() {
    let db = db().await;
    let mut tx = db.begin(&tenant()).await.unwrap();
    let now = Utc::now();
    let err = FeedbackStore::default()
        .query_by_time_range(&mut tx, now, now - Duration::seconds(1), Page::first(1000))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
}

#[tokio::test]
async fn the_time_range_of_another_org_is_empty() {
    let db = db().await;
    let (a, b) = (tenant(), tenant());
    plant(
        &db,
        &a,
        vec![event(
            Uuid::new_v4(),
            "x",
            Outcome::Accepted,
            0.0,
            Utc::now(),
        )],
    )
    .await;
    let store = FeedbackStore::default();
    let window = (
        Utc::now() - Duration::hours(1),
        Utc::now() + Duration::hours(1),
    );
    let mut tx = db.begin(&b).await.unwrap();
    assert!(
        store
            .query_by_time_range(&mut tx, window.0, window.1, Page::first(1000))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let mut tx = db.begin(&a).await.unwrap();
    assert_eq!(
        store
            .query_by_time_range(&mut tx, window.0, window.1, Page::first(1000))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

#[tokio::test]
async fn queries_respect_the_retention_boundary() {
    let db = db().await;
    let org = tenant();
    let u = Uuid::new_v4();
    let store = FeedbackStore::new(Duration::days(30));
    let boundary = Utc::now() - Duration::days(30);
    plant(
        &db,
        &org,
        vec![
            event(
                u,
                "expired",
                Outcome::Accepted,
                1.0,
                boundary - Duration::minutes(5),
            ),
            event(
                u,
                "kept",
                Outcome::Accepted,
                1.0,
                boundary + Duration::minutes(5),
            ),
        ],
    )
    .await;
    let mut tx = db.begin(&org).await.unwrap();
    let by_user = store
        .query_by_user(&mut tx, u, Page::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(
        by_user
            .iter()
            .map(|e| e.query_type.as_str())
            .collect::<Vec<_>>(),
        vec!["kept"]
    );
    let ranged = store
        .query_by_time_range(
            &mut tx,
            boundary - Duration::days(1),
            Utc::now(),
            Page::first(1000),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(
        ranged
            .iter()
            .map(|e| e.query_type.as_str())
            .collect::<Vec<_>>(),
        vec!["kept"]
    );
    assert_eq!(
        store
            .aggregate_acceptance_rate(&mut tx)
            .await
            .unwrap()
            .total,
        1
    );
}

#[tokio::test]
async fn appending_an_event_already_past_retention_is_refused() {
    let db = db().await;
    let store = FeedbackStore::new(Duration::days(1));
    let mut tx = db.begin(&tenant()).await.unwrap();
    let old = event(
        Uuid::new_v4(),
        "x",
        Outcome::Accepted,
        1.0,
        Utc::now() - Duration::days(2),
    );
    assert!(matches!(
        store.append(&mut tx, old).await,
        Err(Error::InvalidInput(_))
    ));
}

#[tokio::test]
async fn purge_deletes_expired_events_in_chunks_and_only_the_orgs() {
    let db = db().await;
    let (a, b) = (tenant(), tenant());
    let store = FeedbackStore::new(Duration::days(7));
    let old = Utc::now() - Duration::days(8);
    for org in [&a, &b] {
        let mut events: Vec<_> = (0..23)
            .map(|_| event(Uuid::new_v4(), "x", Outcome::Ignored, 0.0, old))
            .collect();
        events.push(event(
            Uuid::new_v4(),
            "fresh",
            Outcome::Accepted,
            0.0,
            Utc::now(),
        ));
        plant(&db, org, events).await;
    }
    assert_eq!(
        store.purge_expired_in_chunks(&db, &a, 5).await.unwrap(),
        23,
        "five chunks of 5 and 3"
    );
    assert_eq!(
        store.purge_expired_in_chunks(&db, &a, 5).await.unwrap(),
        0,
        "idempotent"
    );
    // Org b's expired events are untouched; a's fresh one remains.
    let count = |who: Principal| {
        let db = db.clone();
        async move {
            let mut tx = db.begin(&who).await.unwrap();
            FeedbackEvent::store()
                .list(&mut tx, FeedbackEventFilter::new(), Page::first(100))
                .await
                .unwrap()
                .items
                .len()
        }
    };
    assert_eq!(count(a.clone()).await, 1);
    assert_eq!(count(b.clone()).await, 24);
    assert!(matches!(
        store.purge_expired_in_chunks(&db, &a, 0).await,
        Err(Error::InvalidInput(_))
    ));
}

#[tokio::test]
async fn acceptance_rate_of_an_empty_org_is_zero_counts_and_no_rate() {
    let db = db().await;
    let mut tx = db.begin(&tenant()).await.unwrap();
    let rate = FeedbackStore::default()
        .aggregate_acceptance_rate(&mut tx)
        .await
        .unwrap();
    assert_eq!(
        rate,
        AcceptanceRate {
            accepted: 0,
            total: 0,
            rate: None
        }
    );
    assert!(
        FeedbackStore::default()
            .aggregate_by_query_type(&mut tx)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn acceptance_rate_on_mixed_outcomes_is_exact() {
    let db = db().await;
    let org = tenant();
    let u = Uuid::new_v4();
    let mut events = Vec::new();
    for (outcome, n) in [
        (Outcome::Accepted, 3),
        (Outcome::Rejected, 5),
        (Outcome::Ignored, 1),
    ] {
        events.extend((0..n).map(|_| event(u, "qa", outcome, 1.0, Utc::now())));
    }
    plant(&db, &org, events).await;
    // Another org's events must not count.
    plant(
        &db,
        &tenant(),
        vec![event(u, "qa", Outcome::Accepted, 1.0, Utc::now())],
    )
    .await;
    let mut tx = db.begin(&org).await.unwrap();
    let rate = FeedbackStore::default()
        .aggregate_acceptance_rate(&mut tx)
        .await
        .unwrap();
    assert_eq!((rate.accepted, rate.total), (3, 9));
    assert_eq!(rate.rate, Some(3.0 / 9.0));
}

#[tokio::test]
async fn aggregates_by_query_type_give_count_rate_and_mean_score() {
    let db = db().await;
    let org = tenant();
    let u = Uuid::new_v4();
    let now = Utc::now();
    plant(
        &db,
        &org,
        vec![
            event(u, "code", Outcome::Accepted, 5.0, now),
            event(u, "code", Outcome::Rejected, 1.0, now),
            event(u, "code", Outcome::Accepted, 3.0, now),
            event(u, "search", Outcome::Ignored, 2.0, now),
        ],
    )
    .await;
    let mut tx = db.begin(&org).await.unwrap();
    let stats = FeedbackStore::default()
        .aggregate_by_query_type(&mut tx)
        .await
        .unwrap();
    assert_eq!(stats.len(), 2);
    assert_eq!(
        (
            stats[0].query_type.as_str(),
            stats[0].count,
            stats[0].accepted
        ),
        ("code", 3, 2)
    );
    assert!((stats[0].acceptance_rate - 2.0 / 3.0).abs() < 1e-12);
    assert!((stats[0].mean_score - 3.0).abs() < 1e-12);
    assert_eq!(
        (
            stats[1].query_type.as_str(),
            stats[1].count,
            stats[1].accepted
        ),
        ("search", 1, 0)
    );
    assert_eq!((stats[1].acceptance_rate, stats[1].mean_score), (0.0, 2.0));
}

#[tokio::test]
async fn hand_written_aggregates_run_under_rls() {
    // The aggregate SQL names no org; RLS alone keeps it to the caller's organisation.
    let db = db().await;
    let (a, b) = (tenant(), tenant());
    plant(
        &db,
        &a,
        vec![event(
            Uuid::new_v4(),
            "x",
            Outcome::Accepted,
            1.0,
            Utc::now(),
        )],
    )
    .await;
    plant(
        &db,
        &b,
        (0..4)
            .map(|_| event(Uuid::new_v4(), "x", Outcome::Rejected, 1.0, Utc::now()))
            .collect(),
    )
    .await;
    for (org, accepted, total) in [(&a, 1, 1), (&b, 0, 4)] {
        let mut tx = db.begin(org).await.unwrap();
        let r = FeedbackStore::default()
            .aggregate_acceptance_rate(&mut tx)
            .await
            .unwrap();
        assert_eq!((r.accepted, r.total), (accepted, total));
    }
}

#[tokio::test]
async fn events_cannot_be_updated_by_the_application_role() {
    let db = db().await;
    let org = tenant();
    plant(
        &db,
        &org,
        vec![event(
            Uuid::new_v4(),
            "x",
            Outcome::Accepted,
            1.0,
            Utc::now(),
        )],
    )
    .await;
    let mut tx = db.begin(&org).await.unwrap();
    let err = tx
        .execute(sqlx::query("UPDATE feedback_events SET score = 0"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    // Even outside the generated code, through the raw pool.
    let raw = raw_pool(&app_url(), 1).await;
    let err = sqlx::query("UPDATE feedback_events SET outcome = 'accepted'")
        .execute(&raw)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
}

#[tokio::test]
async fn a_non_finite_score_is_invalid_input() {
    let db = db().await;
    let mut tx = db.begin(&tenant()).await.unwrap();
    let e = event(Uuid::new_v4(), "x", Outcome::Accepted, f64::NAN, Utc::now());
    assert!(matches!(
        FeedbackStore::default().append(&mut tx, e).await,
        Err(Error::InvalidInput(_))
    ));
}
