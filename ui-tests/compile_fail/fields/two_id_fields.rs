// Rule: a second `id` field is reported at its flag.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "user_id")]
pub struct Entity {
    #[tenant_store(id)]
    pub id: Uuid,
    #[tenant_store(id)]
    pub other: Uuid,
    pub user_id: Uuid,
}

fn main() {}
