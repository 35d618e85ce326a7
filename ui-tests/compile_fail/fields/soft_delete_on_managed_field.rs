// Rule: soft_delete marks a caller-set state field, not a managed one.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "user_id")]
pub struct Entity {
    #[tenant_store(id)]
    pub id: Uuid,
    pub user_id: Uuid,
    #[tenant_store(version, soft_delete = -1)]
    pub version: i64,
}

fn main() {}
