// Rule: a qdrant entity names its embedding model: the collection is `embeddings_{model}`.
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "qdrant", scope = "org_id", dims = 4)]
#[derive(Serialize, Deserialize)]
pub struct Chunk {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub text: String,
}

fn main() {}
