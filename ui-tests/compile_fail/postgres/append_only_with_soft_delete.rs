// Rule: append-only entities are never soft-deleted.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "org_id", append_only)]
pub struct Event {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    #[tenant_store(soft_delete = 0)]
    pub state: i32,
}

fn main() {}
