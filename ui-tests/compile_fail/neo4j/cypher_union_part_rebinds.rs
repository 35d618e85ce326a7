// Rule: each `UNION` part is checked on its own: a variable bound in one part is not bound in the next.
use tenant_store::cypher;

include!("support/symbol.rs");

fn main() {
    let _ = cypher!(Symbol; "MATCH (n:CODE_SYMBOL {org_id: $org_id}) RETURN n UNION MATCH (n) RETURN n");
}
