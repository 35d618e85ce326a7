// Rule: a generated store method needs a TenantTx; the pool alone does not reach tenant data.
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

async fn f(db: &Db) {
    let _ = Note::store().get(db, Uuid::new_v4()).await;
}

fn main() {}
