// Rule: `text` marks a data field, not the id.
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "opensearch", scope = "org_id")]
#[derive(Serialize, Deserialize)]
pub struct Doc {
    #[tenant_store(id, text)]
    pub id: String,
    pub org_id: Uuid,
}

fn main() {}
