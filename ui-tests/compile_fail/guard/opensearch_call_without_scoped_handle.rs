// Rule: a generated OpenSearch data method needs a Scoped handle; the client alone reaches no tenant.
use serde::{Deserialize, Serialize};
use tenant_store::opensearch::Client;
use tenant_store::tenant_store;
use uuid::Uuid;

#[tenant_store(backend = "opensearch", scope = "org_id", index = "docs")]
#[derive(Serialize, Deserialize)]
pub struct Doc {
    #[tenant_store(id)]
    pub id: String,
    pub org_id: Uuid,
    #[tenant_store(text)]
    pub body: String,
}

async fn f(client: &Client) {
    let _ = Doc::store().search(client, "x", 10, None).await;
}

fn main() {}
