// Rule: neo4j nodes travel as JSON properties and must derive serde.
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "neo4j", scope = "org_id")]
pub struct Node {
    #[tenant_store(id)]
    pub id: String,
    pub org_id: Uuid,
}

fn main() {}
