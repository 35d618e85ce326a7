//! The escape catalogue (`cypher/tests/escapes.cypher`) against the Bolt server: each query run
//! *unchecked*, straight through the driver, does what its annotation says (most leak, change
//! or probe the other org's data: the catalogue holds real attacks, not strawmen), and the same text
//! through the runtime's lowest-level entry point (`CheckedCypher::new`, which every
//! `cypher!` query also passes) is refused before anything is sent, leaving the victim intact.

use neo4rs::{BoltType, Graph, query};
use tenant_store::Error;
use tenant_store::neo4j::CheckedCypher;
use tenant_store_examples::code_graph::{Repo, Symbol};
use uuid::Uuid;

include!("../../cypher/tests/escapes/catalogue.rs");

async fn driver() -> Graph {
    tenant_store_tests::neo4j_driver()
}

async fn run(g: &Graph, q: neo4rs::Query) -> Result<Vec<String>, neo4rs::Error> {
    let mut stream = g.execute(q).await?;
    let mut rows = Vec::new();
    while let Some(row) = stream.next().await? {
        let mut keys: Vec<&str> = row.keys().iter().map(|k| k.value.as_str()).collect();
        keys.sort_unstable();
        let cols: Vec<String> = keys
            .iter()
            .map(|k| format!("{k}={:?}", row.get::<BoltType>(k).ok()))
            .collect();
        rows.push(cols.join(" | "));
    }
    Ok(rows)
}

/// Two fresh orgs: the victim's symbol and repo, the attacker's two symbols, and edges
/// a1 -> v -> a2 (a cross-tenant edge, as a half-finished `move_tenant` of another label leaves).
struct Orgs {
    attacker: Uuid,
    victim: Uuid,
    victim_id: String,
    secret: String,
    mine: String,
}

async fn seed(g: &Graph) -> Orgs {
    let (attacker, victim) = (Uuid::new_v4(), Uuid::new_v4());
    let o = Orgs {
        attacker,
        victim,
        victim_id: format!("v-{victim}"),
        secret: format!("victim-secret-{victim}"),
        mine: format!("a-{attacker}"),
    };
    run(
        g,
        query(
            "CREATE (v:CODE_SYMBOL {org_id: $v, id: $vid, name: $secret, kind: 'fn', file: 'v.rs'}) \
             CREATE (r:CODE_REPO {org_id: $v, id: $vid, url: $secret, default_branch: 'main'}) \
             CREATE (a1:CODE_SYMBOL {org_id: $a, id: $mine, name: 'mine', kind: 'fn', file: 'a.rs'}) \
             CREATE (a2:CODE_SYMBOL {org_id: $a, id: $mine2, name: 'mine2', kind: 'fn', file: 'a.rs'}) \
             CREATE (a1)-[:CODE_DEPENDS_ON]->(v)-[:CODE_DEPENDS_ON]->(a2) RETURN 1 AS ok",
        )
        .param("v", victim.to_string())
        .param("a", attacker.to_string())
        .param("vid", o.victim_id.clone())
        .param("secret", o.secret.clone())
        .param("mine", o.mine.clone())
        .param("mine2", format!("{}-2", o.mine)),
    )
    .await
    .expect("seed");
    o
}

/// Everything that carries the victim's org or the victim's node id, as the trusted side sees it.
async fn victim_view(g: &Graph, o: &Orgs) -> Vec<String> {
    let mut rows = run(
        g,
        query(
            "MATCH (n) WHERE n.org_id = $v OR n.id = $vid \
             RETURN labels(n) AS l, n.org_id AS o, n.id AS id, n.name AS name, n.url AS url ORDER BY id, name",
        )
        .param("v", o.victim.to_string())
        .param("vid", o.victim_id.clone()),
    )
    .await
    .expect("victim view");
    rows.sort();
    rows
}

fn attack(text: &str, o: &Orgs, secret: &str) -> neo4rs::Query {
    let mut props = std::collections::HashMap::new();
    props.insert("org_id".to_owned(), o.victim.to_string());
    query(text)
        .param("org_id", o.attacker.to_string())
        .param("other", o.victim.to_string())
        .param("id", o.victim_id.clone())
        .param("secret", secret)
        .param("mine", o.mine.clone())
        .param("fresh", format!("fresh-{}", Uuid::new_v4()))
        .param("key", "org_id")
        .param("props", props)
        // What `TenantQuery::param` let a caller set: a name the checker decoded to `org_id`.
        .param("org\\u005fid", o.victim.to_string())
}

#[tokio::test]
async fn every_escape_does_harm_unchecked_and_is_refused_checked() {
    let _turn = tenant_store_tests::graph_turn().await;
    let g = driver().await;
    let mut table = Vec::new();
    let mut wrong = Vec::new();
    for (group, expected, text) in catalogue() {
        // Unchecked: what the attack does on this server.
        let o = seed(&g).await;
        let before = victim_view(&g, &o).await;
        let raw = run(&g, attack(&text, &o, &o.secret)).await;
        let after = victim_view(&g, &o).await;
        let mut outcome = match &raw {
            Err(_) => "fails",
            Ok(rows)
                if rows
                    .iter()
                    .any(|r| r.contains(&o.secret) || r.contains(&o.victim.to_string())) =>
            {
                "leaks"
            }
            Ok(_) if before != after => "leaks",
            Ok(_) => "contained",
        };
        // An answer that depends on whether the victim holds `$secret` is an existence oracle.
        if outcome == "contained" && text.contains("$secret") {
            let guess = run(&g, attack(&text, &o, "no-such-name")).await;
            if format!("{guess:?}") != format!("{raw:?}") {
                outcome = "oracle";
            }
        }
        table.push(format!("{outcome:9} {group}: {text}"));
        if outcome != expected {
            wrong.push(format!(
                "expected {expected}, got {outcome} ({raw:?}): {text}"
            ));
        }

        // Checked, as the attacker: refused before any request; the victim is untouched.
        let o = seed(&g).await;
        let before = victim_view(&g, &o).await;
        let text: &'static str = Box::leak(text.into_boxed_str());
        match CheckedCypher::new::<(Symbol, Repo)>(text) {
            Err(Error::InvalidInput(m)) => assert!(!m.is_empty()),
            other => panic!("the checked entry point accepted {text}: {other:?}"),
        }
        assert_eq!(victim_view(&g, &o).await, before, "{text}");
    }
    println!("{}", table.join("\n"));
    assert!(
        wrong.is_empty(),
        "annotations disagree with the server:\n{}",
        wrong.join("\n")
    );
    assert!(table.iter().filter(|l| l.starts_with("leaks")).count() >= 30);
}

/// The tenant parameter has one spelling, and a caller can set it in none: `TenantQuery::param`
/// refuses both tenant parameters and any key that is not a plain name (the spelling a checked
/// query's `$name` has), before anything is sent.
#[tokio::test]
async fn a_caller_cannot_bind_a_tenant_parameter_in_any_spelling() {
    let g = tenant_store_tests::graph().await;
    let me = tenant_store_tests::tenant();
    for key in [
        "org_id",
        "user_id",
        "org\\u005fid",
        "`org_id`",
        "org_id ",
        "1x",
        "",
    ] {
        let r = g
            .scoped(&me)
            .query(tenant_store::cypher!(Symbol; "MATCH (n:CODE_SYMBOL {org_id: $org_id}) RETURN n.id AS id"))
            .param(key, Uuid::new_v4().to_string())
            .rows()
            .await;
        assert!(matches!(r, Err(Error::InvalidInput(_))), "{key:?}: {r:?}");
    }
}
