// Rule: a checked query is printable ASCII and white space (other characters lex differently).
use tenant_store::cypher;

include!("support/symbol.rs");

fn main() {
    let _ = cypher!(Symbol; "MATCH (n:CODE_SYMBOL {org_id: $org_id}) RETURN n\u{2028}");
}
