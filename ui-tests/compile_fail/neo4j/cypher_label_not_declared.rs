// Rule: every label in the query is the label of an entity the query is declared for.
use serde::{Deserialize, Serialize};
use tenant_store::{cypher, tenant_store};
use uuid::Uuid;

#[tenant_store(backend = "neo4j", scope = "org_id", label = "CODE_SYMBOL")]
#[derive(Serialize, Deserialize)]
pub struct Symbol {
    #[tenant_store(id)]
    pub id: String,
    pub org_id: Uuid,
}

fn main() {
    let _ = cypher!(Symbol; "MATCH (n:CODE_REPO {org_id: $org_id}) RETURN n");
}
