// Rule: append-only entities are never updated, so they take no `version`.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "org_id", append_only)]
pub struct Event {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    #[tenant_store(version)]
    pub version: i64,
}

fn main() {}
