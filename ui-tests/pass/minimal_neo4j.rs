// The smallest Neo4j entity, and checked Cypher for both scopes.
use serde::{Deserialize, Serialize};
use tenant_store::neo4j::GraphEntity;
use tenant_store::{cypher, tenant_store};
use uuid::Uuid;

#[tenant_store(backend = "neo4j", scope = "user_id")]
#[derive(Serialize, Deserialize)]
pub struct Note {
    #[tenant_store(id)]
    pub id: Uuid,
    pub user_id: Uuid,
}

fn main() {
    assert_eq!(Note::LABEL, "NOTE");
    assert!(Note::GET.contains("user_id: $user_id"));
    let q = cypher!(user_id, "MATCH (n:NOTE {user_id: $user_id}) RETURN count(n) AS c");
    assert!(q.text().starts_with("MATCH"));
    let _ = cypher!("MATCH (a:X {org_id: $org_id}) WITH a MATCH (a)-[:R]->(b:X {org_id: $org_id}) RETURN b");
    let _store: NoteStore = Note::store();
}
