//! The query API on the document backends (Valkey, OpenSearch, Neo4j, Qdrant): every filter
//! kind each backend takes, ordering and paging with sealed cursors, counts equal to the full
//! listing, and what each backend refuses. Two tenants hold look-alike items; every check runs
//! from both sides.

use chrono::{DateTime, Duration, Utc};
use tenant_store::{Cond, Cursor, Direction, Error, Listing, Page};
use tenant_store_examples::code_graph::{
    NewRepo, NewSymbol, Repo, RepoFilter, Symbol, SymbolFilter, SymbolOrder,
};
use tenant_store_examples::embedding::{Embedding, EmbeddingFilter, NewEmbedding, unit_vector};
use tenant_store_examples::episodic::{Episode, EpisodeFilter, NewEpisode};
use tenant_store_examples::search::{NewSearchDoc, SearchDoc, SearchDocFilter, SearchDocOrder};
use tenant_store_tests::{graph, kv, qdrant_client, search_client, tenant};

/// Every page of a listing, following `next`; the listings' sizes.
async fn all_pages<E, F, Fut>(first: Page, mut list: F) -> (Vec<E>, Vec<usize>)
where
    F: FnMut(Page) -> Fut,
    Fut: std::future::Future<Output = tenant_store::Result<Listing<E>>>,
{
    let (mut out, mut sizes, mut page) = (Vec::new(), Vec::new(), first);
    loop {
        let l = list(page).await.unwrap();
        sizes.push(l.items.len());
        out.extend(l.items);
        match l.next {
            Some(next) => page = next,
            None => return (out, sizes),
        }
    }
}

fn refused<T: std::fmt::Debug>(r: tenant_store::Result<T>, what: &str) {
    match r {
        Err(Error::InvalidInput(_)) => {}
        other => panic!("{what}: expected InvalidInput, got {other:?}"),
    }
}

/// Flips one character in the middle of a cursor's text.
fn edited(page: &Page) -> Page {
    let mut text = page.cursor().unwrap().as_str().to_owned().into_bytes();
    let mid = text.len() / 2;
    text[mid] = if text[mid] == b'A' { b'B' } else { b'A' };
    let cursor: Cursor = String::from_utf8(text).unwrap().parse().unwrap();
    Page::after(cursor, page.limit())
}

fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap()
}

// ---------------------------------------------------------------- OpenSearch

fn doc(i: usize, base: DateTime<Utc>) -> NewSearchDoc {
    NewSearchDoc {
        id: Some(format!("d{i:02}")),
        title: format!("title {i}"),
        body: "body".into(),
        tags: vec![],
        published_at: base + Duration::minutes(i as i64),
        views: (i % 4) as i64,
        author: (!i.is_multiple_of(3)).then(|| format!("au{i} x")),
    }
}

#[tokio::test]
async fn opensearch_filters_orders_and_pages_within_the_tenant() {
    let client = search_client().await;
    let store = SearchDoc::store();
    store.ensure_index(&client).await.unwrap();
    let (a, b) = (tenant(), tenant());
    let base = micros(Utc::now() - Duration::hours(1));
    for who in [&a, &b] {
        let scoped = client.scoped(who);
        store.create_tenant_alias(&scoped).await.unwrap();
        for i in 0..12usize {
            store.create(&scoped, doc(i, base)).await.unwrap();
        }
    }
    let at = |m: i64| base + Duration::minutes(m);
    for (me, other) in [(&a, &b), (&b, &a)] {
        let scoped = client.scoped(me);
        let (all, _) = all_pages(Page::first(5), |p| {
            store.list(&scoped, SearchDocFilter::new(), p)
        })
        .await;
        assert_eq!(all.len(), 12);
        assert!(all.iter().all(|d| d.org_id == me.org_id()));
        type Case = (
            &'static str,
            fn() -> SearchDocFilter,
            Box<dyn Fn(&SearchDoc) -> bool>,
        );
        let cases: Vec<Case> = vec![
            (
                "eq",
                || SearchDocFilter::new().author(Some("au1 x".to_owned())),
                Box::new(|d| d.author.as_deref() == Some("au1 x")),
            ),
            (
                "in",
                || {
                    SearchDocFilter::new().author(Cond::is_in([
                        Some("au1 x".to_owned()),
                        Some("au5 x".to_owned()),
                        None,
                    ]))
                },
                Box::new(|d| matches!(d.author.as_deref(), Some("au1 x" | "au5 x"))),
            ),
            (
                "prefix",
                || SearchDocFilter::new().author(Cond::starts_with("au1")),
                Box::new(|d| d.author.as_deref().is_some_and(|s| s.starts_with("au1"))),
            ),
            (
                "range",
                || SearchDocFilter::new().views(Cond::range(1..3)),
                Box::new(|d| (1..3).contains(&d.views)),
            ),
            (
                "gt",
                || SearchDocFilter::new().views(Cond::gt(2)),
                Box::new(|d| d.views > 2),
            ),
            (
                "le",
                || SearchDocFilter::new().views(Cond::le(0)),
                Box::new(|d| d.views <= 0),
            ),
            (
                "is null",
                || SearchDocFilter::new().author(Cond::is_null()),
                Box::new(|d| d.author.is_none()),
            ),
            (
                "is not null",
                || SearchDocFilter::new().author(Cond::is_not_null()),
                Box::new(|d| d.author.is_some()),
            ),
            (
                "eq null matches nothing",
                || SearchDocFilter::new().author(None),
                Box::new(|_| false),
            ),
        ];
        for (name, filter, keep) in cases {
            let want: Vec<String> = all
                .iter()
                .filter(|d| keep(d))
                .map(|d| d.id.clone())
                .collect();
            let (got, _) = all_pages(Page::first(4), |p| store.list(&scoped, filter(), p)).await;
            let mut got: Vec<String> = got.iter().map(|d| d.id.clone()).collect();
            got.sort();
            assert_eq!(got, want, "{name}");
            assert_eq!(
                store.count(&scoped, filter()).await.unwrap() as usize,
                want.len(),
                "count {name}"
            );
        }
        // A time range: the bound is a time, compared as one.
        let window = || SearchDocFilter::new().published_at(Cond::range(at(3)..at(7)));
        let (got, _) = all_pages(Page::first(3), |p| store.list(&scoped, window(), p)).await;
        let ids: Vec<&str> = got.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["d03", "d04", "d05", "d06"]);
        // Orders, both directions, pages of 5 over 12 with ties.
        let sorted = |key: &dyn Fn(&SearchDoc) -> i64, desc: bool| {
            let mut v: Vec<(i64, String)> = all.iter().map(|d| (key(d), d.id.clone())).collect();
            v.sort();
            if desc {
                v.reverse();
            }
            v.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
        };
        for (field, direction, want) in [
            (
                SearchDocOrder::Views,
                Direction::Asc,
                sorted(&|d| d.views, false),
            ),
            (
                SearchDocOrder::Views,
                Direction::Desc,
                sorted(&|d| d.views, true),
            ),
            (
                SearchDocOrder::PublishedAt,
                Direction::Desc,
                sorted(&|d| d.published_at.timestamp_micros(), true),
            ),
            (SearchDocOrder::Id, Direction::Desc, sorted(&|_| 0, true)),
        ] {
            let filter = || SearchDocFilter::new().order_by(field, direction);
            let (got, sizes) =
                all_pages(Page::first(5), |p| store.list(&scoped, filter(), p)).await;
            let got: Vec<String> = got.into_iter().map(|d| d.id).collect();
            assert_eq!(got, want, "{field:?} {direction:?}");
            assert_eq!(sizes, [5, 5, 2]);
        }
        // Cursors: another tenant, another order, edited: refused.
        let by_views = || SearchDocFilter::new().order_by(SearchDocOrder::Views, Direction::Desc);
        let next = store
            .list(&scoped, by_views(), Page::first(5))
            .await
            .unwrap()
            .next
            .unwrap();
        refused(
            store
                .list(&client.scoped(other), by_views(), next.clone())
                .await,
            "another tenant",
        );
        refused(
            store
                .list(&scoped, SearchDocFilter::new(), next.clone())
                .await,
            "another order",
        );
        refused(
            store.list(&scoped, by_views(), edited(&next)).await,
            "edited",
        );
    }
}

// ---------------------------------------------------------------- Neo4j

fn sym(i: usize) -> NewSymbol {
    NewSymbol {
        id: Some(format!("s{i:02}")),
        name: format!("name_{:02}", 11 - i),
        kind: ["fn", "struct", "trait"][i % 3].into(),
        file: format!("src/m{}.rs", i % 2),
        line: (i % 4) as i64,
        summary: (!i.is_multiple_of(3)).then(|| format!("does {i}")),
    }
}

#[tokio::test]
async fn neo4j_filters_orders_and_pages_within_the_tenant() {
    let g = graph().await;
    let store = Symbol::store();
    let (a, b) = (tenant(), tenant());
    for who in [&a, &b] {
        let scoped = g.scoped(who);
        for i in 0..12usize {
            store.create(&scoped, sym(i)).await.unwrap();
        }
    }
    for (me, other) in [(&a, &b), (&b, &a)] {
        let scoped = g.scoped(me);
        let (all, _) = all_pages(Page::first(5), |p| {
            store.list(&scoped, SymbolFilter::new(), p)
        })
        .await;
        assert_eq!(all.len(), 12);
        assert!(all.iter().all(|s| s.org_id == me.org_id()));
        type Case = (
            &'static str,
            fn() -> SymbolFilter,
            Box<dyn Fn(&Symbol) -> bool>,
        );
        let cases: Vec<Case> = vec![
            (
                "eq",
                || SymbolFilter::new().kind("fn"),
                Box::new(|s| s.kind == "fn"),
            ),
            (
                "in",
                || SymbolFilter::new().kind(Cond::is_in(["fn".to_owned(), "trait".to_owned()])),
                Box::new(|s| s.kind != "struct"),
            ),
            (
                "prefix",
                || SymbolFilter::new().file(Cond::starts_with("src/m1")),
                Box::new(|s| s.file == "src/m1.rs"),
            ),
            (
                "text range",
                || {
                    SymbolFilter::new()
                        .name(Cond::range("name_03".to_owned().."name_07".to_owned()))
                },
                Box::new(|s| s.name.as_str() >= "name_03" && s.name.as_str() < "name_07"),
            ),
            (
                "number range",
                || SymbolFilter::new().line(Cond::range(1..=2)),
                Box::new(|s| (1..=2).contains(&s.line)),
            ),
            (
                "is null",
                || SymbolFilter::new().summary(Cond::is_null()),
                Box::new(|s| s.summary.is_none()),
            ),
            (
                "is not null",
                || SymbolFilter::new().summary(Cond::is_not_null()),
                Box::new(|s| s.summary.is_some()),
            ),
            (
                "combined",
                || SymbolFilter::new().kind("fn").line(Cond::ge(1)),
                Box::new(|s| s.kind == "fn" && s.line >= 1),
            ),
        ];
        for (name, filter, keep) in cases {
            let want: Vec<String> = all
                .iter()
                .filter(|s| keep(s))
                .map(|s| s.id.clone())
                .collect();
            let (got, _) = all_pages(Page::first(4), |p| store.list(&scoped, filter(), p)).await;
            let got: Vec<String> = got.iter().map(|s| s.id.clone()).collect();
            assert_eq!(got, want, "{name}");
            assert_eq!(
                store.count(&scoped, filter()).await.unwrap() as usize,
                want.len(),
                "count {name}"
            );
        }
        let sorted = |key: &dyn Fn(&Symbol) -> String, desc: bool| {
            let mut v: Vec<(String, String)> = all.iter().map(|s| (key(s), s.id.clone())).collect();
            v.sort();
            if desc {
                v.reverse();
            }
            v.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
        };
        for (field, direction, want) in [
            (
                SymbolOrder::Line,
                Direction::Asc,
                sorted(&|s| s.line.to_string(), false),
            ),
            (
                SymbolOrder::Line,
                Direction::Desc,
                sorted(&|s| s.line.to_string(), true),
            ),
            (
                SymbolOrder::Name,
                Direction::Asc,
                sorted(&|s| s.name.clone(), false),
            ),
            (
                SymbolOrder::Id,
                Direction::Desc,
                sorted(&|_| String::new(), true),
            ),
        ] {
            let filter = || SymbolFilter::new().order_by(field, direction);
            let (got, sizes) =
                all_pages(Page::first(5), |p| store.list(&scoped, filter(), p)).await;
            let got: Vec<String> = got.into_iter().map(|s| s.id).collect();
            assert_eq!(got, want, "{field:?} {direction:?}");
            assert_eq!(sizes, [5, 5, 2]);
        }
        let by_line = || SymbolFilter::new().order_by(SymbolOrder::Line, Direction::Desc);
        let next = store
            .list(&scoped, by_line(), Page::first(5))
            .await
            .unwrap()
            .next
            .unwrap();
        refused(
            store.list(&g.scoped(other), by_line(), next.clone()).await,
            "another tenant",
        );
        refused(
            store.list(&scoped, SymbolFilter::new(), next.clone()).await,
            "another order",
        );
        refused(
            store.list(&scoped, by_line(), edited(&next)).await,
            "edited",
        );
        // A symbol cursor on repositories (both in id order): refused.
        let by_id = store
            .list(&scoped, SymbolFilter::new(), Page::first(5))
            .await
            .unwrap()
            .next
            .unwrap();
        Repo::store()
            .create(
                &scoped,
                NewRepo {
                    id: None,
                    url: "https://example.org/r".into(),
                    default_branch: "main".into(),
                },
            )
            .await
            .unwrap();
        refused(
            Repo::store().list(&scoped, RepoFilter::new(), by_id).await,
            "another entity",
        );
    }
}

// ---------------------------------------------------------------- Qdrant

#[tokio::test]
async fn qdrant_filters_and_pages_within_the_tenant_and_refuses_what_it_cannot_match() {
    let client = qdrant_client().await;
    let store = Embedding::store();
    store.ensure_collection(&client).await.unwrap();
    let (a, b) = (tenant(), tenant());
    for who in [&a, &b] {
        let scoped = client.scoped(who);
        for i in 0..12usize {
            let new = NewEmbedding {
                id: None,
                source: format!("doc{}", i % 3),
                text: format!("chunk {i}"),
                offset: (i * 100) as i64,
                lang: (!i.is_multiple_of(3)).then(|| ["en", "fr"][i % 2].to_owned()),
            };
            store.upsert(&scoped, new, &unit_vector(i)).await.unwrap();
        }
    }
    for (me, other) in [(&a, &b), (&b, &a)] {
        let scoped = client.scoped(me);
        let (all, sizes) = all_pages(Page::first(5), |p| {
            store.list(&scoped, EmbeddingFilter::new(), p)
        })
        .await;
        assert_eq!((all.len(), sizes), (12, vec![5, 5, 2]));
        assert!(all.iter().all(|e| e.org_id == me.org_id()));
        type Case = (
            &'static str,
            fn() -> EmbeddingFilter,
            Box<dyn Fn(&Embedding) -> bool>,
        );
        let cases: Vec<Case> = vec![
            (
                "eq",
                || EmbeddingFilter::new().source("doc1"),
                Box::new(|e| e.source == "doc1"),
            ),
            (
                "in",
                || {
                    EmbeddingFilter::new()
                        .source(Cond::is_in(["doc0".to_owned(), "doc2".to_owned()]))
                },
                Box::new(|e| e.source != "doc1"),
            ),
            (
                "number range",
                || EmbeddingFilter::new().offset(Cond::range(300..800)),
                Box::new(|e| (300..800).contains(&e.offset)),
            ),
            (
                "eq number",
                || EmbeddingFilter::new().offset(500),
                Box::new(|e| e.offset == 500),
            ),
            (
                "is null",
                || EmbeddingFilter::new().lang(Cond::is_null()),
                Box::new(|e| e.lang.is_none()),
            ),
            (
                "is not null",
                || EmbeddingFilter::new().lang(Cond::is_not_null()),
                Box::new(|e| e.lang.is_some()),
            ),
            (
                "eq option",
                || EmbeddingFilter::new().lang(Some("fr".to_owned())),
                Box::new(|e| e.lang.as_deref() == Some("fr")),
            ),
            (
                "empty set",
                || EmbeddingFilter::new().source(Cond::is_in([])),
                Box::new(|_| false),
            ),
        ];
        for (name, filter, keep) in cases {
            let mut want: Vec<_> = all.iter().filter(|e| keep(e)).map(|e| e.id).collect();
            let (got, _) = all_pages(Page::first(2), |p| store.list(&scoped, filter(), p)).await;
            let mut got: Vec<_> = got.iter().map(|e| e.id).collect();
            want.sort();
            got.sort();
            assert_eq!(got, want, "{name}");
            assert_eq!(
                store.count(&scoped, filter()).await.unwrap() as usize,
                want.len(),
                "count {name}"
            );
        }
        // What a Qdrant payload filter cannot do is refused, not approximated.
        refused(
            store
                .list(
                    &scoped,
                    EmbeddingFilter::new().source(Cond::starts_with("doc")),
                    Page::first(5),
                )
                .await,
            "prefix",
        );
        refused(
            store
                .list(
                    &scoped,
                    EmbeddingFilter::new().source(Cond::gt("doc0".to_owned())),
                    Page::first(5),
                )
                .await,
            "text range",
        );
        refused(
            store
                .list(
                    &scoped,
                    EmbeddingFilter::new().order_by(
                        tenant_store_examples::embedding::EmbeddingOrder::Id,
                        Direction::Desc,
                    ),
                    Page::first(5),
                )
                .await,
            "descending scroll",
        );
        let next = store
            .list(&scoped, EmbeddingFilter::new(), Page::first(5))
            .await
            .unwrap()
            .next
            .unwrap();
        refused(
            store
                .list(&client.scoped(other), EmbeddingFilter::new(), next.clone())
                .await,
            "another tenant",
        );
        refused(
            store
                .list(&scoped, EmbeddingFilter::new(), edited(&next))
                .await,
            "edited",
        );
    }
}

// ---------------------------------------------------------------- Valkey

#[tokio::test]
async fn valkey_filters_items_read_by_recency_within_the_tenant() {
    let client = kv().await;
    let store = Episode::store();
    let (a, b) = (tenant(), tenant());
    for who in [&a, &b] {
        let scoped = client.scoped(who);
        for i in 0..12usize {
            let new = NewEpisode {
                id: Some(format!("e{i:02}")),
                session_id: format!("s{}", i % 2),
                content: format!("{} step {i}", ["read", "write", "run"][i % 3]),
                importance: 1.0,
                turn: i as i64,
                tool: (!i.is_multiple_of(3)).then(|| "shell".to_owned()),
            };
            store.set(&scoped, new, None).await.unwrap();
        }
    }
    for (me, other) in [(&a, &b), (&b, &a)] {
        let scoped = client.scoped(me);
        let (all, sizes) = all_pages(Page::first(5), |p| {
            store.list_tenant(&scoped, EpisodeFilter::new(), p)
        })
        .await;
        assert_eq!((all.len(), sizes), (12, vec![5, 5, 2]));
        assert!(all.iter().all(|e| e.user_id == me.user_id()));
        // Sessions in id order, each most recently set first.
        let ids: Vec<&str> = all.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(&ids[..3], ["e10", "e08", "e06"]);
        type Case = (
            &'static str,
            fn() -> EpisodeFilter,
            Box<dyn Fn(&Episode) -> bool>,
        );
        let cases: Vec<Case> = vec![
            (
                "prefix",
                || EpisodeFilter::new().content(Cond::starts_with("run")),
                Box::new(|e| e.content.starts_with("run")),
            ),
            (
                "in",
                || {
                    EpisodeFilter::new().content(Cond::is_in([
                        "read step 0".to_owned(),
                        "run step 5".to_owned(),
                    ]))
                },
                Box::new(|e| e.id == "e00" || e.id == "e05"),
            ),
            (
                "range",
                || EpisodeFilter::new().turn(Cond::range(3..9)),
                Box::new(|e| (3..9).contains(&e.turn)),
            ),
            (
                "is null",
                || EpisodeFilter::new().tool(Cond::is_null()),
                Box::new(|e| e.tool.is_none()),
            ),
            (
                "is not null and le",
                || {
                    EpisodeFilter::new()
                        .tool(Cond::is_not_null())
                        .turn(Cond::le(6))
                },
                Box::new(|e| e.tool.is_some() && e.turn <= 6),
            ),
        ];
        for (name, filter, keep) in cases {
            let want: Vec<String> = all
                .iter()
                .filter(|e| keep(e))
                .map(|e| e.id.clone())
                .collect();
            let (got, _) =
                all_pages(Page::first(2), |p| store.list_tenant(&scoped, filter(), p)).await;
            let got: Vec<String> = got.iter().map(|e| e.id.clone()).collect();
            assert_eq!(got, want, "{name}");
            assert_eq!(
                store.count(&scoped, filter()).await.unwrap() as usize,
                want.len(),
                "count {name}"
            );
        }
        refused(
            store
                .list_tenant(
                    &scoped,
                    EpisodeFilter::new().order_by(
                        tenant_store_examples::episodic::EpisodeOrder::Id,
                        Direction::Asc,
                    ),
                    Page::first(5),
                )
                .await,
            "an order on Valkey",
        );
        let next = store
            .list_tenant(&scoped, EpisodeFilter::new(), Page::first(5))
            .await
            .unwrap()
            .next
            .unwrap();
        refused(
            store
                .list_tenant(&client.scoped(other), EpisodeFilter::new(), next.clone())
                .await,
            "another tenant",
        );
        refused(
            store.list_session(&scoped, "s0", next.clone()).await,
            "a tenant cursor on a session",
        );
        refused(
            store
                .list_tenant(&scoped, EpisodeFilter::new(), edited(&next))
                .await,
            "edited",
        );
    }
}
