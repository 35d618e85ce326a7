// The smallest Neo4j entity, and checked Cypher for both scopes.
use serde::{Deserialize, Serialize};
use tenant_store::neo4j::{CheckedCypher, GraphEntity};
use tenant_store::{cypher, tenant_store};
use uuid::Uuid;

#[tenant_store(backend = "neo4j", scope = "user_id")]
#[derive(Serialize, Deserialize)]
pub struct Note {
    #[tenant_store(id)]
    pub id: Uuid,
    pub user_id: Uuid,
}

#[tenant_store(backend = "neo4j", scope = "org_id", label = "X")]
#[derive(Serialize, Deserialize)]
pub struct Thing {
    #[tenant_store(id)]
    pub id: String,
    pub org_id: Uuid,
}

fn main() {
    assert_eq!(Note::LABEL, "NOTE");
    let queries = tenant_store::neo4j::queries::<Note>().unwrap();
    assert!(queries.get.contains("user_id: $user_id"));
    let q = cypher!(Note; "MATCH (n:NOTE {user_id: $user_id}) RETURN count(n) AS c");
    assert!(q.text().starts_with("MATCH"));
    let text = "MATCH (a:X {org_id: $org_id}) WITH a MATCH (a)-[:R]->(b:X {org_id: $org_id}) RETURN b";
    assert_eq!(cypher!(Thing; "MATCH (a:X {org_id: $org_id}) WITH a MATCH (a)-[:R]->(b:X {org_id: $org_id}) RETURN b").text(), text);
    // The runtime's constructor runs the same check, so it cannot be used to skip it.
    assert!(CheckedCypher::new::<(Thing,)>(text).is_ok());
    assert!(CheckedCypher::new::<(Thing,)>("MATCH (a:X) RETURN a").is_err());
    assert!(CheckedCypher::new::<(Note,)>(text).is_err(), "X is not Note's label");
    assert!(
        CheckedCypher::new::<(Note,)>("MATCH (n:NOTE {org_id: $org_id}) RETURN n").is_err(),
        "Note is user-scoped"
    );
    let _store: NoteStore = Note::store();
}
