//! The code-graph stores against a Bolt server (ArcadeDB here; TENANT_STORE_NEO4J_URL for a real
//! Neo4j): org_id on every node, isolation from both sides, tenant-safe dependencies, checked
//! Cypher, parameters only, duplicates, offboarding, failures.

use std::time::{Duration, Instant};

use tenant_store::neo4j::{Client, Neo4jConfig};
use tenant_store::{Error, Resilience, Scope, cypher};
use tenant_store_examples::code_graph::{
    DependencyStore, NewRepo, NewSymbol, Repo, RepoStoreExt as _, Symbol, SymbolStoreExt as _,
};
use tenant_store_tests::{free_port, graph, tenant};

fn sym(id: &str, name: &str) -> NewSymbol {
    NewSymbol {
        id: Some(id.into()),
        name: name.into(),
        kind: "fn".into(),
        file: "src/lib.rs".into(),
        line: 1,
        summary: None,
    }
}

#[tokio::test]
async fn create_then_get_and_find_within_the_org() {
    let g = graph().await;
    let org = tenant();
    let scoped = g.scoped(&org);
    let s = Symbol::store()
        .create(&scoped, sym("s1", "parse"))
        .await
        .unwrap();
    assert_eq!(s.org_id, org.org_id());
    assert_eq!(
        Symbol::store()
            .get(&scoped, &"s1".to_string())
            .await
            .unwrap(),
        Some(s.clone())
    );
    assert_eq!(
        Symbol::store()
            .find_by_name(&scoped, "parse".into())
            .await
            .unwrap(),
        vec![s]
    );
}

#[tokio::test]
async fn get_and_find_of_missing_nodes_are_none_and_empty() {
    let g = graph().await;
    let scoped = g.scoped(&tenant());
    assert_eq!(
        Symbol::store()
            .get(&scoped, &"nope".to_string())
            .await
            .unwrap(),
        None
    );
    assert!(
        Symbol::store()
            .find_by_name(&scoped, "nothing".into())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn another_org_finds_and_gets_nothing_from_both_sides() {
    let g = graph().await;
    let (a, b) = (tenant(), tenant());
    let (ka, kb) = (g.scoped(&a), g.scoped(&b));
    let sa = Symbol::store()
        .create(&ka, sym("same", "main"))
        .await
        .unwrap();
    let sb = Symbol::store()
        .create(&kb, sym("same", "main"))
        .await
        .unwrap();
    assert_eq!(
        Symbol::store()
            .find_by_name(&ka, "main".into())
            .await
            .unwrap(),
        vec![sa.clone()]
    );
    assert_eq!(
        Symbol::store()
            .find_by_name(&kb, "main".into())
            .await
            .unwrap(),
        vec![sb.clone()]
    );
    assert_eq!(
        Symbol::store().get(&ka, &"same".to_string()).await.unwrap(),
        Some(sa)
    );
    assert_eq!(
        Symbol::store().get(&kb, &"same".to_string()).await.unwrap(),
        Some(sb)
    );
}

#[tokio::test]
async fn a_duplicate_id_in_the_org_is_duplicate() {
    let g = graph().await;
    let scoped = g.scoped(&tenant());
    Symbol::store()
        .create(&scoped, sym("dup", "first"))
        .await
        .unwrap();
    let err = Symbol::store()
        .create(&scoped, sym("dup", "second"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Duplicate), "{err:?}");
    assert_eq!(
        Symbol::store()
            .get(&scoped, &"dup".to_string())
            .await
            .unwrap()
            .unwrap()
            .name,
        "first"
    );
}

#[tokio::test]
async fn concurrent_creates_of_one_id_make_one_node() {
    let g = graph().await;
    let org = tenant();
    let (g1, g2) = (g.clone(), g.clone());
    let (o1, o2) = (org.clone(), org.clone());
    let (r1, r2) = tokio::join!(
        async move {
            Symbol::store()
                .create(&g1.scoped(&o1), sym("race", "a"))
                .await
        },
        async move {
            Symbol::store()
                .create(&g2.scoped(&o2), sym("race", "b"))
                .await
        },
    );
    assert_eq!(
        usize::from(r1.is_ok()) + usize::from(r2.is_ok()),
        1,
        "{r1:?} {r2:?}"
    );
    let scoped = g.scoped(&org);
    assert_eq!(
        Symbol::store()
            .find_by_name(&scoped, "a".into())
            .await
            .unwrap()
            .len()
            + Symbol::store()
                .find_by_name(&scoped, "b".into())
                .await
                .unwrap()
                .len(),
        1
    );
}

#[tokio::test]
async fn delete_is_org_scoped_and_a_second_delete_is_not_found() {
    let g = graph().await;
    let (a, b) = (tenant(), tenant());
    let (ka, kb) = (g.scoped(&a), g.scoped(&b));
    Symbol::store().create(&ka, sym("d", "x")).await.unwrap();
    assert!(matches!(
        Symbol::store().delete(&kb, &"d".to_string()).await,
        Err(Error::NotFound)
    ));
    assert!(
        Symbol::store()
            .get(&ka, &"d".to_string())
            .await
            .unwrap()
            .is_some()
    );
    Symbol::store().delete(&ka, &"d".to_string()).await.unwrap();
    assert!(matches!(
        Symbol::store().delete(&ka, &"d".to_string()).await,
        Err(Error::NotFound)
    ));
}

#[tokio::test]
async fn dependencies_within_the_org_are_walked_to_the_requested_depth() {
    let g = graph().await;
    let scoped = g.scoped(&tenant());
    for (id, name) in [("a", "a"), ("b", "b"), ("c", "c")] {
        Symbol::store()
            .create(&scoped, sym(id, name))
            .await
            .unwrap();
    }
    let deps = DependencyStore;
    deps.add_dependency(&scoped, "a", "b").await.unwrap();
    deps.add_dependency(&scoped, "b", "c").await.unwrap();
    deps.add_dependency(&scoped, "a", "b").await.unwrap(); // idempotent
    let ids = |v: Vec<Symbol>| v.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(
        ids(deps.get_dependencies(&scoped, "a", 1).await.unwrap()),
        vec!["b"]
    );
    assert_eq!(
        ids(deps.get_dependencies(&scoped, "a", 2).await.unwrap()),
        vec!["b", "c"]
    );
    assert!(
        deps.get_dependencies(&scoped, "c", 3)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        deps.get_dependencies(&scoped, "a", 0).await,
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        deps.get_dependencies(&scoped, "a", 11).await,
        Err(Error::InvalidInput(_))
    ));
}

#[tokio::test]
async fn a_dependency_across_orgs_is_refused_from_both_sides() {
    let g = graph().await;
    let (a, b) = (tenant(), tenant());
    let (ka, kb) = (g.scoped(&a), g.scoped(&b));
    Symbol::store()
        .create(&ka, sym("mine", "mine"))
        .await
        .unwrap();
    Symbol::store()
        .create(&kb, sym("theirs", "theirs"))
        .await
        .unwrap();
    let deps = DependencyStore;
    assert!(matches!(
        deps.add_dependency(&ka, "mine", "theirs").await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        deps.add_dependency(&kb, "theirs", "mine").await,
        Err(Error::NotFound)
    ));
    assert!(
        deps.get_dependencies(&ka, "mine", 3)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        deps.get_dependencies(&kb, "theirs", 3)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn names_holding_cypher_injection_are_stored_and_read_back_literally() {
    let g = graph().await;
    let (a, b) = (tenant(), tenant());
    let (ka, kb) = (g.scoped(&a), g.scoped(&b));
    Symbol::store()
        .create(&kb, sym("victim", "victim"))
        .await
        .unwrap();
    let nasty = [
        "x'}) MATCH (n) DETACH DELETE n //",
        "\"}) RETURN 1 UNION MATCH (n) RETURN n //",
        "$org_id",
        "` MATCH (m) SET m.org_id = 'pwned'",
    ];
    for (i, name) in nasty.iter().enumerate() {
        let s = Symbol::store()
            .create(&ka, sym(&format!("n{i}"), name))
            .await
            .unwrap();
        assert_eq!(
            Symbol::store()
                .find_by_name(&ka, (*name).into())
                .await
                .unwrap(),
            vec![s]
        );
    }
    assert!(
        Symbol::store()
            .get(&kb, &"victim".to_string())
            .await
            .unwrap()
            .is_some(),
        "b's data is intact"
    );
}

#[test]
fn no_value_ever_appears_in_the_cypher_text() {
    // Generated queries are built from identifiers and `$parameters` only.
    for q in [
        tenant_store::neo4j::queries::<Symbol>().unwrap(),
        tenant_store::neo4j::queries::<Repo>().unwrap(),
    ] {
        for text in [&q.create, &q.get, &q.update, &q.delete, &q.delete_tenant] {
            assert!(!text.contains('\'') && !text.contains('"'), "{text}");
            assert!(text.contains("org_id: $org_id"), "{text}");
        }
    }
    // Hand-written queries pass the same checks at compile time (cypher!); the checked text is
    // what runs.
    let checked = cypher!(Symbol; "MATCH (n:CODE_SYMBOL {org_id: $org_id, id: $id}) RETURN n");
    assert_eq!(
        checked.text(),
        "MATCH (n:CODE_SYMBOL {org_id: $org_id, id: $id}) RETURN n"
    );
}

#[tokio::test]
async fn the_tenant_parameter_cannot_be_rebound() {
    let g = graph().await;
    let (a, b) = (tenant(), tenant());
    Symbol::store()
        .create(&g.scoped(&b), sym("x", "x"))
        .await
        .unwrap();
    let err = g
        .scoped(&a)
        .query(cypher!(Symbol; "MATCH (n:CODE_SYMBOL {org_id: $org_id}) RETURN n"))
        .param("org_id", b.org_id().to_string())
        .rows()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
}

#[tokio::test]
async fn a_map_parameter_cannot_write_the_runtimes_own_properties() {
    let g = graph().await;
    let a = tenant();
    let s = g.scoped(&a);
    Symbol::store()
        .create(&s, sym("m", "before"))
        .await
        .unwrap();
    let nonce = async || {
        let raw = tenant_store_tests::neo4j_driver();
        let mut rows = raw
            .execute(
                neo4rs::query(
                    "MATCH (n:CODE_SYMBOL {org_id: $o, id: 'm'}) RETURN n.__tenant_store_nonce AS x, n.name AS name",
                )
                .param("o", a.org_id().to_string()),
            )
            .await
            .unwrap();
        let row = rows.next().await.unwrap().expect("the node");
        (
            row.get::<String>("x").unwrap(),
            row.get::<String>("name").unwrap(),
        )
    };
    let before = nonce().await;
    for props in [
        serde_json::json!({"name": "after", "__tenant_store_nonce": "forged"}),
        serde_json::json!({"name": "after", "tags": [{"__tenant_store_x": 1}]}),
    ] {
        let err = s
            .query(cypher!(Symbol;
                "MATCH (n:CODE_SYMBOL {org_id: $org_id, id: $id}) SET n += $props, n.org_id = $org_id RETURN n"))
            .param("id", "m")
            .param("props", tenant_store::neo4j::to_bolt(&props).unwrap())
            .rows()
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput(m) if m.contains("__tenant_store_")),
            "{props}: {err:?}"
        );
        assert_eq!(nonce().await, before, "{props}: nothing was written");
    }
}

#[tokio::test]
async fn register_a_repo_and_find_it_by_url() {
    let g = graph().await;
    let (a, b) = (tenant(), tenant());
    let repo = NewRepo {
        id: None,
        url: "https://git.example/x.git".into(),
        default_branch: "main".into(),
    };
    let r = Repo::store().create(&g.scoped(&a), repo).await.unwrap();
    assert_eq!(
        Repo::store()
            .find_by_url(&g.scoped(&a), r.url.clone())
            .await
            .unwrap(),
        vec![r.clone()]
    );
    assert!(
        Repo::store()
            .find_by_url(&g.scoped(&b), r.url.clone())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn delete_tenant_removes_the_orgs_nodes_only() {
    let g = graph().await;
    let (a, b) = (tenant(), tenant());
    let (ka, kb) = (g.scoped(&a), g.scoped(&b));
    for i in 0..4 {
        Symbol::store()
            .create(&ka, sym(&format!("s{i}"), "bulk"))
            .await
            .unwrap();
    }
    Symbol::store()
        .create(&kb, sym("s0", "bulk"))
        .await
        .unwrap();
    DependencyStore
        .add_dependency(&ka, "s0", "s1")
        .await
        .unwrap();
    assert_eq!(Symbol::store().delete_tenant(&ka).await.unwrap(), 4);
    assert!(
        Symbol::store()
            .find_by_name(&ka, "bulk".into())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        Symbol::store()
            .find_by_name(&kb, "bulk".into())
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(Symbol::store().delete_tenant(&ka).await.unwrap(), 0);
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_within_the_timeout() {
    let config = Neo4jConfig {
        uri: format!("bolt://127.0.0.1:{}", free_port()),
        user: "root".into(),
        password: "x".into(),
        database: None,
        ca_file: None,
    };
    let quick = Resilience {
        timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(500),
        failure_threshold: 3,
        open_for: Duration::from_secs(1),
    };
    let started = Instant::now();
    let err = Client::connect(&config, quick).await.unwrap_err();
    assert!(
        matches!(err, Error::Unavailable(_) | Error::Timeout(_)),
        "{err:?}"
    );
    // The message names the backend and the address.
    let named = format!("neo4j at {}", config.uri);
    assert!(err.to_string().contains(&named), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_node_created_without_an_id_gets_a_generated_one() {
    let g = graph().await;
    let scoped = g.scoped(&tenant());
    let s = Symbol::store()
        .create(
            &scoped,
            NewSymbol {
                id: None,
                ..sym("unused", "anon")
            },
        )
        .await
        .unwrap();
    assert!(uuid::Uuid::parse_str(&s.id).is_ok(), "{}", s.id);
    assert_eq!(Symbol::store().get(&scoped, &s.id).await.unwrap(), Some(s));
}

#[tokio::test]
async fn apply_migration_runs_schema_statements_only() {
    // `apply_migration` takes text; anything but the schema statements tenant-store generates
    // would be a way around `cypher!`.
    let g = graph().await;
    let victim = tenant();
    let id = format!("victim-{}", uuid::Uuid::new_v4());
    Symbol::store()
        .create(&g.scoped(&victim), sym(&id, "secret"))
        .await
        .unwrap();
    for attack in [
        format!("MATCH (n:CODE_SYMBOL {{id: '{id}'}}) SET n.name = 'pwned'"),
        format!(
            "CREATE INDEX x IF NOT EXISTS FOR (n:CODE_SYMBOL) ON (n.org_id);\nMATCH (n:CODE_SYMBOL {{id: '{id}'}}) SET n.name = 'pwned'"
        ),
        format!(
            "CREATE INDEX x IF NOT EXISTS FOR (n:CODE_SYMBOL) ON (n.org_id) MATCH (n:CODE_SYMBOL {{id: '{id}'}}) SET n.name = 'pwned'"
        ),
    ] {
        let r = g.apply_migration(&attack).await;
        assert!(matches!(r, Err(Error::InvalidInput(_))), "{attack}: {r:?}");
    }
    let s = Symbol::store()
        .get(&g.scoped(&victim), &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.name, "secret");
    // The committed migrations still apply (idempotent).
    let applied = g
        .apply_migrations(&tenant_store_examples::neo4j_migrations_dir())
        .await
        .unwrap();
    assert!(applied.len() >= 2, "{applied:?}");
}

#[tokio::test]
async fn one_tenants_slow_queries_do_not_open_the_breaker_for_another() {
    let _turn = tenant_store_tests::graph_turn().await;
    let settings = Resilience {
        timeout: Duration::from_secs(1),
        connect_timeout: Duration::from_secs(1),
        failure_threshold: 2,
        open_for: Duration::from_secs(30),
    };
    let g = Client::connect(&tenant_store_tests::neo4j_config(), settings)
        .await
        .unwrap();
    let (slow, other) = (tenant(), tenant());
    Symbol::store()
        .create(&g.scoped(&slow), sym("s", "s"))
        .await
        .unwrap();
    Symbol::store()
        .create(&g.scoped(&other), sym("o", "o"))
        .await
        .unwrap();
    // Invalid queries from one tenant count for nothing: the server answered.
    for _ in 0..3 {
        let r = g
            .scoped(&slow)
            .query(cypher!(Symbol; "MATCH (n:CODE_SYMBOL {org_id: $org_id}) RETURN n LIMIT $l"))
            .param("l", "not a number")
            .rows()
            .await;
        assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
    }
    assert!(!g.circuit_open_for(&slow, Scope::OrgId) && !g.circuit_open());
    // Slow ones time out and count against that tenant alone.
    for _ in 0..2 {
        let r = g
            .scoped(&slow)
            .query(cypher!(Symbol;
                "MATCH (n:CODE_SYMBOL {org_id: $org_id}) UNWIND range(1, $n) AS x UNWIND range(1, $n) AS y RETURN count(y) AS c"
            ))
            .param("n", 5_000_000_i64)
            .rows()
            .await;
        assert!(matches!(r, Err(Error::Timeout(_))), "{r:?}");
        // The other tenant's plain get keeps succeeding on the same client.
        assert_eq!(
            Symbol::store()
                .get(&g.scoped(&other), &"o".to_string())
                .await
                .unwrap()
                .map(|s| s.id),
            Some("o".to_string())
        );
    }
    assert!(!g.circuit_open(), "the backend's breaker stays closed");
    assert!(g.circuit_open_for(&slow, Scope::OrgId) && !g.circuit_open_for(&other, Scope::OrgId));
    // The slow tenant's own breaker is open: even its plain get fails fast now.
    let r = Symbol::store()
        .get(&g.scoped(&slow), &"s".to_string())
        .await;
    assert!(
        matches!(&r, Err(Error::Unavailable(m)) if m.contains(&format!("for tenant org_id {}", slow.org_id()))),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_list_over_the_cap_is_invalid_input() {
    let g = graph().await;
    let scoped = g.scoped(&tenant());
    let max = tenant_store::Page::MAX_LIMIT;
    assert_eq!(tenant_store::neo4j::MAX_LIMIT, max as usize);
    for over in [0, max + 1] {
        let err = Symbol::store()
            .list(&scoped, Default::default(), tenant_store::Page::first(over))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput(m) if m.contains("outside")),
            "{err:?}"
        );
    }
    let all = Symbol::store()
        .list(&scoped, Default::default(), tenant_store::Page::first(max))
        .await
        .unwrap();
    assert!(all.items.is_empty() && all.next.is_none());
}

#[tokio::test]
async fn a_driver_the_application_built_serves_the_stores() {
    let _turn = tenant_store_tests::graph_turn().await;
    let g = Client::from_graph(tenant_store_tests::neo4j_driver(), Resilience::default())
        .await
        .unwrap();
    let (a, b) = (tenant(), tenant());
    Symbol::store()
        .create(&g.scoped(&a), sym("own", "own"))
        .await
        .unwrap();
    assert!(
        Symbol::store()
            .get(&g.scoped(&a), &"own".to_owned())
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        Symbol::store()
            .get(&g.scoped(&b), &"own".to_owned())
            .await
            .unwrap()
            .is_none()
    );
    Symbol::store().delete_tenant(&g.scoped(&a)).await.unwrap();
}

/// Issue #30, item 3: `move_tenant` of one label left the relationships between moved nodes and
/// the nodes of other labels that stayed behind, so edges crossed tenants. Now they go in the
/// move's statement; edges among moved nodes stay. Checked from both tenants and by a raw scan.
#[tokio::test]
async fn a_move_of_one_label_leaves_no_relationship_across_tenants() {
    use tenant_store_examples::code_graph::{DependencyStore, NewRepo, Repo};
    let g = graph().await;
    let (from, to) = (tenant(), tenant());
    let (kf, kt) = (g.scoped(&from), g.scoped(&to));
    for id in ["s1", "s2"] {
        Symbol::store().create(&kf, sym(id, id)).await.unwrap();
    }
    let repo = NewRepo {
        id: Some("r".into()),
        url: "https://example.invalid/r".into(),
        default_branch: "main".into(),
    };
    Repo::store().create(&kf, repo).await.unwrap();
    DependencyStore
        .add_dependency(&kf, "s1", "s2")
        .await
        .unwrap();
    kf.query(cypher!(Symbol, Repo;
        "MATCH (s:CODE_SYMBOL {org_id: $org_id, id: $s}), (r:CODE_REPO {org_id: $org_id, id: $r}) \
         CREATE (s)-[:CODE_IN_REPO]->(r) RETURN 1 AS ok"))
        .param("s", "s1")
        .param("r", "r")
        .rows()
        .await
        .unwrap();
    assert_eq!(Symbol::store().move_tenant(&kf, &kt).await.unwrap(), 2);
    // The destination: the moved dependency is there, the edge to the repo left behind is not.
    let deps = DependencyStore
        .get_dependencies(&kt, "s1", 3)
        .await
        .unwrap();
    assert_eq!(
        deps.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["s2"]
    );
    // Raw, past the checker (which refuses the unlabelled patterns a scan needs): relationships
    // between the two tenants, within the destination, and of the repo left behind.
    let raw = tenant_store_tests::neo4j_driver();
    let count = |q: &'static str| {
        let raw = raw.clone();
        let (f, t) = (from.org_id().to_string(), to.org_id().to_string());
        async move {
            let mut rows = raw
                .execute(neo4rs::query(q).param("f", f).param("t", t))
                .await
                .unwrap();
            let row = rows.next().await.unwrap().unwrap();
            row.get::<i64>("n").unwrap()
        }
    };
    let across =
        count("MATCH (a)-[r]-(b) WHERE a.org_id = $f AND b.org_id = $t RETURN count(r) AS n");
    assert_eq!(across.await, 0, "no relationship crosses the two tenants");
    let within =
        count("MATCH (a)-[r]->(b) WHERE a.org_id = $t AND b.org_id = $t RETURN count(r) AS n");
    assert_eq!(within.await, 1, "the moved dependency s1 -> s2");
    let left = count("MATCH (r:CODE_REPO)-[x]-() WHERE r.org_id = $f RETURN count(x) AS n");
    assert_eq!(left.await, 0, "the repo left behind has no relationship");
    assert!(
        Repo::store()
            .get(&kf, &"r".to_string())
            .await
            .unwrap()
            .is_some(),
        "the repo stayed with its tenant"
    );
}
