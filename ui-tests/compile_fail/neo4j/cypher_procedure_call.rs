// Rule: procedure calls are refused: they can return any node.
use tenant_store::cypher;

include!("support/symbol.rs");

fn main() {
    let _ = cypher!(Symbol; "MATCH (a:CODE_SYMBOL {org_id: $org_id}) CALL db.labels() YIELD label RETURN label");
}
