// Rule: valkey entities are stored as JSON and must derive serde.
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "valkey", scope = "user_id")]
pub struct Entity {
    #[tenant_store(id)]
    pub id: String,
    pub user_id: Uuid,
    #[tenant_store(session)]
    pub session_id: String,
}

fn main() {}
