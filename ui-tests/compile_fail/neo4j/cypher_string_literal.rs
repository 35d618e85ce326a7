// Rule: values travel as parameters; a string literal in checked Cypher is refused.
use tenant_store::cypher;

include!("support/symbol.rs");

fn main() {
    let _ = cypher!(Symbol; "MATCH (a:CODE_SYMBOL {org_id: $org_id, name: 'main'}) RETURN a");
}
