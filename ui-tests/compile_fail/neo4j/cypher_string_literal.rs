// Rule: checked Cypher takes values as parameters, never literals.
use tenant_store::cypher;

fn main() {
    let _ = cypher!("MATCH (a:CODE_SYMBOL {org_id: $org_id, name: 'main'}) RETURN a");
}
