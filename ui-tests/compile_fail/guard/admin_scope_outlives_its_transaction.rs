// Rule: a tenant entered through an admin scope cannot be used after the admin transaction ends.
use tenant_store::postgres::Db;
use tenant_store::tenant_store;
use tenant_store::Principal;
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "user_id")]
pub struct Note {
    #[tenant_store(id)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub body: String,
}

async fn f(db: &Db, operator: &Principal, customer: &Principal) {
    let mut admin = db.admin(operator, "support ticket").await.unwrap();
    let tx = admin.enter(customer).await.unwrap();
    admin.commit().await.unwrap();
    let _ = Note::store().get(tx, Uuid::nil()).await;
}

fn main() {}
