//! One example store per backend behind one interface, for the tests that run the same body
//! against every backend (the contract suite, the isolation property tests, offboarding).
//!
//! A fixture knows how to reach its server, how to make a `New` whose data is a number `n`
//! (so a test can tell versions of an entity apart), and how to read that number back.

use tenant_store::contract::TenantStore;
use uuid::Uuid;

use crate::Held;

use tenant_store_examples::code_graph::{NewSymbol, Symbol, SymbolStore};
use tenant_store_examples::embedding::{Embedding, EmbeddingStore, NewEmbedding, unit_vector};
use tenant_store_examples::episodic::{Episode, EpisodeStore, NewEpisode};
use tenant_store_examples::memory::{Memory, MemoryStore, NewMemory};
use tenant_store_examples::search::{NewSearchDoc, SearchDoc, SearchDocStore};

/// A backend's example store, as the cross-backend tests drive it.
pub trait Fixture {
    /// The store under test.
    type S: TenantStore<Entity: std::fmt::Debug>;
    /// Connects (and prepares the index or collection the store needs); a server the tests take
    /// turns on is held until the connection is dropped.
    fn conn() -> impl Future<Output = Held<<Self::S as TenantStore>::Conn>>;
    /// The store.
    fn store() -> Self::S;
    /// A fresh id no test uses.
    fn fresh_id() -> <Self::S as TenantStore>::Id;
    /// A `New` whose data is `n`, with `id` when given.
    fn new(n: u32, id: Option<<Self::S as TenantStore>::Id>) -> <Self::S as TenantStore>::New;
    /// The data number of an entity.
    fn data(e: &<Self::S as TenantStore>::Entity) -> u32;
    /// The tenant id an entity carries in its scope field.
    fn tenant_of(e: &<Self::S as TenantStore>::Entity) -> Uuid;
    /// The principal attribute the store is scoped by.
    fn scope_of(who: &tenant_store::Principal) -> Uuid;
}

fn number(text: &str) -> u32 {
    text.rsplit('#')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(u32::MAX)
}

/// PostgreSQL: `Memory` (scope `user_id`, soft delete, version).
pub struct Pg;

impl Fixture for Pg {
    type S = MemoryStore;
    async fn conn() -> Held<tenant_store::postgres::Db> {
        Held::shared(crate::db().await)
    }
    fn store() -> MemoryStore {
        Memory::store()
    }
    fn fresh_id() -> Uuid {
        Uuid::new_v4()
    }
    fn new(n: u32, id: Option<Uuid>) -> NewMemory {
        NewMemory {
            id,
            content: format!("memory #{n}"),
            metadata: serde_json::json!({ "n": n }),
            ..Default::default()
        }
    }
    fn data(e: &Memory) -> u32 {
        number(&e.content)
    }
    fn tenant_of(e: &Memory) -> Uuid {
        e.user_id
    }
    fn scope_of(who: &tenant_store::Principal) -> Uuid {
        who.user_id()
    }
}

/// Valkey: `Episode` (scope `user_id`, addressed by session and id).
pub struct Valkey;

impl Fixture for Valkey {
    type S = EpisodeStore;
    async fn conn() -> Held<tenant_store::valkey::Client> {
        Held::shared(crate::kv().await)
    }
    fn store() -> EpisodeStore {
        Episode::store()
    }
    fn fresh_id() -> (String, String) {
        ("contract".to_owned(), Uuid::new_v4().simple().to_string())
    }
    fn new(n: u32, id: Option<(String, String)>) -> NewEpisode {
        let (session, id) = match id {
            Some((s, i)) => (s, Some(i)),
            None => ("contract".to_owned(), None),
        };
        NewEpisode {
            id,
            session_id: session,
            content: format!("episode #{n}"),
            importance: 1.0,
            turn: 0,
            tool: None,
        }
    }
    fn data(e: &Episode) -> u32 {
        number(&e.content)
    }
    fn tenant_of(e: &Episode) -> Uuid {
        e.user_id
    }
    fn scope_of(who: &tenant_store::Principal) -> Uuid {
        who.user_id()
    }
}

/// OpenSearch: `SearchDoc` (scope `org_id`, alias per tenant).
pub struct OpenSearch;

impl Fixture for OpenSearch {
    type S = SearchDocStore;
    async fn conn() -> Held<tenant_store::opensearch::Client> {
        let client = crate::search_client().await;
        SearchDoc::store().ensure_index(&client).await.unwrap();
        Held::shared(client)
    }
    fn store() -> SearchDocStore {
        SearchDoc::store()
    }
    fn fresh_id() -> String {
        Uuid::new_v4().simple().to_string()
    }
    fn new(n: u32, id: Option<String>) -> NewSearchDoc {
        NewSearchDoc {
            id,
            title: format!("doc #{n}"),
            body: "body".into(),
            tags: vec!["contract".into()],
            published_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            views: 0,
            author: None,
        }
    }
    fn data(e: &SearchDoc) -> u32 {
        number(&e.title)
    }
    fn tenant_of(e: &SearchDoc) -> Uuid {
        e.org_id
    }
    fn scope_of(who: &tenant_store::Principal) -> Uuid {
        who.org_id()
    }
}

/// Neo4j (ArcadeDB here): `Symbol` (scope `org_id`).
pub struct Neo4j;

impl Fixture for Neo4j {
    type S = SymbolStore;
    async fn conn() -> Held<tenant_store::neo4j::Client> {
        crate::graph().await
    }
    fn store() -> SymbolStore {
        Symbol::store()
    }
    fn fresh_id() -> String {
        Uuid::new_v4().simple().to_string()
    }
    fn new(n: u32, id: Option<String>) -> NewSymbol {
        NewSymbol {
            id,
            name: format!("sym #{n}"),
            kind: "fn".into(),
            file: "lib.rs".into(),
            line: 1,
            summary: None,
        }
    }
    fn data(e: &Symbol) -> u32 {
        number(&e.name)
    }
    fn tenant_of(e: &Symbol) -> Uuid {
        e.org_id
    }
    fn scope_of(who: &tenant_store::Principal) -> Uuid {
        who.org_id()
    }
}

/// Qdrant (the qdrant-edge test server here): `Embedding` (scope `org_id`, with a vector).
pub struct Qdrant;

impl Fixture for Qdrant {
    type S = EmbeddingStore;
    async fn conn() -> Held<tenant_store::qdrant::Client> {
        let client = crate::qdrant_client().await;
        Embedding::store().ensure_collection(&client).await.unwrap();
        Held::shared(client)
    }
    fn store() -> EmbeddingStore {
        Embedding::store()
    }
    fn fresh_id() -> Uuid {
        Uuid::new_v4()
    }
    fn new(n: u32, id: Option<Uuid>) -> (NewEmbedding, Vec<f32>) {
        let new = NewEmbedding {
            id,
            source: "contract".into(),
            text: format!("chunk #{n}"),
            offset: 0,
            lang: None,
        };
        (new, unit_vector(n as usize))
    }
    fn data(e: &Embedding) -> u32 {
        number(&e.text)
    }
    fn tenant_of(e: &Embedding) -> Uuid {
        e.org_id
    }
    fn scope_of(who: &tenant_store::Principal) -> Uuid {
        who.org_id()
    }
}
