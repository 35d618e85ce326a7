// Rule: a TenantTx cannot outlive the Db it came from.
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

async fn f(p: &tenant_store::Principal) -> tenant_store::postgres::TenantTx<'static> {
    let key = tenant_store::postgres::SigningKey::new("k", vec![0; 32]).unwrap();
    let db = Db::connect("postgres://", key).await.unwrap();
    db.begin(p).await.unwrap()
}

fn main() {}
