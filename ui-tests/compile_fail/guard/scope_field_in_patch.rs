// Rule: an update cannot change the scope: {Entity}Patch has no scope field.
use tenant_store::postgres::Db;
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "user_id")]
pub struct Note {
    #[tenant_store(id)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub body: String,
    #[tenant_store(version)]
    pub version: i64,
}

fn f() -> NotePatch {
    NotePatch { user_id: Some(Uuid::new_v4()), ..Default::default() }
}

fn main() {}
