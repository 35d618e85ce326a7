// `rename_all` would make the mapping (by Rust names) and the documents (by serialized names)
// disagree: a compile error on every document backend.
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "opensearch", scope = "org_id", index = "search")]
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Article {
    #[tenant_store(id)]
    pub id: String,
    pub org_id: Uuid,
    #[tenant_store(text)]
    pub body_text: String,
}

fn main() {}
