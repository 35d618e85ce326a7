// Rule: each `UNION` part is checked on its own: a variable bound in one part is not bound in the next.
use serde::{Deserialize, Serialize};
use tenant_store::{cypher, tenant_store};
use uuid::Uuid;

#[tenant_store(backend = "neo4j", scope = "org_id", label = "CODE_SYMBOL")]
#[derive(Serialize, Deserialize)]
pub struct Symbol {
    #[tenant_store(id)]
    pub id: String,
    pub org_id: Uuid,
}

fn main() {
    let _ = cypher!(Symbol; "MATCH (n:CODE_SYMBOL {org_id: $org_id}) RETURN n UNION MATCH (n) RETURN n");
}
