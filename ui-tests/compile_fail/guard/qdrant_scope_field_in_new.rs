// Rule: the scope field comes from the tenant handle; `NewChunk` has no `org_id` to set.
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "qdrant", scope = "org_id", model = "minilm", dims = 4)]
#[derive(Serialize, Deserialize)]
pub struct Chunk {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub text: String,
}

fn main() {
    let _ = NewChunk {
        id: None,
        org_id: Uuid::nil(),
        text: String::new(),
    };
}
