// Rule: `on_delete = "set_null"` writes NULL into the column: only an optional field holds it.
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
    #[tenant_store(references = Parent, on_delete = "set_null")]
    pub parent_id: Uuid,
}

fn main() {}
