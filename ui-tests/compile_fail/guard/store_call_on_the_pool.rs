// Rule: a `&mut Db` is not a tenant guard either; a store method needs `&mut TenantTx` or
// `&mut TenantDb`, both made from a `Principal`.
use tenant_store::postgres::Db;
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "user_id")]
pub struct Note {
    #[tenant_store(id)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub body: String,
}

async fn f(db: &Db) {
    let mut db = db.clone();
    let _ = Note::store().get(&mut db, Uuid::new_v4()).await;
}

fn main() {}
