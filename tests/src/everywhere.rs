//! Data of one tenant in every backend, and a raw scan that finds it bypassing tenant-store:
//! what the offboarding and move tests plant and check.

use chrono::Utc;
use qdrant_client::qdrant::{Condition, CountPoints, Filter};
use redis::AsyncCommands as _;
use tenant_store::Principal;
use tenant_store_examples::code_graph::{NewRepo, NewSymbol, Repo, Symbol};
use tenant_store_examples::embedding::{Embedding, NewEmbedding, unit_vector};
use tenant_store_examples::episodic::{Episode, NewEpisode};

use crate::http_json;
use tenant_store_examples::experiment::{ExperimentStatus, Experiments};
use tenant_store_examples::feedback::{FeedbackEvent, NewFeedbackEvent, Outcome};
use tenant_store_examples::lifecycle::{Backends, PG_TABLES};
use tenant_store_examples::memory::{Memory, NewMemory};
use tenant_store_examples::search::{NewSearchDoc, SearchDoc};
use uuid::Uuid;

use crate::{
    Held, db, graph, kv, neo4j_config, opensearch_url, qdrant_client, qdrant_url, raw_pool,
    search_client, super_url, valkey_url,
};

/// An accepted search feedback event of `user`, now.
pub fn accepted_event(user: Uuid) -> NewFeedbackEvent {
    NewFeedbackEvent {
        id: None,
        user_id: user,
        query_id: Uuid::new_v4(),
        query_type: "search".into(),
        outcome: Outcome::Accepted,
        score: 1.0,
        occurred_at: Utc::now(),
        comment: None,
    }
}

/// A connection to every backend, with the index and collection the stores need, and the
/// test's turn on the graph (see [`graph`]).
pub async fn backends() -> Held<Backends> {
    let (db, kv, search, vectors) = (
        db().await,
        kv().await,
        search_client().await,
        qdrant_client().await,
    );
    let b = graph().await.map(|graph| Backends {
        db,
        kv,
        search,
        graph,
        vectors,
    });
    SearchDoc::store().ensure_index(&b.search).await.unwrap();
    Embedding::store()
        .ensure_collection(&b.vectors)
        .await
        .unwrap();
    b
}

/// Two memories, one feedback event, an experiment with two variants, one assignment and one
/// status change; two episodes in two sessions; three documents; two symbols and a repo; four
/// embeddings.
/// Ids are suffixed with `tag`, so two tenants planted with different tags share no id.
pub async fn plant(b: &Backends, who: &Principal, tag: &str) {
    let mut tx = b.db.begin(who).await.unwrap();
    for content in ["m1", "m2"] {
        Memory::store()
            .create(
                &mut tx,
                NewMemory {
                    content: content.into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    FeedbackEvent::store()
        .create(&mut tx, accepted_event(who.user_id()))
        .await
        .unwrap();
    let (exp, _) = Experiments
        .create(&mut tx, "exp", &[("a", 1), ("b", 1)])
        .await
        .unwrap();
    Experiments
        .update_status(&mut tx, exp.id, ExperimentStatus::Running, "start")
        .await
        .unwrap();
    Experiments
        .assign_user(&mut tx, exp.id, who.user_id())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let kv = b.kv.scoped(who);
    for (session, id) in [("s1", "e1"), ("s2", "e2")] {
        let new = NewEpisode {
            id: Some(format!("{id}{tag}")),
            session_id: session.into(),
            content: "episode".into(),
            importance: 1.0,
            turn: 0,
            tool: None,
        };
        Episode::store().set(&kv, new, None).await.unwrap();
    }
    let search = b.search.scoped(who);
    SearchDoc::store()
        .create_tenant_alias(&search)
        .await
        .unwrap();
    for id in ["d1", "d2", "d3"] {
        let new = NewSearchDoc {
            id: Some(format!("{id}{tag}")),
            title: "doc".into(),
            body: "body".into(),
            tags: vec![],
            published_at: Utc::now(),
            views: 0,
            author: None,
        };
        SearchDoc::store().create(&search, new).await.unwrap();
    }
    let g = b.graph.scoped(who);
    for id in ["sym1", "sym2"] {
        let new = NewSymbol {
            id: Some(format!("{id}{tag}")),
            name: id.into(),
            kind: "fn".into(),
            file: "a.rs".into(),
            line: 1,
            summary: None,
        };
        Symbol::store().create(&g, new).await.unwrap();
    }
    let repo = NewRepo {
        id: Some(format!("r1{tag}")),
        url: "https://example.com/r1".into(),
        default_branch: "main".into(),
    };
    Repo::store().create(&g, repo).await.unwrap();
    let v = b.vectors.scoped(who);
    for n in 0..4 {
        let new = NewEmbedding {
            id: None,
            source: "s".into(),
            text: format!("t{n}"),
            offset: 0,
            lang: None,
        };
        Embedding::store()
            .upsert(&v, new, &unit_vector(n))
            .await
            .unwrap();
    }
}

/// What a raw scan of every backend finds of `who`, bypassing tenant-store: (place, count).
pub async fn scan(who: &Principal) -> Vec<(String, u64)> {
    let (user, org) = (who.user_id(), who.org_id());
    let mut found = Vec::new();
    // PostgreSQL, as the superuser (RLS does not apply to it).
    let all = raw_pool(&super_url(), 1).await;
    for table in PG_TABLES {
        let column = if table == "memories" {
            "user_id"
        } else {
            "org_id"
        };
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {table} WHERE {column} = $1"
        )))
        .bind(if column == "user_id" { user } else { org })
        .fetch_one(&all)
        .await
        .unwrap();
        found.push((table.to_owned(), n as u64));
    }
    // Valkey: every key under the tenant's hash tag, indexes and session set included.
    let client = redis::Client::open(valkey_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut keys: Vec<String> = Vec::new();
    let mut iter = conn
        .scan_match::<_, String>(format!("episodic:{{{user}}}:*"))
        .await
        .unwrap();
    while let Some(k) = futures_util::StreamExt::next(&mut iter).await {
        keys.push(k.unwrap());
    }
    drop(iter);
    found.push(("valkey keys".into(), keys.len() as u64));
    // OpenSearch: the shared index, by the tenant field, and the tenant's alias.
    let http = format!("{}/search/_count", opensearch_url());
    let body = serde_json::json!({ "query": { "term": { "org_id": org.to_string() } } });
    let n = http_json("POST", &http, Some(body))["count"]
        .as_u64()
        .unwrap();
    found.push(("opensearch documents".into(), n));
    let aliases = http_json(
        "GET",
        &format!(
            "{}/_alias/{}",
            opensearch_url(),
            tenant_store::opensearch::alias_name::<SearchDoc>(org)
        ),
        None,
    );
    let alias_left = aliases
        .as_object()
        .is_some_and(|m| !m.is_empty() && !m.contains_key("error"));
    found.push(("opensearch alias".into(), u64::from(alias_left)));
    // Neo4j: any node of any label carrying the org.
    let c = neo4j_config();
    let mut builder = neo4rs::ConfigBuilder::default()
        .uri(c.uri.as_str())
        .user(c.user.as_str())
        .password(c.password.as_str());
    if let Some(db) = &c.database {
        builder = builder.db(db.as_str());
    }
    let g = neo4rs::Graph::connect(builder.build().unwrap()).unwrap();
    let mut rows = g
        .execute(
            neo4rs::query("MATCH (n) WHERE n.org_id = $org RETURN count(n) AS n")
                .param("org", org.to_string()),
        )
        .await
        .unwrap();
    let n: i64 = rows.next().await.unwrap().unwrap().get("n").unwrap();
    found.push(("neo4j nodes".into(), n as u64));
    // Qdrant: points whose payload names the org.
    let q = qdrant_client::Qdrant::from_url(&qdrant_url())
        .skip_compatibility_check()
        .build()
        .unwrap();
    let n = q
        .count(CountPoints {
            collection_name: "embeddings_minilm".into(),
            filter: Some(Filter::must([Condition::matches(
                "org_id",
                org.to_string(),
            )])),
            exact: Some(true),
            ..Default::default()
        })
        .await
        .unwrap()
        .result
        .unwrap()
        .count;
    found.push(("qdrant points".into(), n));
    found
}

/// The sum of a scan.
pub fn total(scan: &[(String, u64)]) -> u64 {
    scan.iter().map(|(_, n)| n).sum()
}
