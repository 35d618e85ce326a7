// Rule: a qdrant entity gives its vector size, checked before every request.
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "qdrant", scope = "org_id", model = "minilm")]
#[derive(Serialize, Deserialize)]
pub struct Chunk {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub text: String,
}

fn main() {}
