// Rule: entities need named fields.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "user_id")]
pub struct Entity(pub Uuid, pub Uuid);

fn main() {}
