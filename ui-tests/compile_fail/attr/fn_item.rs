// Rule: only structs can be entities, not functions.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "user_id")]
pub fn entity() {}

fn main() {}
