// Rule: the tenant predicate binds the tenant parameter itself, not another one.
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
    let _ = cypher!(Symbol; "MATCH (a:CODE_SYMBOL {org_id: $other}) RETURN a, $org_id");
}
