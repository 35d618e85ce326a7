// Rule: hand-written Cypher runs only as `CheckedCypher` from `cypher!`; a plain string is refused.
use serde::{Deserialize, Serialize};
use tenant_store::neo4j::{Client, Scoped};
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "neo4j", scope = "org_id", label = "CODE_THING")]
#[derive(Serialize, Deserialize)]
pub struct Thing {
    #[tenant_store(id)]
    pub id: String,
    pub org_id: Uuid,
}

async fn f(kv: &Scoped<'_>) {
    let _ = kv.query("MATCH (n) DETACH DELETE n").rows().await;
}

fn main() {}
