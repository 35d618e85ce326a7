// Rule: a qdrant id is a `String` or a `Uuid` (it is hashed with the tenant into the point id).
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "qdrant", scope = "org_id", model = "minilm", dims = 4)]
#[derive(Serialize, Deserialize)]
pub struct Chunk {
    #[tenant_store(id)]
    pub id: u64,
    pub org_id: Uuid,
    pub text: String,
}

fn main() {}
