// Rule: `indexed` marks a data property; the id is indexed already.
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "neo4j", scope = "org_id")]
#[derive(Serialize, Deserialize)]
pub struct Node {
    #[tenant_store(id, indexed)]
    pub id: String,
    pub org_id: Uuid,
}

fn main() {}
