// Rule: `append_only` is a postgres key.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "valkey", scope = "user_id", append_only)]
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Entity {
    #[tenant_store(id)]
    pub id: String,
    pub user_id: Uuid,
    #[tenant_store(session)]
    pub session_id: String,
}

fn main() {}
