// Rule: an entity needs exactly one `id` field.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "user_id")]
pub struct Entity {
    pub key: Uuid,
    pub user_id: Uuid,
}

fn main() {}
