// Rule: a transaction handle cannot be used after its guard ended.
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

async fn f(db: &Db, p: &tenant_store::Principal) {
    let mut tx = db.begin(p).await.unwrap();
    tx.commit().await.unwrap();
    let _ = Note::store().get(&mut tx, Uuid::new_v4()).await;
}

fn main() {}
