// Rule: a Scoped handle comes only from Client::scoped(&Principal).
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use tenant_store::valkey::Client;
use uuid::Uuid;

#[tenant_store(backend = "valkey", scope = "user_id", prefix = "ep", ttl = 60)]
#[derive(Serialize, Deserialize)]
pub struct Ep {
    #[tenant_store(id)]
    pub id: String,
    pub user_id: Uuid,
    #[tenant_store(session)]
    pub session_id: String,
    pub body: String,
}

fn f(kv: &Client) {
    let _ = kv.scoped(&Uuid::new_v4());
}

fn main() {}
