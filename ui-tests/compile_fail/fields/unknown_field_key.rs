// Rule: an unknown field key is rejected, naming the allowed keys.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "user_id")]
pub struct Entity {
    #[tenant_store(id)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub body: String,
    #[tenant_store(indxed)]
    pub name: String,
}

fn main() {}
