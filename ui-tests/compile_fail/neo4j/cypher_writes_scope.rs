// Rule: no statement writes the scope property (`SET n.org_id`, `SET n = ...`, `REMOVE n.org_id`).
use tenant_store::cypher;

include!("support/symbol.rs");

fn main() {
    let _ = cypher!(Symbol; "MATCH (n:CODE_SYMBOL {org_id: $org_id}) SET n.org_id = $other");
}
