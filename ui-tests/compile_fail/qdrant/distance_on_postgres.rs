// Rule: `distance` belongs to the qdrant backend only.
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "org_id", distance = "cosine")]
#[derive(Serialize, Deserialize)]
pub struct Chunk {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub text: String,
}

fn main() {}
