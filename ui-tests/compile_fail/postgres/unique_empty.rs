// Rule: a `unique` key names at least one field.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "org_id", unique())]
pub struct Contact {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
}

fn main() {}
