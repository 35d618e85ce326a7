// Rule: an unknown struct key with no close match is rejected, listing the allowed keys.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "user_id", colour = "red")]
pub struct Entity {
    #[tenant_store(id)]
    pub id: Uuid,
    pub user_id: Uuid,
}

fn main() {}
