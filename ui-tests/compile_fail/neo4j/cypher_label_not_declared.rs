// Rule: every label in the query is the label of an entity the query is declared for.
use tenant_store::cypher;

include!("support/symbol.rs");

fn main() {
    let _ = cypher!(Symbol; "MATCH (n:CODE_REPO {org_id: $org_id}) RETURN n");
}
