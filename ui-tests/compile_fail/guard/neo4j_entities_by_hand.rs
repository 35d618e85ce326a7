// Rule: the entities a checked query is declared for are `GraphEntity` types, named as a tuple;
// `Entities` is sealed, so no hand-written impl can declare a label under another scope (here an
// org-scoped label as user-scoped, to query `CODE_SYMBOL` nodes by a `user_id` data field).
use tenant_store::Scope;
use tenant_store::neo4j::{CheckedCypher, Entities};

struct Lying;

impl Entities for Lying {
    const LABELS: &'static [(&'static str, Scope)] = &[("CODE_SYMBOL", Scope::UserId)];
}

fn main() {
    let _ = CheckedCypher::new::<Lying>("MATCH (n:CODE_SYMBOL {user_id: $user_id}) RETURN n");
}
