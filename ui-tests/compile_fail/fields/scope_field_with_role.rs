// Rule: the scope field is filled from the principal and cannot take another role.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "user_id")]
pub struct Entity {
    #[tenant_store(id)]
    pub id: Uuid,
    #[tenant_store(version)]
    pub user_id: Uuid,
}

fn main() {}
