// Rule: a backquoted name holds only letters, digits and `_` (escapes read differently by
// different Cypher lexers).
use tenant_store::cypher;

include!("support/symbol.rs");

fn main() {
    let _ = cypher!(Symbol; r"MATCH (n:CODE_SYMBOL {org_id: $org_id}) WITH n MATCH (`\u006e`) RETURN n");
}
