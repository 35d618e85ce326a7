// Rule: every node pattern of checked Cypher carries `org_id: $org_id` (or re-uses a bound variable).
use tenant_store::cypher;

include!("support/symbol.rs");

fn main() {
    let _ = cypher!(Symbol; "MATCH (a:CODE_SYMBOL {org_id: $org_id})-[:CODE_DEPENDS_ON]->(b:CODE_SYMBOL) RETURN b");
}
