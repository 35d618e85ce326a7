// Rule: `filter` on an org scope field is rejected too (every query filters on it).
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "org_id")]
pub struct Entity {
    #[tenant_store(id)]
    pub id: Uuid,
    #[tenant_store(filter)]
    pub org_id: Uuid,
}

fn main() {}
