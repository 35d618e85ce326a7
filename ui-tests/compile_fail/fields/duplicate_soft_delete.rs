// Rule: one soft_delete field per entity.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "user_id")]
pub struct Entity {
    #[tenant_store(id)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub body: String,
    #[tenant_store(soft_delete = 1)]
    pub a: i32,
    #[tenant_store(soft_delete = 2)]
    pub b: i32,
}

fn main() {}
