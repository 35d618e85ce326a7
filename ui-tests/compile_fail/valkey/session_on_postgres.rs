// Rule: `session` is a valkey field key.
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "user_id")]
pub struct Entity {
    #[tenant_store(id)]
    pub id: Uuid,
    pub user_id: Uuid,
    #[tenant_store(session)]
    pub session_id: String,
}

fn main() {}
