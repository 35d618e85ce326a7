// Rule: the table name is a plain lowercase SQL identifier (it is spliced into SQL).
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "user_id", table = "Entities; DROP TABLE x")]
pub struct Entity {
    #[tenant_store(id)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub body: String,
}

fn main() {}
