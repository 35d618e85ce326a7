// Rule: the tenant predicate binds the tenant parameter itself, not another one.
use tenant_store::cypher;

include!("support/symbol.rs");

fn main() {
    let _ = cypher!(Symbol; "MATCH (a:CODE_SYMBOL {org_id: $other}) RETURN a, $org_id");
}
