// Rule: a checked query holds no comment (Cypher lexers disagree on where a nested one ends).
use tenant_store::cypher;

include!("support/symbol.rs");

fn main() {
    let _ = cypher!(Symbol; "MATCH /* (n:CODE_SYMBOL {org_id: $org_id}) */ (n) RETURN n, $org_id");
}
