// Rule: a key of another backend (`ttl` is Valkey's) is rejected on postgres.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "user_id", ttl = 60)]
pub struct Entity {
    #[tenant_store(id)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub body: String,
}

fn main() {}
