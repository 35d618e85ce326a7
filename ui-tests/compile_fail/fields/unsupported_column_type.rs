// Rule: every field type must map to a PostgreSQL column (PgColumn).
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "user_id")]
pub struct Entity {
    #[tenant_store(id)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub body: String,
    pub tags: std::collections::HashMap<String, String>,
}

fn main() {}
