// Rule: only structs can be entities, not unions.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "user_id")]
pub union Entity {
    a: u32,
    b: f32,
}

fn main() {}
