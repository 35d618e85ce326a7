// Rule: several mistakes in one item are all reported in one build.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgress", scope = "team_id", dims = 3)]
pub struct Entity {
    pub id: Uuid,
    pub user_id: Uuid,
}

fn main() {}
