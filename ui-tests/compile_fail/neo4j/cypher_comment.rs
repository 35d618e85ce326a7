// Rule: a pattern inside a comment binds nothing (the parser, not the text, finds patterns).
use tenant_store::cypher;

include!("support/symbol.rs");

fn main() {
    let _ = cypher!(Symbol; "MATCH /* (n:CODE_SYMBOL {org_id: $org_id}) */ (n) RETURN n, $org_id");
}
