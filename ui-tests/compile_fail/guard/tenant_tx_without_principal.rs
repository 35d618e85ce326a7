// Rule: a TenantTx comes only from Db::begin(&Principal): bare ids are not a principal.
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
    let _ = db.begin(&Uuid::new_v4()).await;
}

fn main() {}
