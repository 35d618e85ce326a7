// Rule: only structs can be entities.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "user_id")]
pub enum Entity {
    A,
}

fn main() {}
