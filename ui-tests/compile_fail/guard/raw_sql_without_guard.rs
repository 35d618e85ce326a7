// Rule: hand-written SQL goes through TenantTx's executor; the Db is not one.
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

async fn f(db: &mut Db) {
    let _ = tenant_store::postgres::TenantTx::fetch_all(db, sqlx::query("SELECT * FROM note")).await;
}

fn main() {}
