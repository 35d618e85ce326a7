// Rule: an unknown backend is rejected at its literal, with the closest name suggested.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgress", scope = "user_id")]
pub struct Entity {
    #[tenant_store(id)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub body: String,
}

fn main() {}
