// Rule: Valkey lists by recency: `order_by` is not a Valkey key.
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "valkey", scope = "user_id")]
#[derive(Serialize, Deserialize)]
pub struct Entity {
    #[tenant_store(id)]
    pub id: String,
    pub user_id: Uuid,
    #[tenant_store(session)]
    pub session_id: String,
    #[tenant_store(filter, order_by)]
    pub kind: String,
}

fn main() {}
