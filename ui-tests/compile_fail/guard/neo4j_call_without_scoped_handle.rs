// Rule: a generated Neo4j method needs a Scoped handle; the client alone reaches no tenant.
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

async fn f(client: &Client) {
    let _ = Thing::store().get(client, &"x".to_string()).await;
}

fn main() {}
