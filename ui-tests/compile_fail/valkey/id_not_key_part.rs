// Rule: a valkey item id is a String or a Uuid.
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "valkey", scope = "user_id")]
#[derive(Serialize, Deserialize)]
pub struct Entity {
    #[tenant_store(id)]
    pub id: Vec<u8>,
    pub user_id: Uuid,
    #[tenant_store(session)]
    pub session_id: String,
}

fn main() {}
