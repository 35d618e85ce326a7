// Rule: a bare `(x)` must re-use a variable bound at that point.
use tenant_store::cypher;

include!("support/symbol.rs");

fn main() {
    let _ = cypher!(Symbol; "MATCH (a:CODE_SYMBOL {org_id: $org_id}) MATCH (a)-->(x) RETURN x");
}
