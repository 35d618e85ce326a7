// Rule: the scope of checked Cypher is `org_id` or `user_id`.
use tenant_store::cypher;

fn main() {
    let _ = cypher!(team_id, "MATCH (a {team_id: $team_id}) RETURN a");
}
