// Rule: a generated Valkey method needs a Scoped handle; the client alone does not reach tenant keys.
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

async fn f(kv: &Client) {
    let _ = Ep::store().get(kv, "s", &"id".to_string()).await;
}

fn main() {}
