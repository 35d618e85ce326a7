// Rule: the index name is a string.
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "opensearch", scope = "org_id", index = 3)]
#[derive(Serialize, Deserialize)]
pub struct Doc {
    #[tenant_store(id)]
    pub id: String,
    pub org_id: Uuid,
}

fn main() {}
