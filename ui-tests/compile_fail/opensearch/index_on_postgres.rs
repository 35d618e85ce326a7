// Rule: `index` is an opensearch key.
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "org_id", index = "x")]
pub struct Doc {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
}

fn main() {}
