// Rule: variables die at `WITH` unless projected.
use tenant_store::cypher;

include!("support/symbol.rs");

fn main() {
    let _ = cypher!(Symbol; "MATCH (n:CODE_SYMBOL {org_id: $org_id}) WITH count(n) AS c MATCH (n) RETURN n");
}
