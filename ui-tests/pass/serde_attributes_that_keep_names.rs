// Serde attributes that change neither names nor shape are accepted on document entities.
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "neo4j", scope = "org_id", label = "NOTE")]
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Note {
    #[tenant_store(id)]
    pub id: String,
    pub org_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

fn main() {
    let _ = Note::store();
}
