// Rule: a bare `(var)` must re-use a variable bound by a tenant-checked pattern.
use tenant_store::cypher;

fn main() {
    let _ = cypher!("MATCH (a:CODE_SYMBOL {org_id: $org_id}) MATCH (a)-->(x) RETURN x");
}
