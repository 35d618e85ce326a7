// The smallest OpenSearch entity: an id and the scope field.
use serde::{Deserialize, Serialize};
use tenant_store::opensearch::SearchEntity;
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "opensearch", scope = "user_id")]
#[derive(Serialize, Deserialize)]
pub struct Note {
    #[tenant_store(id)]
    pub id: Uuid,
    pub user_id: Uuid,
}

fn main() {
    assert_eq!(Note::INDEX, "note");
    assert_eq!(Note::FIELDS, &[("id", "keyword"), ("user_id", "keyword")]);
    let _store: NoteStore = Note::store();
    let _new = NewNote { id: None };
}
