// Rule: append-only entities are never updated, so they take no `updated_at`.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "org_id", append_only)]
pub struct Event {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    #[tenant_store(updated_at)]
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

fn main() {}
