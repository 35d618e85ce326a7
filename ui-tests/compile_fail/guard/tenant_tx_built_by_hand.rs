// Rule: a TenantTx cannot be built by hand.
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

fn f(user_id: Uuid, org_id: Uuid) {
    let _ = tenant_store::postgres::TenantTx {
        user_id,
        org_id,
        aborted: false,
    };
}

fn main() {}
