//! SearchStore against the OpenSearch server the services script starts (the osmem emulator
//! here; set TENANT_STORE_OPENSEARCH_URL for a real cluster): aliases, explicit tenant filters,
//! ids namespaced by tenant, optimistic concurrency, promotion, offboarding, failures.

use std::time::{Duration, Instant};

use chrono::Utc;
use tenant_store::opensearch::{Client, Scoped};
use tenant_store::{Error, Principal, Resilience};
use tenant_store_examples::search::{NewSearchDoc, SearchDoc};
use tenant_store_tests::{free_port, http_json, opensearch_url, search_client, tenant};

fn doc(id: &str, title: &str) -> NewSearchDoc {
    NewSearchDoc {
        id: Some(id.into()),
        title: title.into(),
        body: format!("body of {title}"),
        tags: vec!["t".into()],
        published_at: Utc::now(),
        views: 0,
        author: None,
    }
}

async fn provisioned<'c>(client: &'c Client, who: &Principal) -> Scoped<'c> {
    SearchDoc::store().ensure_index(client).await.unwrap();
    let scoped = client.scoped(who);
    SearchDoc::store()
        .create_tenant_alias(&scoped)
        .await
        .unwrap();
    scoped
}

fn ids(page: &[SearchDoc]) -> Vec<&str> {
    let mut v: Vec<&str> = page.iter().map(|d| d.id.as_str()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn search_through_a_tenants_alias_returns_only_its_documents_from_both_sides() {
    let client = search_client().await;
    let (a, b) = (tenant(), tenant());
    let (ka, kb) = (
        provisioned(&client, &a).await,
        provisioned(&client, &b).await,
    );
    let store = SearchDoc::store();
    store.index(&ka, doc("a1", "rust tenancy")).await.unwrap();
    store.index(&ka, doc("a2", "rust aliases")).await.unwrap();
    store
        .index(&kb, doc("b1", "rust tenancy too"))
        .await
        .unwrap();
    let hits = store.search(&ka, "rust", 10, None).await.unwrap().hits;
    assert_eq!(ids(&hits), vec!["a1", "a2"]);
    assert!(hits.iter().all(|d| d.org_id == a.org_id()));
    let hits = store.search(&kb, "rust", 10, None).await.unwrap().hits;
    assert_eq!(ids(&hits), vec!["b1"]);
    assert_eq!(store.count(&ka, Default::default()).await.unwrap(), 2);
    assert_eq!(store.count(&kb, Default::default()).await.unwrap(), 1);
}

#[tokio::test]
async fn get_by_id_of_another_tenants_document_is_none_and_ids_never_collide() {
    let client = search_client().await;
    let (a, b) = (tenant(), tenant());
    let (ka, kb) = (
        provisioned(&client, &a).await,
        provisioned(&client, &b).await,
    );
    let store = SearchDoc::store();
    let da = store.index(&ka, doc("same-id", "a's")).await.unwrap();
    assert_eq!(store.get(&kb, &"same-id".to_string()).await.unwrap(), None);
    // Writing the same id in b creates b's own document; a's is untouched.
    let db = store.index(&kb, doc("same-id", "b's")).await.unwrap();
    assert_eq!(
        store.get(&ka, &"same-id".to_string()).await.unwrap(),
        Some(da)
    );
    assert_eq!(
        store.get(&kb, &"same-id".to_string()).await.unwrap(),
        Some(db)
    );
    assert_eq!(store.get(&ka, &"missing".to_string()).await.unwrap(), None);
}

#[tokio::test]
async fn creating_an_existing_id_is_duplicate() {
    let client = search_client().await;
    let scoped = provisioned(&client, &tenant()).await;
    let store = SearchDoc::store();
    store.create(&scoped, doc("d1", "first")).await.unwrap();
    let err = store
        .create(&scoped, doc("d1", "second"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Duplicate), "{err:?}");
    assert_eq!(
        store
            .get(&scoped, &"d1".to_string())
            .await
            .unwrap()
            .unwrap()
            .title,
        "first"
    );
}

#[tokio::test]
async fn an_update_at_a_stale_version_is_a_conflict() {
    let client = search_client().await;
    let scoped = provisioned(&client, &tenant()).await;
    let store = SearchDoc::store();
    store.create(&scoped, doc("v", "one")).await.unwrap();
    let (mut d, v1) = store
        .get_versioned(&scoped, &"v".to_string())
        .await
        .unwrap()
        .unwrap();
    d.title = "two".into();
    let v2 = store.update(&scoped, &d, v1).await.unwrap();
    assert_ne!(v1, v2);
    d.title = "three".into();
    let err = store.update(&scoped, &d, v1).await.unwrap_err();
    assert!(matches!(err, Error::Conflict), "{err:?}");
    assert_eq!(
        store
            .get(&scoped, &"v".to_string())
            .await
            .unwrap()
            .unwrap()
            .title,
        "two"
    );
}

/// `update` takes a whole document, scope field included: a document relabelled with another
/// tenant's id is refused before any request, and neither tenant's copy changes (both sides).
#[tokio::test]
async fn an_update_naming_another_tenant_is_refused_and_changes_nothing() {
    let client = search_client().await;
    let (a, b) = (tenant(), tenant());
    let (ka, kb) = (
        provisioned(&client, &a).await,
        provisioned(&client, &b).await,
    );
    let store = SearchDoc::store();
    store.create(&ka, doc("shared", "a's")).await.unwrap();
    store.create(&kb, doc("shared", "b's")).await.unwrap();
    for (k, mine, theirs) in [(&ka, &a, &b), (&kb, &b, &a)] {
        let (mut d, version) = store
            .get_versioned(k, &"shared".to_string())
            .await
            .unwrap()
            .unwrap();
        d.org_id = theirs.org_id();
        d.title = "overwritten".into();
        let err = store.update(k, &d, version).await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
        let own = store.get(k, &"shared".to_string()).await.unwrap().unwrap();
        assert_eq!(own.org_id, mine.org_id());
        assert_ne!(own.title, "overwritten");
    }
    let titles = [&ka, &kb].map(|k| async move {
        store
            .get(k, &"shared".to_string())
            .await
            .unwrap()
            .unwrap()
            .title
    });
    let [ta, tb] = titles;
    assert_eq!((ta.await, tb.await), ("a's".to_owned(), "b's".to_owned()));
}

#[tokio::test]
async fn delete_is_tenant_scoped_and_a_second_delete_is_not_found() {
    let client = search_client().await;
    let (a, b) = (tenant(), tenant());
    let (ka, kb) = (
        provisioned(&client, &a).await,
        provisioned(&client, &b).await,
    );
    let store = SearchDoc::store();
    store.index(&ka, doc("x", "a's")).await.unwrap();
    assert!(matches!(
        store.delete(&kb, &"x".to_string()).await,
        Err(Error::NotFound)
    ));
    assert!(store.get(&ka, &"x".to_string()).await.unwrap().is_some());
    store.delete(&ka, &"x".to_string()).await.unwrap();
    assert_eq!(store.get(&ka, &"x".to_string()).await.unwrap(), None);
    assert!(matches!(
        store.delete(&ka, &"x".to_string()).await,
        Err(Error::NotFound)
    ));
}

#[tokio::test]
async fn a_tenant_without_an_alias_gets_a_typed_not_found() {
    let client = search_client().await;
    SearchDoc::store().ensure_index(&client).await.unwrap();
    let scoped = client.scoped(&tenant());
    let store = SearchDoc::store();
    assert!(matches!(
        store.search(&scoped, "x", 10, None).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        store.get(&scoped, &"x".to_string()).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        store.promote_tenant(&scoped).await,
        Err(Error::NotFound)
    ));
}

#[tokio::test]
async fn a_malformed_query_is_invalid_input() {
    let client = search_client().await;
    let scoped = provisioned(&client, &tenant()).await;
    let err = SearchDoc::store()
        .search_query_string(&scoped, "title:(rust AND", 10, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    let err = SearchDoc::store()
        .index(&scoped, doc("bad/id", "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
}

#[tokio::test]
async fn search_after_pages_through_every_hit_once() {
    let client = search_client().await;
    let scoped = provisioned(&client, &tenant()).await;
    let store = SearchDoc::store();
    for i in 0..12 {
        store
            .index(&scoped, doc(&format!("p{i:02}"), "paged"))
            .await
            .unwrap();
    }
    let (mut seen, mut after, mut pages) = (Vec::new(), None, 0);
    loop {
        let page = store.search(&scoped, "", 5, after).await.unwrap();
        pages += 1;
        seen.extend(page.hits.iter().map(|d| d.id.clone()));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    seen.sort();
    let expected: Vec<String> = (0..12).map(|i| format!("p{i:02}")).collect();
    assert_eq!(seen, expected);
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn the_mapping_comes_from_the_struct() {
    let client = search_client().await;
    SearchDoc::store().ensure_index(&client).await.unwrap();
    let body: serde_json::Value = http_json(
        "GET",
        &format!("{}/search/_mapping", opensearch_url()),
        None,
    );
    let props = &body["search"]["mappings"]["properties"];
    for (field, kind) in [
        ("id", "keyword"),
        ("org_id", "keyword"),
        ("title", "text"),
        ("body", "text"),
        ("tags", "keyword"),
        ("published_at", "date"),
    ] {
        assert_eq!(props[field]["type"], kind, "{field}: {props}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promotion_keeps_every_document_and_searches_keep_answering() {
    let client = search_client().await;
    let (a, b) = (tenant(), tenant());
    let (ka, kb) = (
        provisioned(&client, &a).await,
        provisioned(&client, &b).await,
    );
    let store = SearchDoc::store();
    for i in 0..40 {
        store
            .index(&ka, doc(&format!("d{i}"), "moving"))
            .await
            .unwrap();
    }
    store.index(&kb, doc("stay", "moving")).await.unwrap();

    // A searcher runs throughout the promotion; every answer must be complete.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let searcher = {
        let (client, a, done) = (client.clone(), a.clone(), done.clone());
        tokio::spawn(async move {
            let scoped = client.scoped(&a);
            let mut answers = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let page = SearchDoc::store()
                    .search(&scoped, "moving", 100, None)
                    .await
                    .unwrap();
                assert_eq!(
                    page.hits.len(),
                    40,
                    "a search during promotion saw {} documents",
                    page.hits.len()
                );
                answers += 1;
                tokio::task::yield_now().await;
            }
            answers
        })
    };
    let report = store.promote_tenant(&ka).await.unwrap();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let answers = searcher.await.unwrap();
    assert!(answers > 0, "the searcher ran during the promotion");
    println!("{answers} complete searches answered during the promotion");
    assert_eq!(report.documents, 40);
    assert_eq!(report.removed_from_shared, 40);

    // After: the alias points at the dedicated index only; everything is there; b is unaffected.
    let aliases = http_json(
        "GET",
        &format!(
            "{}/_alias/{}",
            opensearch_url(),
            tenant_store::opensearch::alias_name::<SearchDoc>(a.org_id())
        ),
        None,
    );
    let targets: Vec<&String> = aliases.as_object().unwrap().keys().collect();
    assert_eq!(
        targets,
        vec![&tenant_store::opensearch::dedicated_index_name::<SearchDoc>(a.org_id())]
    );
    assert_eq!(store.count(&ka, Default::default()).await.unwrap(), 40);
    assert_eq!(
        store
            .search(&kb, "moving", 10, None)
            .await
            .unwrap()
            .hits
            .len(),
        1
    );
    // Writes after the move land in the dedicated index and stay isolated.
    store.index(&ka, doc("after", "moving")).await.unwrap();
    assert_eq!(store.count(&ka, Default::default()).await.unwrap(), 41);
    assert_eq!(store.get(&kb, &"after".to_string()).await.unwrap(), None);
    // Re-running is safe.
    let again = store.promote_tenant(&ka).await.unwrap();
    assert_eq!((again.documents, again.removed_from_shared), (41, 0));
}

#[tokio::test]
async fn delete_tenant_removes_its_documents_and_alias_only() {
    let client = search_client().await;
    let (a, b) = (tenant(), tenant());
    let (ka, kb) = (
        provisioned(&client, &a).await,
        provisioned(&client, &b).await,
    );
    let store = SearchDoc::store();
    for i in 0..3 {
        store
            .index(&ka, doc(&format!("a{i}"), "bye"))
            .await
            .unwrap();
    }
    store.index(&kb, doc("b", "stay")).await.unwrap();
    assert_eq!(store.delete_tenant(&ka).await.unwrap(), 3);
    assert!(
        matches!(
            store.count(&ka, Default::default()).await,
            Err(Error::NotFound)
        ),
        "the alias is gone"
    );
    assert_eq!(store.count(&kb, Default::default()).await.unwrap(), 1);
    assert_eq!(
        store.delete_tenant(&ka).await.unwrap(),
        0,
        "re-running is safe"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_within_the_timeout() {
    let quick = Resilience {
        timeout: Duration::from_millis(300),
        connect_timeout: Duration::from_millis(300),
        failure_threshold: 3,
        open_for: Duration::from_secs(1),
    };
    let started = Instant::now();
    let url = format!("http://127.0.0.1:{}", free_port());
    let err = Client::connect(&url, quick).await.unwrap_err();
    assert!(
        matches!(err, Error::Unavailable(_) | Error::Timeout(_)),
        "{err:?}"
    );
    // The message names the backend and the address.
    let named = format!("opensearch at {url}/");
    assert!(err.to_string().contains(&named), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_query_string_with_a_leading_wildcard_is_refused() {
    // A leading wildcard makes the server walk every term of the shared index: a cost one
    // tenant would put on all. The emulator, like OpenSearch, honours `allow_leading_wildcard`.
    let client = search_client().await;
    let scoped = provisioned(&client, &tenant()).await;
    SearchDoc::store()
        .index(&scoped, doc("w", "wildcard"))
        .await
        .unwrap();
    let err = SearchDoc::store()
        .search_query_string(&scoped, "*card", 10, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    // A trailing wildcard still works.
    let page = SearchDoc::store()
        .search_query_string(&scoped, "wild*", 10, None)
        .await
        .unwrap();
    assert_eq!(ids(&page.hits), vec!["w"]);
}

#[tokio::test]
async fn a_write_before_the_alias_exists_creates_no_index_under_its_name() {
    let client = search_client().await;
    SearchDoc::store().ensure_index(&client).await.unwrap();
    let who = tenant();
    let scoped = client.scoped(&who);
    let err = SearchDoc::store()
        .index(&scoped, doc("early", "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    let alias = tenant_store::opensearch::alias_name::<SearchDoc>(who.org_id());
    let there = http_json("GET", &format!("{}/{alias}", opensearch_url()), None);
    assert!(
        there.get("error").is_some(),
        "an index named {alias}: {there}"
    );
    // Once the alias exists the same write lands, in the shared index behind it.
    SearchDoc::store()
        .create_tenant_alias(&scoped)
        .await
        .unwrap();
    SearchDoc::store()
        .index(&scoped, doc("early", "x"))
        .await
        .unwrap();
    assert_eq!(
        SearchDoc::store()
            .count(&scoped, Default::default())
            .await
            .unwrap(),
        1
    );
}

/// The state `promote_tenant` leaves when it stops after copying the tenant into its dedicated
/// index (step 2), and, with `swap`, after moving the alias there (step 4): built by hand, as
/// the promotion's own steps would, so a delete can land in that window.
async fn half_promoted(who: &Principal, swap: bool) {
    let (url, org) = (opensearch_url(), who.org_id());
    let dedicated = tenant_store::opensearch::dedicated_index_name::<SearchDoc>(org);
    let alias = tenant_store::opensearch::alias_name::<SearchDoc>(org);
    let mapping = http_json("GET", &format!("{url}/search/_mapping"), None)["search"].clone();
    http_json("PUT", &format!("{url}/{dedicated}"), Some(mapping));
    let tenant = serde_json::json!({ "bool": { "filter": [
        { "term": { "org_id": org.to_string() } },
        { "term": { "__tenant_store_entity": "SearchDoc" } },
    ] } });
    http_json(
        "POST",
        &format!("{url}/_reindex?refresh=true"),
        Some(
            serde_json::json!({ "source": { "index": "search", "query": tenant }, "dest": { "index": dedicated } }),
        ),
    );
    if swap {
        http_json(
            "POST",
            &format!("{url}/_aliases"),
            Some(serde_json::json!({ "actions": [
                { "remove": { "index": "search", "alias": alias } },
                { "add": { "index": dedicated, "alias": alias, "filter": tenant, "routing": org.to_string() } },
            ] })),
        );
    }
}

#[tokio::test]
async fn a_document_deleted_during_promotion_stays_deleted() {
    let client = search_client().await;
    let store = SearchDoc::store();
    for swap in [false, true] {
        let who = tenant();
        let scoped = provisioned(&client, &who).await;
        store.index(&scoped, doc("keep", "x")).await.unwrap();
        store.index(&scoped, doc("gone", "x")).await.unwrap();
        half_promoted(&who, swap).await;
        store.delete(&scoped, &"gone".to_string()).await.unwrap();
        let report = store.promote_tenant(&scoped).await.unwrap();
        assert_eq!(report.documents, 1, "swap {swap}");
        assert_eq!(
            store.get(&scoped, &"gone".to_string()).await.unwrap(),
            None,
            "swap {swap}"
        );
        assert!(
            store
                .get(&scoped, &"keep".to_string())
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(
            store.count(&scoped, Default::default()).await.unwrap(),
            1,
            "swap {swap}"
        );
    }
}

/// Issue #30, item 8: `delete`, `delete_tenant`, `promote` and `create_tenant_alias` counted
/// against the client's own breaker, so one tenant's slow deletes made every other tenant's
/// deletes, offboarding and alias creation fail fast. Through a proxy that stalls only requests
/// naming tenant A (its dedicated index name is in every delete's path), A's deletes time out
/// and open A's breaker alone; the message names A.
#[tokio::test]
async fn one_tenants_slow_deletes_open_no_other_tenants_breaker() {
    let (a, b, c) = (tenant(), tenant(), tenant());
    let upstream = opensearch_url();
    let upstream = upstream.trim_start_matches("http://").to_owned();
    let proxy =
        tenant_store_tests::stall_marked(upstream, a.org_id().to_string(), Duration::from_secs(8))
            .await;
    // Generous for everyone else's calls on a loaded machine; A's stall is four times longer.
    let quick = Resilience {
        timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(2),
        failure_threshold: 3,
        open_for: Duration::from_secs(60),
    };
    let client = Client::connect(&format!("http://{proxy}"), quick)
        .await
        .unwrap();
    SearchDoc::store().ensure_index(&client).await.unwrap();
    let kb = provisioned(&client, &b).await;
    let store = SearchDoc::store();
    store.index(&kb, doc("b1", "b's")).await.unwrap();
    store.index(&kb, doc("b2", "b's")).await.unwrap();
    let ka = client.scoped(&a);
    for _ in 0..3 {
        let r = store.delete(&ka, &"x".to_string()).await;
        assert!(matches!(r, Err(Error::Timeout(_))), "{r:?}");
    }
    let r = store.delete(&ka, &"x".to_string()).await;
    let whose = format!("for tenant org_id {}", a.org_id());
    assert!(
        matches!(&r, Err(Error::Unavailable(m)) if m.contains(&whose)),
        "{r:?}"
    );
    assert!(client.circuit_open_for(&a, tenant_store::Scope::OrgId));
    assert!(!client.circuit_open_for(&b, tenant_store::Scope::OrgId) && !client.circuit_open());
    // Everyone else goes on: B deletes and is offboarded, a new tenant gets its alias.
    store.delete(&kb, &"b1".to_string()).await.unwrap();
    assert_eq!(store.delete_tenant(&kb).await.unwrap(), 1);
    provisioned(&client, &c).await;
}

/// Two entities whose names differ only in case, sharing one index (issue #30, item 6).
#[tenant_store::tenant_store(backend = "opensearch", scope = "org_id", index = "case_clash")]
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FileName {
    #[tenant_store(id)]
    pub id: String,
    pub org_id: uuid::Uuid,
    pub path: String,
}

/// See [`FileName`].
#[tenant_store::tenant_store(backend = "opensearch", scope = "org_id", index = "case_clash")]
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Filename {
    #[tenant_store(id)]
    pub id: String,
    pub org_id: uuid::Uuid,
    pub path: String,
}

/// Alias and dedicated-index names lower-cased the entity, so `FileName` and `Filename` shared
/// both: `Filename`'s offboarding deleted the dedicated index holding `FileName`'s documents.
/// The names are now an encoding (`-file-name`, `-filename`), and a destructive call checks
/// what an index holds before it deletes it.
#[tokio::test]
async fn entities_whose_names_differ_in_case_share_no_alias_and_no_index() {
    use tenant_store::opensearch::{alias_name, dedicated_index_name};
    let client = search_client().await;
    let who = tenant();
    let t = who.org_id();
    assert_ne!(alias_name::<FileName>(t), alias_name::<Filename>(t));
    assert_ne!(
        dedicated_index_name::<FileName>(t),
        dedicated_index_name::<Filename>(t)
    );
    FileName::store().ensure_index(&client).await.unwrap();
    Filename::store().ensure_index(&client).await.unwrap();
    let scoped = client.scoped(&who);
    FileName::store()
        .create_tenant_alias(&scoped)
        .await
        .unwrap();
    Filename::store()
        .create_tenant_alias(&scoped)
        .await
        .unwrap();
    for (id, path) in [("f1", "a.rs"), ("f2", "b.rs")] {
        let new = NewFileName {
            id: Some(id.into()),
            path: path.into(),
        };
        FileName::store().index(&scoped, new).await.unwrap();
    }
    FileName::store().promote_tenant(&scoped).await.unwrap();
    // The other entity's offboarding of the same tenant leaves them alone.
    assert_eq!(Filename::store().delete_tenant(&scoped).await.unwrap(), 0);
    assert_eq!(
        FileName::store()
            .count(&scoped, Default::default())
            .await
            .unwrap(),
        2
    );
    // An index under Filename's dedicated name that holds FileName's documents (made by hand)
    // is refused, not deleted.
    let other = tenant();
    let planted = dedicated_index_name::<Filename>(other.org_id());
    let base = opensearch_url();
    http_json("PUT", &format!("{base}/{planted}"), None);
    let doc = serde_json::json!({ "__tenant_store_entity": "FileName", "org_id": other.org_id(), "id": "x", "path": "p" });
    http_json(
        "PUT",
        &format!("{base}/{planted}/_doc/x?refresh=true"),
        Some(doc),
    );
    let err = Filename::store()
        .delete_tenant(&client.scoped(&other))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("another entity or tenant"),
        "{err:?}"
    );
    let there = http_json("GET", &format!("{base}/{planted}/_count"), None);
    assert_eq!(there["count"], 1, "{there}");
    FileName::store().delete_tenant(&scoped).await.unwrap();
}

/// An org-scoped entity that creates the index `map_share` first.
#[tenant_store::tenant_store(backend = "opensearch", scope = "org_id", index = "map_share")]
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OrgNote {
    #[tenant_store(id)]
    pub id: String,
    pub org_id: uuid::Uuid,
    pub path: String,
}

/// A user-scoped entity on the same index: its scope field is not in the first one's mapping.
#[tenant_store::tenant_store(backend = "opensearch", scope = "user_id", index = "map_share")]
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UserNote {
    #[tenant_store(id)]
    pub id: String,
    pub user_id: uuid::Uuid,
    #[tenant_store(filter)]
    pub rank: i64,
}

/// The same index with `path` as a number, where `OrgNote` maps it as a keyword.
#[tenant_store::tenant_store(backend = "opensearch", scope = "org_id", index = "map_share")]
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PathNumber {
    #[tenant_store(id)]
    pub id: String,
    pub org_id: uuid::Uuid,
    pub path: i64,
}

/// Issue #30, item 5: a second entity's `ensure_index` on an index another entity created
/// mapped only the entity field, so its scope field went to dynamic mapping as `text`, it found
/// none of its own documents and its offboarding left them behind. Now every field of its
/// mapping is added, from both entities' sides, and a field mapped with another type is
/// refused by name.
#[tokio::test]
async fn a_second_entity_on_an_existing_index_gets_every_field_mapped() {
    let client = search_client().await;
    OrgNote::store().ensure_index(&client).await.unwrap();
    UserNote::store().ensure_index(&client).await.unwrap();
    let (a, b) = (tenant(), tenant());
    for who in [&a, &b] {
        let scoped = client.scoped(who);
        OrgNote::store().create_tenant_alias(&scoped).await.unwrap();
        UserNote::store()
            .create_tenant_alias(&scoped)
            .await
            .unwrap();
        let note = NewUserNote {
            id: Some("u1".into()),
            rank: 3,
        };
        UserNote::store().index(&scoped, note).await.unwrap();
        let org = NewOrgNote {
            id: Some("o1".into()),
            path: "a.rs".into(),
        };
        OrgNote::store().index(&scoped, org).await.unwrap();
    }
    for who in [&a, &b] {
        let scoped = client.scoped(who);
        let found = UserNote::store()
            .get(&scoped, &"u1".to_string())
            .await
            .unwrap()
            .expect("its own document");
        assert_eq!(found.user_id, who.user_id());
        let ranked = UserNoteFilter::new().rank(3);
        assert_eq!(UserNote::store().count(&scoped, ranked).await.unwrap(), 1);
        assert_eq!(
            OrgNote::store()
                .count(&scoped, Default::default())
                .await
                .unwrap(),
            1
        );
    }
    assert_eq!(
        UserNote::store()
            .delete_tenant(&client.scoped(&a))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        UserNote::store()
            .delete_tenant(&client.scoped(&b))
            .await
            .unwrap(),
        1
    );
    let err = PathNumber::store().ensure_index(&client).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput(m) if m.contains("`path` is mapped as \"keyword\"") && m.contains("map_share")),
        "{err:?}"
    );
}
