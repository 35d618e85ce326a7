// Rule: a `CheckedCypher` cannot be built by hand: its fields are private, and its only
// constructors run the tenant check.
use tenant_store::neo4j::CheckedCypher;

fn main() {
    let _ = CheckedCypher { text: "MATCH (n) RETURN n", scope: Ok(tenant_store::Scope::OrgId) };
}
