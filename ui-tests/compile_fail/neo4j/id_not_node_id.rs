// Rule: a node id is a String or a Uuid.
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "neo4j", scope = "org_id")]
#[derive(Serialize, Deserialize)]
pub struct Node {
    #[tenant_store(id)]
    pub id: u64,
    pub org_id: Uuid,
}

fn main() {}
