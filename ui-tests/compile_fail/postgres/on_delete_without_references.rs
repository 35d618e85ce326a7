// Rule: `on_delete` says what deleting the referenced entity does; without `references` there
// is none.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "org_id")]
pub struct Child {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    #[tenant_store(on_delete = "set_null")]
    pub parent_id: Option<Uuid>,
}

fn main() {}
