use super::*;

include!("../tests/escapes/catalogue.rs");

fn errors(q: &str) -> Vec<String> {
    match check(q) {
        Ok(c) => panic!("accepted: {q} ({c:?})"),
        Err(v) => v.into_iter().map(|v| v.message).collect(),
    }
}

fn first_error(q: &str) -> String {
    errors(q).remove(0)
}

#[test]
fn every_escape_in_the_catalogue_is_rejected() {
    let all = catalogue();
    assert!(all.len() >= 40, "{} entries", all.len());
    for (group, _, q) in &all {
        let e = errors(q);
        assert!(!e.is_empty(), "{group}: {q}");
    }
}

#[test]
fn ordinary_queries_pass() {
    for q in [
        // The examples' dependency queries.
        "MATCH (a:CODE_SYMBOL {org_id: $org_id, id: $from}), (b:CODE_SYMBOL {org_id: $org_id, id: $to}) \
         MERGE (a)-[r:CODE_DEPENDS_ON]->(b) RETURN count(r) AS n",
        "MATCH p = (a:CODE_SYMBOL {org_id: $org_id, id: $id})-[:CODE_DEPENDS_ON*1..10]->(b:CODE_SYMBOL {org_id: $org_id}) \
         WHERE length(p) <= $depth AND all(n IN nodes(p) WHERE n.org_id = $org_id) RETURN DISTINCT b ORDER BY b.id",
        // Re-use after WITH, UNION parts each scoped, subqueries importing what they use.
        "MATCH (a:X {org_id: $org_id}) WITH a MATCH (a)-[:R]->(b:X {org_id: $org_id}) RETURN b",
        "MATCH (n:X {org_id: $org_id}) RETURN n.id AS id UNION MATCH (n:Y {org_id: $org_id}) RETURN n.id AS id",
        "MATCH (a:X {org_id: $org_id}) WHERE EXISTS { MATCH (a)-->(:X {org_id: $org_id}) } RETURN a",
        "MATCH (a:X {org_id: $org_id}) RETURN [(a)-->(b:X {org_id: $org_id}) | b.id] AS ids",
        "MATCH (`a`:`X` {`org_id`: $org_id}) RETURN a",
        // Writes that keep the tenant.
        "CREATE (n:NOTE {user_id: $user_id, id: $id, text: $text}) RETURN n",
        "MATCH (n:X {org_id: $org_id, id: $id}) SET n.name = $name, n += {kind: $kind} RETURN n",
        "MATCH (n:X {org_id: $org_id, id: $id}) SET n += $props, n.org_id = $org_id RETURN n",
        "MATCH (n:X {org_id: $org_id, id: $id}) REMOVE n.name DETACH DELETE n",
        "UNWIND $ids AS id MATCH (n:X {org_id: $org_id, id: id}) RETURN collect(n) AS ns",
    ] {
        assert_eq!(check(q).map(|c| c.labels.is_empty()), Ok(false), "{q}");
    }
}

#[test]
fn the_scope_is_the_one_tenant_parameter_used() {
    assert_eq!(
        check("MATCH (n:N {user_id: $user_id}) RETURN n")
            .unwrap()
            .scope,
        "user_id"
    );
    assert_eq!(
        check("MATCH (n:A {org_id: $org_id})-->(m:B {org_id: $org_id}) RETURN n, m").unwrap(),
        Checked {
            scope: "org_id",
            labels: vec!["A".into(), "B".into()]
        }
    );
    assert!(first_error("MATCH (n:N) RETURN n").contains("never uses the tenant parameter"));
    assert!(
        first_error("MATCH (n:N {org_id: $org_id}), (m:M {user_id: $user_id}) RETURN n")
            .contains("both `$org_id` and `$user_id`")
    );
    // A parameter in a comment is not a use; comments are refused before that.
    assert!(
        first_error("MATCH (n:N) /* $org_id */ RETURN n").contains("comments are not accepted")
    );
}

#[test]
fn each_rule_names_its_construct() {
    let cases = [
        (
            "MATCH (n:X {org_id: $org_id}) RETURN n UNION MATCH (n) RETURN n",
            "`n` in node pattern `(n)` is not bound here",
        ),
        (
            "MATCH (n:X {org_id: $org_id}) WITH 1 AS x MATCH (n) RETURN n",
            "carry it (`WITH n, ...`)",
        ),
        (
            "MATCH (n:X {org_id: $org_id}) WITH 1 AS x MATCH (n:X) RETURN n",
            "is not bound here",
        ),
        (
            "MATCH (n:X) WHERE n.org_id = $org_id RETURN n",
            "in its property map (a `WHERE` condition does not count)",
        ),
        ("MATCH (n {org_id: $org_id}) RETURN n", "without a label"),
        (
            "MATCH (n:X|Y {org_id: $org_id}) RETURN n",
            "the label expression `X|Y`",
        ),
        (
            "MATCH (n:X {org_id: $org_id, org_id: $x}) RETURN n",
            "a key written twice",
        ),
        (
            "MATCH (n:X {org_id: $org_id}) SET n.org_id = $x",
            "writes the tenant property `org_id`",
        ),
        (
            "MATCH (n:X {org_id: $org_id}) SET n = $p",
            "replaces every property",
        ),
        (
            "MATCH (n:X {org_id: $org_id}) SET n += $p",
            "may overwrite the tenant property",
        ),
        (
            "MATCH (n:X {org_id: $org_id}) REMOVE n.org_id",
            "`REMOVE` of `n.org_id` writes the tenant",
        ),
        ("MATCH (n:X {org_id: $org_id}) SET n:Y", "changing labels"),
        (
            "MATCH (n:X {org_id: $org_id}) SET n[$k] = 1",
            "write `variable.property`",
        ),
        (
            "CALL db.labels() YIELD label RETURN label, $org_id",
            "the procedure call",
        ),
        (
            "MATCH (n:X {org_id: $org_id}) RETURN apoc.x(n)",
            "function `apoc.x` is not allowed",
        ),
        (
            "LOAD CSV FROM $u AS r RETURN r, $org_id",
            "not valid openCypher",
        ),
        (
            "MATCH (a:X {org_id: $org_id}) CALL { WITH a RETURN a AS b } RETURN b",
            "not valid openCypher",
        ),
        (
            "MATCH (n:X {org_id: $org_id}) FOREACH (x IN [1] | SET n.a = x)",
            "not valid openCypher",
        ),
        (
            "MATCH (n:X {org_id: $org_id, name: 'x'}) RETURN n",
            "string literals are not accepted",
        ),
        (
            "MATCH p = (a:X {org_id: $org_id})-[*]->(b:X {org_id: $org_id}) RETURN p",
            "variable-length",
        ),
        (
            "EXPLAIN MATCH (n:X {org_id: $org_id}) RETURN n",
            "not valid openCypher",
        ),
        (
            "MATCH (n:X {org_id: $org_id} RETURN n",
            "not valid openCypher",
        ),
    ];
    for (q, expected) in cases {
        let e = errors(q);
        assert!(e.iter().any(|m| m.contains(expected)), "{q}: {e:?}");
    }
}

#[test]
fn violations_point_at_the_offending_text() {
    let q = "MATCH (a:X {org_id: $org_id}) MATCH (b:X) RETURN b";
    let v = check(q).unwrap_err();
    assert_eq!(&q[v[0].span.clone()], "(b:X)");
}

#[test]
fn the_tenant_move_is_allowed_only_by_option() {
    let q = "MATCH (n:X {org_id: $org_id}) SET n.org_id = $to RETURN count(n) AS moved";
    let moving_to = |p| Options {
        scope_write_param: Some(p),
        ..Default::default()
    };
    assert!(check(q).is_err());
    assert!(check_with(q, moving_to("to")).is_ok());
    assert!(check_with(q, moving_to("other")).is_err());
}

/// The lexemes on which `open-cypher` and a server's lexer disagree (issue #30): each reached
/// another org's nodes through the check. The gate refuses them before anything parses.
#[test]
fn lexemes_two_lexers_read_differently_are_refused() {
    let cases = [
        (
            "MATCH (n:X {org_id: $org_id}) WITH n /* /* */ MATCH (m:X) WITH m AS n // */\nRETURN n",
            "comments are not accepted",
        ),
        (
            "MATCH (n:X {org_id: $org_id}) WITH n MATCH (`\\u006e`) RETURN n",
            "letters, digits",
        ),
        (
            "MATCH (`n\\`:X {org_id: $org_id}) RETURN 1",
            "letters, digits",
        ),
        ("MATCH (n:X {org_id: $org_id}) RETURN n\\u0041", "backslash"),
        (
            "MATCH (n:X {org_id: $`org_id`}) RETURN n",
            "never backquoted",
        ),
        (
            "MATCH (n:X {org_id: $org_id}) RETURN `n x`",
            "letters, digits",
        ),
        (
            "MATCH (n:X {org_id: $org_id}) RETURN `1n`",
            "letters, digits",
        ),
        ("MATCH (n:X {org_id: $org_id}) RETURN `n", "not closed"),
        ("MATCH (n:X {org_id: $org_id}) RETURN $ x", "`$name`"),
        ("MATCH (n:X {org_id: $org_id}) RETURN $0", "`$name`"),
        (
            "MATCH (n:X {org_id: $org_id}) RETURN \"x\"",
            "string literals",
        ),
        (
            "MATCH (n:X {org_id: $org_id}) RETURN n\u{2028}",
            "printable ASCII",
        ),
        (
            "MATCH (n:X {org_id: $org_id}) RETURN \u{0275}",
            "printable ASCII",
        ),
        (
            "MATCH (n:X {org_id: $org_id}) RETURN n\u{0}",
            "printable ASCII",
        ),
    ];
    for (q, expected) in cases {
        let e = errors(q);
        assert!(e.iter().any(|m| m.contains(expected)), "{q}: {e:?}");
    }
    // The plain forms of the same names pass.
    assert!(check("MATCH (`n`:`X` {`org_id`: $org_id}) RETURN n.`name` AS `name`").is_ok());
}

/// Parsing and checking recurse over nesting and operator chains; the gate bounds both, so the
/// largest accepted query checks on a 2 MiB stack (a tokio worker's, as `CheckedCypher::new`
/// runs) and one step past each limit is a clear error.
#[test]
fn work_is_bounded_at_the_limits_and_refused_past_them() {
    let chain = |terms: usize| {
        let sum = vec!["1"; terms].join("+");
        format!("MATCH (n:X {{org_id: $org_id}}) RETURN {sum} AS s")
    };
    let nested = |depth: usize, inner: &str| {
        let (open, close) = ("(".repeat(depth), ")".repeat(depth));
        format!("MATCH (n:X {{org_id: $org_id}}) RETURN {open}{inner}{close} AS s")
    };
    // Everything at once: the deepest nesting around the longest chain, and a chain of `AND`s.
    let deep_chain = nested(MAX_DEPTH, &vec!["1"; MAX_OPERATORS].join("+"));
    let ands = format!(
        "MATCH (n:X {{org_id: $org_id}}) WHERE {} RETURN n",
        vec!["n"; MAX_OPERATORS - 1].join(" AND ")
    );
    let at_limits = [
        chain(MAX_OPERATORS),
        nested(MAX_DEPTH, "1"),
        deep_chain,
        ands,
    ];
    let past = [
        (chain(MAX_OPERATORS + 2), "operators"),
        (nested(MAX_DEPTH + 1, "1"), "nest deeper"),
        (chain(20_000), "bytes long"),
    ];
    let run = move || {
        for q in &at_limits {
            assert!(check(q).is_ok(), "{}", &q[..80]);
        }
        for (q, expected) in &past {
            let e = errors(q);
            assert!(
                e.iter().any(|m| m.contains(expected)),
                "{}: {e:?}",
                &q[..80]
            );
        }
    };
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(run)
        .unwrap()
        .join()
        .expect("checked within a 2 MiB stack");
}

/// Issue #30, item 4: what a user met that was not an escape.
#[test]
fn ordinary_forms_pass_and_messages_name_what_is_wrong() {
    for q in [
        // The path guard written the other way round.
        "MATCH p = (a:X {org_id: $org_id})-[:R*1..3]->(b:X {org_id: $org_id}) \
         WHERE all(n IN nodes(p) WHERE $org_id = n.org_id) RETURN b",
        // Pure functions users reach for.
        "MATCH (n:X {org_id: $org_id}) RETURN elementId(n) AS e, randomUUID() AS u, \
         isEmpty(n.tags) AS t, toStringOrNull(n.size) AS s",
    ] {
        assert!(check(q).is_ok(), "{q}: {:?}", check(q));
    }
    let nonce = first_error("MATCH (n:X {org_id: $org_id}) SET n.__tenant_store_nonce = $x");
    assert!(
        nonce.contains("a property tenant-store keeps for itself")
            && !nonce.contains("tenant property"),
        "{nonce}"
    );
    let typo = first_error("MATCH (n:X {org_id: $org_id}) RETURN toUpperr(n.name) AS u");
    assert!(typo.contains("did you mean `toupper`"), "{typo}");
    let far = first_error("MATCH (n:X {org_id: $org_id}) RETURN gds.pageRank(n) AS r");
    assert!(
        !far.contains("did you mean") && !far.contains("abs, avg"),
        "{far}"
    );
}
