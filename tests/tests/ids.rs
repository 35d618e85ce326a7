//! One rule for a document id on every backend (issue #30, item 7): Qdrant took an empty id,
//! NUL, a newline and a 100 kB id where Valkey and OpenSearch refused at least the empty one.
//! Now each backend refuses the same ids with the same `InvalidInput` before any request, and
//! takes the same longest plain id.

use serde::{Deserialize, Serialize};
use tenant_store::{Error, tenant_store};
use tenant_store_examples::code_graph::Symbol;
use tenant_store_examples::episodic::Episode;
use tenant_store_examples::search::SearchDoc;
use tenant_store_tests::{graph, kv, qdrant_client, search_client, tenant};
use uuid::Uuid;

/// A Qdrant entity with a text id (the example's embeddings use `Uuid`s).
#[tenant_store(backend = "qdrant", scope = "org_id", model = "text_ids", dims = 4)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Named {
    #[tenant_store(id)]
    pub id: String,
    pub org_id: Uuid,
}

fn refused() -> Vec<String> {
    vec![
        String::new(),
        "a\0b".into(),
        "a\nb".into(),
        "a b".into(),
        "a/b".into(),
        "a:b".into(),
        "é".into(),
        "x".repeat(257),
        "x".repeat(100 * 1024),
    ]
}

fn is_invalid<T: std::fmt::Debug>(r: tenant_store::Result<T>, what: &str, id: &str) {
    let short: String = id.chars().take(20).collect();
    assert!(
        matches!(r, Err(Error::InvalidInput(ref m)) if m.contains("must be 1 to 256 characters")),
        "{what} {short:?}: {r:?}"
    );
}

#[tokio::test]
async fn every_backend_refuses_the_same_ids_and_takes_the_same_longest_one() {
    let who = tenant();
    let (valkey, search, neo4j, qdrant) = (
        kv().await,
        search_client().await,
        graph().await,
        qdrant_client().await,
    );
    Named::store().ensure_collection(&qdrant).await.unwrap();
    SearchDoc::store().ensure_index(&search).await.unwrap();
    let (v, s, n, q) = (
        valkey.scoped(&who),
        search.scoped(&who),
        neo4j.scoped(&who),
        qdrant.scoped(&who),
    );
    for id in refused() {
        is_invalid(Episode::store().get(&v, "s", &id).await, "valkey", &id);
        is_invalid(SearchDoc::store().get(&s, &id).await, "opensearch", &id);
        is_invalid(Symbol::store().get(&n, &id).await, "neo4j", &id);
        is_invalid(Named::store().get(&q, &id).await, "qdrant get", &id);
        let new = NewNamed {
            id: Some(id.clone()),
        };
        is_invalid(
            Named::store().upsert(&q, new, &[0.5; 4]).await,
            "qdrant upsert",
            &id,
        );
    }
    let longest = format!("{}.-_z", "A9".repeat(126));
    assert_eq!(longest.len(), 256);
    assert!(
        Episode::store()
            .get(&v, "s", &longest)
            .await
            .unwrap()
            .is_none()
    );
    SearchDoc::store().create_tenant_alias(&s).await.unwrap();
    assert!(
        SearchDoc::store()
            .get(&s, &longest)
            .await
            .unwrap()
            .is_none()
    );
    assert!(Symbol::store().get(&n, &longest).await.unwrap().is_none());
    assert!(Named::store().get(&q, &longest).await.unwrap().is_none());
}
