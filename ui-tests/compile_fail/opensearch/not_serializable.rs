// Rule: opensearch documents are JSON and must derive serde.
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "opensearch", scope = "org_id")]
pub struct Doc {
    #[tenant_store(id)]
    pub id: String,
    pub org_id: Uuid,
}

fn main() {}
