// A data field serialized under the scope's name would plant the record in the tenant its
// caller-set value names (live, before this rule: tenant A's upsert was counted by tenant B, and
// B's list failed to decode it). Serde renames on document entities are a compile error.
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "qdrant", scope = "org_id", model = "renamed", dims = 3)]
#[derive(Serialize, Deserialize)]
pub struct Doc {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    #[serde(rename = "org_id")]
    pub owner: Uuid,
    pub text: String,
}

fn main() {}
