// Rule: a reference holds the parent's Uuid id.
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
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    #[tenant_store(references = Parent)]
    pub parent_id: String,
}

fn main() {}
