// Rule: `indexed` is a neo4j field key.
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "org_id")]
pub struct Node {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    #[tenant_store(indexed)]
    pub name: String,
}

fn main() {}
