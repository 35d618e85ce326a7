// Rule: the entities a query is declared for share its scope.
use serde::{Deserialize, Serialize};
use tenant_store::{cypher, tenant_store};
use uuid::Uuid;

#[tenant_store(backend = "neo4j", scope = "user_id", label = "NOTE")]
#[derive(Serialize, Deserialize)]
pub struct Note {
    #[tenant_store(id)]
    pub id: String,
    pub user_id: Uuid,
}

fn main() {
    let _ = cypher!(Note; "MATCH (n:NOTE {org_id: $org_id}) RETURN n");
}
