// Rule: `on_delete` is one of three rules; SQL's spelling is not one of them.
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
    #[tenant_store(references = Parent, on_delete = "SET NULL")]
    pub parent_id: Option<Uuid>,
}

fn main() {}
