// Rule: a `text` field holds a String.
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "opensearch", scope = "org_id")]
#[derive(Serialize, Deserialize)]
pub struct Doc {
    #[tenant_store(id)]
    pub id: String,
    pub org_id: Uuid,
    #[tenant_store(text)]
    pub views: i64,
}

fn main() {}
