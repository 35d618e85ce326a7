// Rule: a variable-length relationship needs a bound path and `all(x IN nodes(p) WHERE x.org_id = $org_id)`.
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
    let _ = cypher!(Symbol; "MATCH p = (a:CODE_SYMBOL {org_id: $org_id})-[*]-(b:CODE_SYMBOL {org_id: $org_id}) RETURN p");
}
