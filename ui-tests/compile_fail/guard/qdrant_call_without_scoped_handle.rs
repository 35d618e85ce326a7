// Rule: a generated Qdrant data method needs a Scoped handle; the client alone reaches no tenant.
use serde::{Deserialize, Serialize};
use tenant_store::qdrant::Client;
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "qdrant", scope = "org_id", model = "minilm", dims = 4)]
#[derive(Serialize, Deserialize)]
pub struct Chunk {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub text: String,
}

async fn f(client: &Client) {
    let _ = Chunk::store().search(client, &[0.0; 4], 10, None).await;
}

fn main() {}
