//! EmbeddingStore against the Qdrant gRPC server the services script starts (the qdrant-edge
//! test server here; set TENANT_STORE_QDRANT_URL for a real Qdrant): tenant filter on every
//! read, tenant-derived point ids, the tenant payload index, vector checks, outages.

use std::time::{Duration, Instant};

use qdrant_client::qdrant::{CreateCollection, VectorParams, VectorsConfig, vectors_config};
use serde::{Deserialize, Serialize};
use tenant_store::qdrant::{Client, Condition, Filter, Scoped};
use tenant_store::{Error, Resilience, tenant_store};
use tenant_store_examples::embedding::{Embedding, NewEmbedding, unit_vector};
use tenant_store_tests::{PrivateQdrant, free_port, qdrant_client, qdrant_url, tenant};
use uuid::Uuid;

fn chunk(id: Uuid, text: &str) -> NewEmbedding {
    NewEmbedding {
        id: Some(id),
        source: "doc-1".into(),
        text: text.into(),
        offset: 0,
        lang: None,
    }
}

/// Upserts the chunk `id` with `text` and the unit vector along `axis`, in `scoped`'s tenant.
async fn put(scoped: &Scoped<'_>, id: Uuid, text: &str, axis: usize) -> Embedding {
    Embedding::store()
        .upsert(scoped, chunk(id, text), &unit_vector(axis))
        .await
        .unwrap()
}

async fn ready(client: &Client) {
    Embedding::store().ensure_collection(client).await.unwrap();
}

fn texts(hits: &[tenant_store::qdrant::Scored<Embedding>]) -> Vec<&str> {
    hits.iter().map(|h| h.entity.text.as_str()).collect()
}

fn quick() -> Resilience {
    Resilience {
        timeout: Duration::from_millis(300),
        connect_timeout: Duration::from_millis(300),
        failure_threshold: 3,
        open_for: Duration::from_millis(500),
    }
}

#[tokio::test]
async fn upsert_then_search_returns_each_tenants_own_points_nearest_first() {
    let client = qdrant_client().await;
    ready(&client).await;
    let (a, b) = (tenant(), tenant());
    let (ka, kb) = (client.scoped(&a), client.scoped(&b));
    let store = Embedding::store();
    put(&ka, Uuid::new_v4(), "a-near", 1).await;
    put(&ka, Uuid::new_v4(), "a-far", 2).await;
    put(&kb, Uuid::new_v4(), "b-near", 1).await;

    let hits = store.search(&ka, &unit_vector(1), 10, None).await.unwrap();
    assert_eq!(texts(&hits), ["a-near", "a-far"]);
    assert!(hits[0].score > hits[1].score);
    assert!(hits.iter().all(|h| h.entity.org_id == a.org_id()));

    let hits = store.search(&kb, &unit_vector(1), 10, None).await.unwrap();
    assert_eq!(texts(&hits), ["b-near"]);
    assert!(hits.iter().all(|h| h.entity.org_id == b.org_id()));
    assert_eq!(store.count(&ka, Default::default()).await.unwrap(), 2);
    assert_eq!(store.count(&kb, Default::default()).await.unwrap(), 1);
}

#[tokio::test]
async fn search_from_another_org_is_empty_even_for_the_identical_vector_from_both_sides() {
    let client = qdrant_client().await;
    ready(&client).await;
    let (a, b) = (tenant(), tenant());
    let (ka, kb) = (client.scoped(&a), client.scoped(&b));
    let store = Embedding::store();
    put(&ka, Uuid::new_v4(), "only a", 7).await;
    assert!(
        store
            .search(&kb, &unit_vector(7), 10, None)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        texts(&store.search(&ka, &unit_vector(7), 10, None).await.unwrap()),
        ["only a"]
    );

    put(&kb, Uuid::new_v4(), "only b", 8).await;
    let from_a = store.search(&ka, &unit_vector(8), 10, None).await.unwrap();
    assert_eq!(
        texts(&from_a),
        ["only a"],
        "a sees its own point, never b's"
    );
    assert_eq!(
        texts(&store.search(&kb, &unit_vector(8), 10, None).await.unwrap()),
        ["only b"]
    );
}

#[tokio::test]
async fn get_and_delete_of_another_orgs_point_are_absent_and_change_nothing_from_both_sides() {
    let client = qdrant_client().await;
    ready(&client).await;
    let (a, b) = (tenant(), tenant());
    let (ka, kb) = (client.scoped(&a), client.scoped(&b));
    let store = Embedding::store();
    let (ida, idb) = (Uuid::new_v4(), Uuid::new_v4());
    put(&ka, ida, "a", 3).await;
    put(&kb, idb, "b", 3).await;

    assert_eq!(store.get(&kb, &ida).await.unwrap(), None);
    assert!(matches!(
        store.delete(&kb, &ida).await,
        Err(Error::NotFound)
    ));
    assert_eq!(store.get(&ka, &idb).await.unwrap(), None);
    assert!(matches!(
        store.delete(&ka, &idb).await,
        Err(Error::NotFound)
    ));

    assert_eq!(store.get(&ka, &ida).await.unwrap().unwrap().text, "a");
    assert_eq!(store.get(&kb, &idb).await.unwrap().unwrap().text, "b");
    assert_eq!(store.count(&ka, Default::default()).await.unwrap(), 1);
    assert_eq!(store.count(&kb, Default::default()).await.unwrap(), 1);
}

#[tokio::test]
async fn the_same_id_in_two_orgs_is_two_points_and_neither_overwrites_the_other() {
    let client = qdrant_client().await;
    ready(&client).await;
    let (a, b) = (tenant(), tenant());
    let (ka, kb) = (client.scoped(&a), client.scoped(&b));
    let store = Embedding::store();
    let id = Uuid::new_v4();
    put(&ka, id, "a's", 4).await;
    put(&kb, id, "b's", 5).await;
    assert_eq!(store.get(&ka, &id).await.unwrap().unwrap().text, "a's");
    assert_eq!(store.get(&kb, &id).await.unwrap().unwrap().text, "b's");
    store.delete(&kb, &id).await.unwrap();
    assert_eq!(store.get(&ka, &id).await.unwrap().unwrap().text, "a's");
    assert_eq!(store.get(&kb, &id).await.unwrap(), None);
}

#[tokio::test]
async fn upsert_replaces_the_tenants_point_and_delete_is_not_found_the_second_time() {
    let client = qdrant_client().await;
    ready(&client).await;
    let a = tenant();
    let ka = client.scoped(&a);
    let store = Embedding::store();
    let id = Uuid::new_v4();
    put(&ka, id, "v1", 10).await;
    put(&ka, id, "v2", 11).await;
    assert_eq!(store.count(&ka, Default::default()).await.unwrap(), 1);
    let hits = store.search(&ka, &unit_vector(11), 1, None).await.unwrap();
    assert_eq!(texts(&hits), ["v2"]);
    store.delete(&ka, &id).await.unwrap();
    assert!(matches!(store.delete(&ka, &id).await, Err(Error::NotFound)));
    assert_eq!(store.get(&ka, &id).await.unwrap(), None);
    assert_eq!(store.count(&ka, Default::default()).await.unwrap(), 0);
}

#[tokio::test]
async fn a_callers_filter_narrows_inside_the_tenant_and_cannot_widen_to_another() {
    let client = qdrant_client().await;
    ready(&client).await;
    let (a, b) = (tenant(), tenant());
    let (ka, kb) = (client.scoped(&a), client.scoped(&b));
    let store = Embedding::store();
    let mut other = chunk(Uuid::new_v4(), "a other source");
    other.source = "doc-2".into();
    put(&ka, Uuid::new_v4(), "a doc-1", 20).await;
    store.upsert(&ka, other, &unit_vector(20)).await.unwrap();
    put(&kb, Uuid::new_v4(), "b doc-1", 20).await;

    let only_doc_2 = Filter::must([Condition::matches("source", "doc-2".to_string())]);
    let hits = store
        .search(&ka, &unit_vector(20), 10, Some(only_doc_2))
        .await
        .unwrap();
    assert_eq!(texts(&hits), ["a other source"]);

    // A filter naming the other tenant, as `should` or `must`, still finds nothing of it.
    let widen = Filter::should([Condition::matches("org_id", a.org_id().to_string())]);
    assert!(
        store
            .search(&kb, &unit_vector(20), 10, Some(widen))
            .await
            .unwrap()
            .is_empty()
    );
    let widen = Filter::must([Condition::matches("org_id", b.org_id().to_string())]);
    assert!(
        store
            .search(&ka, &unit_vector(20), 10, Some(widen))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_org_id_payload_index_exists_and_is_the_tenant_index() {
    let client = qdrant_client().await;
    ready(&client).await;
    let raw = qdrant_client::Qdrant::from_url(&qdrant_url())
        .skip_compatibility_check()
        .build()
        .unwrap();
    let info = raw
        .collection_info("embeddings_minilm")
        .await
        .unwrap()
        .result
        .unwrap();
    let params = info
        .config
        .unwrap()
        .params
        .unwrap()
        .vectors_config
        .unwrap()
        .config;
    let Some(vectors_config::Config::Params(p)) = params else {
        panic!("{params:?}")
    };
    assert_eq!(p.size, 384);
    assert_eq!(p.distance, qdrant_client::qdrant::Distance::Cosine as i32);
    let org = info
        .payload_schema
        .get("org_id")
        .expect("an index on org_id");
    assert_eq!(
        org.data_type,
        qdrant_client::qdrant::PayloadSchemaType::Keyword as i32
    );
    assert!(tenant_store::qdrant::is_tenant_index(Some(org)), "{org:?}");
    assert!(!tenant_store::qdrant::is_tenant_index(
        info.payload_schema.get("source")
    ));
}

/// A second entity on a model whose collection the test creates with another size.
#[tenant_store(backend = "qdrant", scope = "org_id", model = "size_clash", dims = 4)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Clash {
    #[tenant_store(id)]
    pub id: String,
    pub org_id: Uuid,
}

#[tokio::test]
async fn ensure_collection_is_idempotent_and_refuses_a_collection_of_another_size() {
    let client = qdrant_client().await;
    ready(&client).await;
    ready(&client).await;
    let raw = qdrant_client::Qdrant::from_url(&qdrant_url())
        .skip_compatibility_check()
        .build()
        .unwrap();
    raw.delete_collection("embeddings_size_clash")
        .await
        .unwrap();
    raw.create_collection(CreateCollection {
        collection_name: "embeddings_size_clash".into(),
        vectors_config: Some(VectorsConfig {
            config: Some(vectors_config::Config::Params(VectorParams {
                size: 8,
                distance: qdrant_client::qdrant::Distance::Cosine as i32,
                ..Default::default()
            })),
        }),
        ..Default::default()
    })
    .await
    .unwrap();
    let err = Clash::store().ensure_collection(&client).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput(m) if m.contains("4 dimensions")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_wrong_dimension_or_a_nan_is_invalid_input_before_any_request() {
    // The server is gone: only a check made before any request can answer InvalidInput.
    let mut server = PrivateQdrant::start();
    let client = Client::connect(&server.url(), quick()).await.unwrap();
    server.stop();
    let a = tenant();
    let ka = client.scoped(&a);
    let store = Embedding::store();
    let short = vec![0.5_f32; 383];
    let err = store
        .upsert(&ka, chunk(Uuid::new_v4(), "x"), &short)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput(m) if m.contains("384")),
        "{err:?}"
    );
    let err = store.search(&ka, &[1.0; 385], 3, None).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    let mut nan = unit_vector(0);
    nan[5] = f32::NAN;
    let err = store
        .upsert(&ka, chunk(Uuid::new_v4(), "x"), &nan)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput(m) if m.contains("finite")),
        "{err:?}"
    );
    assert!(
        !client.circuit_open(),
        "rejected input never reached the breaker"
    );
}

#[tokio::test]
async fn delete_tenant_removes_only_that_tenants_points_and_counts_them() {
    let client = qdrant_client().await;
    ready(&client).await;
    let (a, b) = (tenant(), tenant());
    let (ka, kb) = (client.scoped(&a), client.scoped(&b));
    let store = Embedding::store();
    for i in 0..5 {
        put(&ka, Uuid::new_v4(), "a", i).await;
    }
    put(&kb, Uuid::new_v4(), "b", 0).await;
    assert_eq!(store.delete_tenant(&ka).await.unwrap(), 5);
    assert_eq!(store.count(&ka, Default::default()).await.unwrap(), 0);
    assert!(
        store
            .search(&ka, &unit_vector(0), 10, None)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.count(&kb, Default::default()).await.unwrap(), 1);
    assert_eq!(store.delete_tenant(&ka).await.unwrap(), 0);
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_within_the_timeout() {
    let started = Instant::now();
    let url = format!("http://127.0.0.1:{}", free_port());
    let err = Client::connect(&url, quick()).await.unwrap_err();
    assert!(
        matches!(err, Error::Unavailable(_) | Error::Timeout(_)),
        "{err:?}"
    );
    // The message names the backend and the address.
    let named = format!("qdrant at {url}");
    assert!(err.to_string().contains(&named), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_server_that_goes_down_fails_fast_opens_the_breaker_and_recovers_when_back() {
    let mut server = PrivateQdrant::start();
    let client = Client::connect(&server.url(), quick()).await.unwrap();
    ready(&client).await;
    let a = tenant();
    let ka: Scoped<'_> = client.scoped(&a);
    let store = Embedding::store();
    let id = Uuid::new_v4();
    put(&ka, id, "kept", 1).await;

    server.stop();
    for _ in 0..3 {
        let started = Instant::now();
        let err = store.get(&ka, &id).await.unwrap_err();
        assert!(
            matches!(err, Error::Unavailable(_) | Error::Timeout(_)),
            "{err:?}"
        );
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "{:?}",
            started.elapsed()
        );
    }
    assert!(client.circuit_open());
    let started = Instant::now();
    assert!(matches!(
        store.get(&ka, &id).await,
        Err(Error::Unavailable(_))
    ));
    assert!(
        started.elapsed() < Duration::from_millis(50),
        "an open breaker answers at once"
    );

    server.restart();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut back = None;
    for _ in 0..20 {
        match store.get(&ka, &id).await {
            Ok(found) => {
                back = found;
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    assert_eq!(back.expect("the point survives the restart").text, "kept");
    assert!(!client.circuit_open());
}

#[tokio::test]
async fn a_limit_over_the_cap_is_invalid_input_before_any_request() {
    let client = qdrant_client().await;
    ready(&client).await;
    let scoped = client.scoped(&tenant());
    let over = tenant_store::qdrant::MAX_LIMIT;
    let err = Embedding::store()
        .search(&scoped, &unit_vector(0), over as u64 + 1, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput(m) if m.contains("maximum")),
        "{err:?}"
    );
    let err = Embedding::store()
        .list(
            &scoped,
            Default::default(),
            tenant_store::Page::first(over as u32 + 1),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput(m) if m.contains("maximum")),
        "{err:?}"
    );
    // At the cap is fine.
    let at_cap = Embedding::store()
        .list(
            &scoped,
            Default::default(),
            tenant_store::Page::first(over as u32),
        )
        .await
        .unwrap();
    assert!(at_cap.items.is_empty() && at_cap.next.is_none());
}

#[tokio::test]
async fn a_server_with_an_api_key_takes_the_right_one_and_says_so_for_the_others() {
    use tenant_store::qdrant::QdrantConfig;
    let server = PrivateQdrant::start_with_api_key(Some("the-right-key"));
    let config = |key: Option<&str>| QdrantConfig {
        url: server.url(),
        api_key: key.map(str::to_owned),
    };
    let settings = Resilience {
        timeout: Duration::from_secs(3),
        ..Resilience::default()
    };
    let client = Client::connect_with(&config(Some("the-right-key")), settings)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    Embedding::store().ensure_collection(&client).await.unwrap();
    let (a, b) = (tenant(), tenant());
    put(&client.scoped(&a), Uuid::new_v4(), "with a key", 1).await;
    assert_eq!(
        Embedding::store()
            .count(&client.scoped(&a), Default::default())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        Embedding::store()
            .count(&client.scoped(&b), Default::default())
            .await
            .unwrap(),
        0
    );

    for (key, says) in [
        (Some("a-wrong-key"), "Invalid API key"),
        (None, "Must provide an API key"),
    ] {
        match Client::connect_with(&config(key), settings).await {
            Err(Error::Credentials(message)) => assert!(message.contains(says), "{message}"),
            other => panic!("expected the credentials to be refused, got {other:?}"),
        }
    }
    // The key never shows in a debug print.
    assert!(!format!("{:?}", config(Some("the-right-key"))).contains("the-right-key"));
}
