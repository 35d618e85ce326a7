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

/// Accepted queries over both labels, each using parameters [`attack`] binds.
const BASES: &[&str] = &[
    "MATCH (n:CODE_SYMBOL {org_id: $org_id}) RETURN n.id AS id, n.name AS name",
    "MATCH (n:CODE_SYMBOL {org_id: $org_id, id: $mine}) SET n.name = $secret RETURN n.name AS name",
    "MATCH (a:CODE_SYMBOL {org_id: $org_id})-[:CODE_DEPENDS_ON]->(b:CODE_SYMBOL {org_id: $org_id}) RETURN b.name AS name",
    "MATCH (a:CODE_SYMBOL {org_id: $org_id}) WHERE EXISTS { MATCH (a)-->(:CODE_SYMBOL {org_id: $org_id}) } RETURN a.id AS id",
    "MATCH (r:CODE_REPO {org_id: $org_id}) RETURN r.url AS url UNION MATCH (r:CODE_REPO {org_id: $org_id}) RETURN r.url AS url",
    "CREATE (n:CODE_SYMBOL {org_id: $org_id, id: $fresh, name: $secret, kind: $key, file: $key}) RETURN n.id AS id",
    "MATCH (n:CODE_SYMBOL {org_id: $org_id}) WITH n MATCH (n)-[r]->(m:CODE_SYMBOL {org_id: $org_id}) RETURN count(r) AS c",
];

/// Lexemes two Cypher readers may disagree on (comments, escapes, quotes, Unicode spaces and
/// line breaks, backquoted names and parameters), and pieces of real attacks.
const FRAGMENTS: &[&str] = &[
    " ",
    "\t",
    "\n",
    "\r\n",
    "\u{a0}",
    "\u{2028}",
    "\u{feff}",
    "/* */",
    "/* /* */",
    "*/",
    "//",
    "// x\n",
    "`",
    "\\`",
    "\\u0060",
    "\\u005f",
    "'",
    "\"",
    "\\",
    "$",
    "`org_id`",
    "$`org_id`",
    "$org\\u005fid",
    "$other",
    " OR true",
    ")",
    "(",
    "}",
    "{",
    "-->(m)",
    " UNION MATCH (m) RETURN m",
    "org_id: $other, ",
    ";",
    "\u{0}",
    " OR $org_id = $other",
    ", (m:CODE_SYMBOL)",
    "-[:CODE_DEPENDS_ON]->(m:CODE_SYMBOL {org_id: $other})",
    " WITH *",
    "OPTIONAL ",
    "DETACH ",
    // The three lexemes of the catalogue's last group, as pieces that fit many places.
    " /* /* */ MATCH (m:CODE_SYMBOL) WITH m AS n // */\n",
    "`\\u006e`",
    "$`org\\u005fid`",
    " WITH n MATCH (`\\u006e`) ",
];

/// The differential test behind the checker's lexical gate: accepted queries with the lexemes
/// above inserted at random places. Whatever `CheckedCypher::new` (the entry point every
/// `cypher!` query also passes) accepts is run on the Bolt server as the attacker and must not
/// read, change or create anything of the victim's org. The checker and the server read the
/// same text; an accepted mutant the server read differently would show here as a leak.
#[test]
fn what_the_checker_accepts_the_server_keeps_in_the_org() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    const CASES: u32 = 20_000;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _turn = rt.block_on(tenant_store_tests::graph_turn());
    let g = rt.block_on(driver());
    let o = rt.block_on(seed(&g));
    let accepted = std::cell::Cell::new(0u32);
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let insertion = (
        any::<prop::sample::Index>(),
        prop::sample::select(FRAGMENTS),
    );
    let strategy = (
        prop::sample::select(BASES),
        prop::collection::vec(insertion, 1..=3),
    );
    let result = runner.run(&strategy, |(base, inserts)| {
        let mut text = base.to_owned();
        for (at, fragment) in inserts {
            let bounds: Vec<usize> = (0..=text.len())
                .filter(|i| text.is_char_boundary(*i))
                .collect();
            text.insert_str(bounds[at.index(bounds.len())], fragment);
        }
        let text: &'static str = Box::leak(text.into_boxed_str());
        if CheckedCypher::new::<(Symbol, Repo)>(text).is_err() {
            return Ok(());
        }
        accepted.set(accepted.get() + 1);
        rt.block_on(async {
            // The victim's nodes: what the attacker's own writes (which may hold any value the
            // attacker binds, the victim's org id included) never add to.
            let victims = async || {
                let q = query("MATCH (n) WHERE n.org_id = $v RETURN n")
                    .param("v", o.victim.to_string());
                let mut stream = g.execute(q).await.expect("the victim's nodes");
                let mut nodes = Vec::new();
                while let Some(row) = stream.next().await.expect("a victim node") {
                    let n: neo4rs::Node = row.get("n").expect("a node");
                    let mut props: Vec<String> = n
                        .keys()
                        .iter()
                        .map(|k| format!("{k}={:?}", n.get::<BoltType>(k).ok()))
                        .collect();
                    props.sort();
                    nodes.push(format!("{:?} {}", n.labels(), props.join(" ")));
                }
                nodes.sort();
                nodes
            };
            let before = victims().await;
            let rows = run(&g, attack(text, &o, "attacker-value")).await;
            let victim_node = format!(
                "BoltString {{ value: \"org_id\" }}: String(BoltString {{ value: \"{}\" }})",
                o.victim
            );
            let leaked = rows.as_ref().is_ok_and(|rows| {
                rows.iter()
                    .any(|r| r.contains(&o.secret) || r.contains(&victim_node))
            });
            prop_assert!(!leaked, "{text:?} read the victim's data: {rows:?}");
            prop_assert_eq!(victims().await, before, "{:?} changed the victim", text);
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // Whitespace at a token boundary is accepted: a run that accepted nothing proved nothing.
    let accepted = accepted.get();
    assert!(
        accepted >= CASES / 100,
        "only {accepted} of {CASES} mutants were accepted"
    );
    println!("{accepted} of {CASES} mutants accepted, each kept within the org on the server");
}
