// The smallest PostgreSQL entity: an id and the scope field.
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "org_id")]
pub struct Tag {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
}

fn main() {
    let _store: TagStore = Tag::store();
    let _new = NewTag { id: None };
}
