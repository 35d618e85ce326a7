// Rule: a parameter is `$name`, never backquoted, so the tenant parameter has one spelling.
use tenant_store::cypher;

include!("support/symbol.rs");

fn main() {
    let _ = cypher!(Symbol; "MATCH (n:CODE_SYMBOL {org_id: $`org_id`}) RETURN n");
}
