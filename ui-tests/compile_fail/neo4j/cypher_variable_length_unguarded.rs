// Rule: a variable-length relationship needs a bound path and `all(x IN nodes(p) WHERE x.org_id = $org_id)`.
use tenant_store::cypher;

include!("support/symbol.rs");

fn main() {
    let _ = cypher!(Symbol; "MATCH p = (a:CODE_SYMBOL {org_id: $org_id})-[*]-(b:CODE_SYMBOL {org_id: $org_id}) RETURN p");
}
