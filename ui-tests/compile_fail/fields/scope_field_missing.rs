// Rule: the scope must name a field of the struct; the error points at the scope string.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "user_id")]
pub struct Entity {
    #[tenant_store(id)]
    pub id: Uuid,
    pub owner: Uuid,
}

fn main() {}
