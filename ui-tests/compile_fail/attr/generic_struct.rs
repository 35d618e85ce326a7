// Rule: generic entities are not supported.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "user_id")]
pub struct Entity<T> {
    #[tenant_store(id)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub body: T,
}

fn main() {}
