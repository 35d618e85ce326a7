// Rule: `SET n += $map` may carry the scope; it needs a literal map without it, or a restore.
use tenant_store::cypher;

include!("support/symbol.rs");

fn main() {
    let _ = cypher!(Symbol; "MATCH (n:CODE_SYMBOL {org_id: $org_id}) SET n += $props");
}
