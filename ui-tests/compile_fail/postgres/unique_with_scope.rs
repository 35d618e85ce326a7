// Rule: the scope column already leads every unique key.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "org_id", unique(org_id, email))]
pub struct Contact {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: String,
}

fn main() {}
