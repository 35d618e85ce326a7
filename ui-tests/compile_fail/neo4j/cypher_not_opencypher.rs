// Rule: what the openCypher grammar does not parse (`CALL { }`, `LOAD CSV`, `USE`) is refused.
use tenant_store::cypher;

include!("support/symbol.rs");

fn main() {
    let _ = cypher!(Symbol; "MATCH (a:CODE_SYMBOL {org_id: $org_id}) CALL { MATCH (b) RETURN b } RETURN b");
}
