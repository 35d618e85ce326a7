// Rule: the struct attribute must name a scope.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres")]
pub struct Entity {
    #[tenant_store(id)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub body: String,
}

fn main() {}
