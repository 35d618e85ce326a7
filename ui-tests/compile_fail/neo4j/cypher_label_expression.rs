// Rule: only a plain label on a node: no `:A|B`, `:!A`, `:%`.
use tenant_store::cypher;

include!("support/symbol.rs");

fn main() {
    let _ = cypher!(Symbol; "MATCH (n:CODE_SYMBOL|CODE_REPO) RETURN n, $org_id");
}
