// Rule: the backend is a string literal.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = postgres, scope = "user_id")]
pub struct Entity {
    #[tenant_store(id)]
    pub id: Uuid,
    pub user_id: Uuid,
}

fn main() {}
