// Rule: only functions from the allow-list: namespaced and user functions can run queries.
use tenant_store::cypher;

include!("support/symbol.rs");

fn main() {
    let _ = cypher!(Symbol; "MATCH (n:CODE_SYMBOL {org_id: $org_id}) RETURN apoc.cypher.runFirstColumnSingle($q, {}) AS x");
}
