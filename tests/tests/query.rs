//! The query API on PostgreSQL: every filter kind, ordering and keyset paging with sealed
//! cursors, counts equal to the full listing, and the plan of an ordered listing out of a million
//! rows. Every check runs with two tenants holding look-alike rows, from both sides.

use chrono::{DateTime, Duration, Utc};
use tenant_store::postgres::{Db, TenantTx};
use tenant_store::{Cond, Cursor, Direction, Error, Page, Principal};
use tenant_store_examples::feedback::{
    FeedbackEvent, FeedbackEventFilter, FeedbackEventOrder, NewFeedbackEvent, Outcome,
};
use tenant_store_examples::memory::{Memory, MemoryFilter, MemoryOrder, NewMemory};
use tenant_store_tests::{db, raw_pool, super_url, tenant};
use uuid::Uuid;

/// The same 12 events in each tenant: two users, three query types, four scores (ties), one a
/// minute, a comment on two events out of three.
async fn plant(db: &Db, org: &Principal, users: [Uuid; 2], base: DateTime<Utc>) {
    let events = (0..12).map(|i| NewFeedbackEvent {
        id: None,
        user_id: users[i % 2],
        query_id: Uuid::new_v4(),
        query_type: ["search", "semantic", "qa"][i % 3].to_owned(),
        outcome: Outcome::Accepted,
        score: (i % 4) as f64,
        occurred_at: base + Duration::minutes(i as i64),
        comment: (!i.is_multiple_of(3)).then(|| format!("c{i} 100% sure")),
    });
    let mut tx = db.begin(org).await.unwrap();
    FeedbackEvent::store()
        .create_many(&mut tx, events)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// Every page of a listing, following `next` until there is none.
async fn all_pages(
    tx: &mut TenantTx<'_>,
    filter: impl Fn() -> FeedbackEventFilter,
    limit: u32,
) -> (Vec<FeedbackEvent>, usize) {
    let (mut out, mut pages, mut page) = (Vec::new(), 0, Page::first(limit));
    loop {
        let got = FeedbackEvent::store()
            .list(tx, filter(), page)
            .await
            .unwrap();
        pages += 1;
        assert!(got.items.len() <= limit as usize);
        out.extend(got.items);
        match got.next {
            Some(next) => page = next,
            None => break,
        }
    }
    (out, pages)
}

struct Two {
    db: Db,
    orgs: [Principal; 2],
    users: [[Uuid; 2]; 2],
    base: DateTime<Utc>,
}

async fn two_tenants() -> Two {
    let db = db().await;
    let orgs = [tenant(), tenant()];
    let users = [
        [Uuid::new_v4(), Uuid::new_v4()],
        [Uuid::new_v4(), Uuid::new_v4()],
    ];
    // At PostgreSQL's precision, so the bounds compare here as they do there.
    let now = DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap();
    let base = now - Duration::hours(1);
    for (org, u) in orgs.iter().zip(users) {
        plant(&db, org, u, base).await;
    }
    Two {
        db,
        orgs,
        users,
        base,
    }
}

#[tokio::test]
async fn every_filter_kind_matches_only_the_callers_rows_and_counts_agree() {
    let t = two_tenants().await;
    for me in 0..2 {
        let (org, [u0, u1]) = (&t.orgs[me], t.users[me]);
        let [o0, _] = t.users[1 - me];
        let mut tx = t.db.begin(org).await.unwrap();
        let (everything, _) = all_pages(&mut tx, FeedbackEventFilter::new, 5).await;
        assert_eq!(everything.len(), 12);
        assert!(everything.iter().all(|e| e.org_id == org.org_id()));
        let base = t.base;
        let at = move |m: i64| base + Duration::minutes(m);
        type Case = (
            &'static str,
            Box<dyn Fn() -> FeedbackEventFilter>,
            Box<dyn Fn(&FeedbackEvent) -> bool>,
        );
        let cases: Vec<Case> = vec![
            (
                "eq",
                Box::new(move || FeedbackEventFilter::new().user_id(u0)),
                Box::new(move |e| e.user_id == u0),
            ),
            (
                "in, with the other tenant's user",
                Box::new(move || FeedbackEventFilter::new().user_id(Cond::is_in([u1, o0]))),
                Box::new(move |e| e.user_id == u1),
            ),
            (
                "only the other tenant's user",
                Box::new(move || FeedbackEventFilter::new().user_id(o0)),
                Box::new(|_| false),
            ),
            (
                "empty set",
                Box::new(|| FeedbackEventFilter::new().user_id(Cond::is_in([]))),
                Box::new(|_| false),
            ),
            (
                "prefix",
                Box::new(|| FeedbackEventFilter::new().query_type(Cond::starts_with("se"))),
                Box::new(|e| e.query_type.starts_with("se")),
            ),
            (
                "prefix with LIKE's wildcards, taken literally",
                Box::new(|| FeedbackEventFilter::new().query_type(Cond::starts_with("s_"))),
                Box::new(|_| false),
            ),
            (
                "half-open range",
                Box::new(|| FeedbackEventFilter::new().score(Cond::range(1.0..3.0))),
                Box::new(|e| (1.0..3.0).contains(&e.score)),
            ),
            (
                "closed range",
                Box::new(|| FeedbackEventFilter::new().score(Cond::range(1.0..=2.0))),
                Box::new(|e| (1.0..=2.0).contains(&e.score)),
            ),
            (
                "gt",
                Box::new(|| FeedbackEventFilter::new().score(Cond::gt(2.0))),
                Box::new(|e| e.score > 2.0),
            ),
            (
                "le",
                Box::new(|| FeedbackEventFilter::new().score(Cond::le(0.0))),
                Box::new(|e| e.score <= 0.0),
            ),
            (
                "time range",
                Box::new(move || FeedbackEventFilter::new().occurred_at(Cond::range(at(3)..at(7)))),
                Box::new(move |e| e.occurred_at >= at(3) && e.occurred_at < at(7)),
            ),
            (
                "ge on time",
                Box::new(move || FeedbackEventFilter::new().occurred_at(Cond::ge(at(10)))),
                Box::new(move |e| e.occurred_at >= at(10)),
            ),
            (
                "is null",
                Box::new(|| FeedbackEventFilter::new().comment(Cond::is_null())),
                Box::new(|e| e.comment.is_none()),
            ),
            (
                "is not null",
                Box::new(|| FeedbackEventFilter::new().comment(Cond::is_not_null())),
                Box::new(|e| e.comment.is_some()),
            ),
            (
                "prefix on an optional field, with a literal %",
                Box::new(|| FeedbackEventFilter::new().comment(Cond::starts_with("c1"))),
                Box::new(|e| e.comment.as_deref().is_some_and(|c| c.starts_with("c1"))),
            ),
            (
                "range on an optional field",
                Box::new(|| FeedbackEventFilter::new().comment(Cond::ge("c5".to_owned()))),
                Box::new(|e| e.comment.as_deref().is_some_and(|c| c >= "c5")),
            ),
            (
                "combined with AND",
                Box::new(move || {
                    FeedbackEventFilter::new()
                        .user_id(u0)
                        .score(Cond::ge(1.0))
                        .comment(Cond::is_not_null())
                }),
                Box::new(move |e| e.user_id == u0 && e.score >= 1.0 && e.comment.is_some()),
            ),
        ];
        for (name, filter, keep) in cases {
            let want: Vec<Uuid> = everything
                .iter()
                .filter(|e| keep(e))
                .map(|e| e.id)
                .collect();
            let (got, _) = all_pages(&mut tx, &filter, 4).await;
            let got: Vec<Uuid> = got.iter().map(|e| e.id).collect();
            assert_eq!(got, want, "tenant {me}: {name}");
            let n = FeedbackEvent::store()
                .count(&mut tx, filter())
                .await
                .unwrap();
            assert_eq!(n as usize, want.len(), "tenant {me}: count of {name}");
        }
        // The literal `%` in "100% sure" is matched as a character, not a wildcard.
        let literal = FeedbackEvent::store()
            .count(
                &mut tx,
                FeedbackEventFilter::new().comment(Cond::starts_with("c1 100%")),
            )
            .await
            .unwrap();
        assert_eq!(literal, 1, "only c1 starts with `c1 100%`");
        tx.release();
    }
}

#[tokio::test]
async fn ordering_pages_through_ties_in_both_directions_without_repeats() {
    let t = two_tenants().await;
    for me in 0..2 {
        let org = &t.orgs[me];
        let mut tx = t.db.begin(org).await.unwrap();
        let (everything, _) = all_pages(&mut tx, FeedbackEventFilter::new, 100).await;
        let ids_sorted = |mut v: Vec<FeedbackEvent>, key: &dyn Fn(&FeedbackEvent) -> (f64, i64)| {
            v.sort_by(|a, b| key(a).partial_cmp(&key(b)).unwrap().then(a.id.cmp(&b.id)));
            v.into_iter().map(|e| e.id).collect::<Vec<_>>()
        };
        let by_score = ids_sorted(everything.clone(), &|e| (e.score, 0));
        let by_time = ids_sorted(everything.clone(), &|e| {
            (0.0, e.occurred_at.timestamp_micros())
        });
        let by_id = ids_sorted(everything.clone(), &|_| (0.0, 0));
        let rev = |v: &Vec<Uuid>| v.iter().rev().copied().collect::<Vec<_>>();
        for (field, direction, want) in [
            (FeedbackEventOrder::Score, Direction::Asc, by_score.clone()),
            (FeedbackEventOrder::Score, Direction::Desc, rev(&by_score)),
            (
                FeedbackEventOrder::OccurredAt,
                Direction::Asc,
                by_time.clone(),
            ),
            (
                FeedbackEventOrder::OccurredAt,
                Direction::Desc,
                rev(&by_time),
            ),
            (FeedbackEventOrder::Id, Direction::Asc, by_id.clone()),
            (FeedbackEventOrder::Id, Direction::Desc, rev(&by_id)),
        ] {
            let (got, pages) = all_pages(
                &mut tx,
                || FeedbackEventFilter::new().order_by(field, direction),
                5,
            )
            .await;
            let got: Vec<Uuid> = got.iter().map(|e| e.id).collect();
            assert_eq!(got, want, "tenant {me}: {field:?} {direction:?}");
            assert_eq!(pages, 3, "12 rows in pages of 5: 5, 5, 2");
        }
        // Filtered and ordered: the 3 highest scores of user 0, then the rest of theirs.
        let u0 = t.users[me][0];
        let (got, pages) = all_pages(
            &mut tx,
            || {
                FeedbackEventFilter::new()
                    .user_id(u0)
                    .order_by(FeedbackEventOrder::Score, Direction::Desc)
            },
            3,
        )
        .await;
        let want: Vec<Uuid> = rev(&by_score)
            .into_iter()
            .filter(|id| everything.iter().any(|e| e.id == *id && e.user_id == u0))
            .collect();
        assert_eq!(got.iter().map(|e| e.id).collect::<Vec<_>>(), want);
        assert_eq!(pages, 2);
        tx.release();
    }
}

#[tokio::test]
async fn the_newest_memories_come_first_with_the_id_breaking_ties() {
    let db = db().await;
    let (a, b) = (tenant(), tenant());
    for who in [&a, &b] {
        // Three transactions of four memories: created_at ties within each.
        for batch in 0..3 {
            let mut tx = db.begin(who).await.unwrap();
            let rows = (0..4).map(|i| NewMemory {
                content: format!("batch {batch} row {i}"),
                ..Default::default()
            });
            Memory::store().create_many(&mut tx, rows).await.unwrap();
            tx.commit().await.unwrap();
        }
    }
    for who in [&a, &b] {
        let mut tx = db.begin(who).await.unwrap();
        let newest = || MemoryFilter::new().order_by(MemoryOrder::CreatedAt, Direction::Desc);
        let mut page = Page::first(5);
        let mut got = Vec::new();
        loop {
            let l = Memory::store().list(&mut tx, newest(), page).await.unwrap();
            got.extend(l.items);
            let Some(next) = l.next else { break };
            page = next;
        }
        assert_eq!(got.len(), 12);
        assert!(got.iter().all(|m| m.user_id == who.user_id()));
        let mut want = got.clone();
        want.sort_by_key(|m| std::cmp::Reverse((m.created_at, m.id)));
        assert_eq!(got, want);
        assert!(got[0].content.starts_with("batch 2"));
        tx.release();
    }
}

/// Asserts the listing refuses the page as `InvalidInput`.
async fn refused(tx: &mut TenantTx<'_>, filter: FeedbackEventFilter, page: Page, what: &str) {
    match FeedbackEvent::store().list(tx, filter, page).await {
        Err(Error::InvalidInput(msg)) => assert!(msg.contains("cursor"), "{what}: {msg}"),
        other => panic!("{what}: expected InvalidInput, got {other:?}"),
    }
}

#[tokio::test]
async fn a_cursor_works_only_for_its_tenant_entity_and_order() {
    let t = two_tenants().await;
    let by_score =
        || FeedbackEventFilter::new().order_by(FeedbackEventOrder::Score, Direction::Asc);
    for me in 0..2 {
        let (mine, theirs) = (&t.orgs[me], &t.orgs[1 - me]);
        let mut tx = t.db.begin(mine).await.unwrap();
        let first = FeedbackEvent::store()
            .list(&mut tx, by_score(), Page::first(4))
            .await
            .unwrap();
        let next = first.next.expect("more than 4 rows");
        // The cursor works where it was made.
        let second = FeedbackEvent::store()
            .list(&mut tx, by_score(), next.clone())
            .await
            .unwrap();
        assert_eq!(second.items.len(), 4);
        // The same order in the other direction, or another field: refused.
        let desc = FeedbackEventFilter::new().order_by(FeedbackEventOrder::Score, Direction::Desc);
        refused(&mut tx, desc, next.clone(), "another direction").await;
        let time =
            FeedbackEventFilter::new().order_by(FeedbackEventOrder::OccurredAt, Direction::Asc);
        refused(&mut tx, time, next.clone(), "another field").await;
        refused(
            &mut tx,
            FeedbackEventFilter::new(),
            next.clone(),
            "the default order",
        )
        .await;
        tx.release();

        // The other tenant, with the same filter and order: refused, never their rows.
        let mut tx = t.db.begin(theirs).await.unwrap();
        refused(&mut tx, by_score(), next.clone(), "another tenant").await;
        tx.release();

        // Another entity (both in id order): refused.
        let mut tx = t.db.begin(mine).await.unwrap();
        let by_id = FeedbackEvent::store()
            .list(&mut tx, FeedbackEventFilter::new(), Page::first(2))
            .await
            .unwrap()
            .next
            .expect("more than 2 rows");
        Memory::store()
            .create(&mut tx, NewMemory::default())
            .await
            .unwrap();
        match Memory::store()
            .list(&mut tx, MemoryFilter::new(), by_id)
            .await
        {
            Err(Error::InvalidInput(_)) => {}
            other => panic!("a feedback cursor on memories: {other:?}"),
        }

        // Every single-character edit of the text: not a cursor, or refused.
        let text = next
            .cursor()
            .expect("a next page has a cursor")
            .as_str()
            .to_owned();
        for i in 0..text.len() {
            let mut edited = text.clone().into_bytes();
            edited[i] = if edited[i] == b'A' { b'B' } else { b'A' };
            let edited = String::from_utf8(edited).unwrap();
            let Ok(cursor) = edited.parse::<Cursor>() else {
                continue;
            };
            refused(
                &mut tx,
                by_score(),
                Page::after(cursor, 4),
                &format!("edit at {i}"),
            )
            .await;
        }
        for junk in ["", "not a cursor", "AAAA", &"A".repeat(20_000)] {
            assert!(junk.parse::<Cursor>().is_err(), "{junk:.20}");
        }
        // Through text and back, the cursor still works.
        let again: Cursor = text.parse().unwrap();
        let third = FeedbackEvent::store()
            .list(&mut tx, by_score(), Page::after(again, 4))
            .await
            .unwrap();
        assert_eq!(third.items, second.items);
        tx.rollback().await.unwrap();
    }
}

/// One tenant's ordered listing out of 1,000,000 rows is an index scan: no sort node.
#[tokio::test]
async fn the_newest_of_one_tenant_out_of_a_million_rows_is_read_from_the_index() {
    const ROWS: i64 = 1_000_000;
    const TENANTS: i64 = 100;
    let db = db().await;
    let su = raw_pool(&super_url(), 1).await;
    // Fixed tenants, so a rerun on the same cluster reuses the rows.
    let users: Vec<Uuid> = (0..TENANTS)
        .map(|i| Uuid::from_u128(0x7e57_0000_0000_4000_8000_0000_0000_0000 | i as u128))
        .collect();
    let present: i64 =
        sqlx::query_scalar("SELECT count(*) FROM public.memories WHERE user_id = ANY($1)")
            .bind(&users)
            .fetch_one(&su)
            .await
            .unwrap();
    if present != ROWS {
        sqlx::query("DELETE FROM public.memories WHERE user_id = ANY($1)")
            .bind(&users)
            .execute(&su)
            .await
            .unwrap();
        // As the superuser (RLS does not apply), in one statement.
        sqlx::query(
            "INSERT INTO public.memories (id, user_id, app_id, content, metadata, state, version, created_at, updated_at)
             SELECT gen_random_uuid(), ($1::uuid[])[1 + g % $2], gen_random_uuid(), 'bulk ' || g, '{}', 'active', 1,
                    now() - g * interval '1 second', now()
             FROM generate_series(0, $3 - 1) AS g",
        )
        .bind(&users)
        .bind(TENANTS)
        .bind(ROWS)
        .execute(&su)
        .await
        .unwrap();
        sqlx::query("ANALYZE public.memories")
            .execute(&su)
            .await
            .unwrap();
    }
    let who = Principal::new(users[7], Uuid::new_v4()).unwrap();
    let newest = || MemoryFilter::new().order_by(MemoryOrder::CreatedAt, Direction::Desc);
    let mut tx = db.begin(&who).await.unwrap();
    let plan = Memory::store()
        .explain_list(&mut tx, newest(), Page::first(50))
        .await
        .unwrap();
    let text = plan.join("\n");
    assert!(
        text.contains("Index Scan Backward using memories_user_id_created_at_id_idx"),
        "{text}"
    );
    assert!(!text.contains("Sort"), "no sort node: {text}");
    // The second page too: the cursor's keyset is an index condition.
    let first = Memory::store()
        .list(&mut tx, newest(), Page::first(50))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 50);
    assert!(
        first
            .items
            .windows(2)
            .all(|w| w[0].created_at > w[1].created_at)
    );
    assert!(first.items.iter().all(|m| m.user_id == users[7]));
    let next = first.next.expect("10,000 rows in this tenant");
    let plan = Memory::store()
        .explain_list(&mut tx, newest(), next)
        .await
        .unwrap()
        .join("\n");
    assert!(plan.contains("Index Cond"), "{plan}");
    assert!(!plan.contains("Sort"), "no sort node: {plan}");
    tx.release();
}
