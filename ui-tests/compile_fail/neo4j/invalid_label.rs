// Rule: labels are upper-case identifiers (they are spliced into Cypher).
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "neo4j", scope = "org_id", label = "Code Symbol")]
#[derive(Serialize, Deserialize)]
pub struct Node {
    #[tenant_store(id)]
    pub id: String,
    pub org_id: Uuid,
}

fn main() {}
