// Rule: every query already filters on the scope; `filter` on it is rejected.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "user_id")]
pub struct Entity {
    #[tenant_store(id)]
    pub id: Uuid,
    #[tenant_store(filter)]
    pub user_id: Uuid,
}

fn main() {}
