// Rule: every node pattern of checked Cypher carries `org_id: $org_id`.
use tenant_store::cypher;

fn main() {
    let _ = cypher!("MATCH (a:CODE_SYMBOL {org_id: $org_id})-[:CODE_DEPENDS_ON]->(b:CODE_SYMBOL) RETURN b");
}
