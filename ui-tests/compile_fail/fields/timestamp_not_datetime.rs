// Rule: created_at/updated_at are DateTime<Utc>.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "user_id")]
pub struct Entity {
    #[tenant_store(id)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub body: String,
    #[tenant_store(created_at)]
    pub created_at: i64,
}

fn main() {}
