// Rule: the document id is a String or a Uuid.
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "opensearch", scope = "org_id")]
#[derive(Serialize, Deserialize)]
pub struct Doc {
    #[tenant_store(id)]
    pub id: f64,
    pub org_id: Uuid,
}

fn main() {}
