// Rule: a field takes one role only.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "user_id")]
pub struct Entity {
    #[tenant_store(id, version)]
    pub id: Uuid,
    pub user_id: Uuid,
}

fn main() {}
