// Rule: `references` applies to data fields.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "org_id")]
pub struct Parent {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
}

#[tenant_store(backend = "postgres", scope = "org_id")]
pub struct Child {
    #[tenant_store(id, references = Parent)]
    pub id: Uuid,
    pub org_id: Uuid,
}

fn main() {}
