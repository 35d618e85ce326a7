// The scope field must serialize as itself: no serde attribute on it (skipping it would store
// an item that names no tenant).
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "valkey", scope = "user_id")]
#[derive(Serialize, Deserialize)]
pub struct Item {
    #[tenant_store(id)]
    pub id: String,
    #[serde(skip_serializing_if = "Uuid::is_nil")]
    pub user_id: Uuid,
    #[tenant_store(session)]
    pub session: String,
}

fn main() {}
