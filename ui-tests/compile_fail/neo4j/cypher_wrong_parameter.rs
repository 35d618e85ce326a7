// Rule: the tenant predicate compares with the tenant parameter, not another.
use tenant_store::cypher;

fn main() {
    let _ = cypher!("MATCH (a:CODE_SYMBOL {org_id: $other}) RETURN a");
}
