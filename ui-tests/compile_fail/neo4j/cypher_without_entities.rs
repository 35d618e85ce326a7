// Rule: the query names the entities it reads: `cypher!(Symbol; "...")`.
use tenant_store::cypher;

include!("support/symbol.rs");

fn main() {
    let _ = cypher!("MATCH (n:CODE_SYMBOL {org_id: $org_id}) RETURN n");
}
