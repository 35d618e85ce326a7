// Rule: `references` names a tenant-store PostgreSQL entity.
use tenant_store::tenant_store;
use uuid::Uuid;

pub struct NotAnEntity;

#[tenant_store(backend = "postgres", scope = "org_id")]
pub struct Child {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    #[tenant_store(references = NotAnEntity)]
    pub parent_id: Uuid,
}

fn main() {}
