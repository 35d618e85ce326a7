// The smallest Valkey entity: an id, the scope field and the session field.
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use tenant_store::valkey::ValkeyEntity;
use uuid::Uuid;

#[tenant_store(backend = "valkey", scope = "org_id")]
#[derive(Serialize, Deserialize)]
pub struct Note {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    #[tenant_store(session)]
    pub session_id: String,
}

fn main() {
    assert_eq!(Note::PREFIX, "note");
    assert!(Note::DEFAULT_TTL.is_none());
    let _store: NoteStore = Note::store();
    let _new = NewNote { id: None, session_id: "s".into() };
}
