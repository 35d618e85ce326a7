// Rule: a `filter` field gets a payload index, typed from the field: its type needs one.
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "qdrant", scope = "org_id", model = "minilm", dims = 384)]
#[derive(Serialize, Deserialize)]
pub struct Chunk {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    #[tenant_store(filter)]
    pub extra: serde_json::Value,
}

fn main() {}
