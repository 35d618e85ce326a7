//! The quickstart: two tenants on every backend, one entity each (a memory in PostgreSQL, an
//! episode in Valkey, a search document in OpenSearch, a code symbol in Neo4j, an embedding in
//! Qdrant). Each tenant sees only its own; each cross-tenant probe is answered as absence. Every
//! step prints how long it took. Run with `scripts/demo.sh` (starts the servers, runs this,
//! stops them).

use std::time::Instant;

use tenant_store::postgres::{Db, SigningKey, keys};
use tenant_store::{Direction, Page, Principal, Resilience};
use tenant_store_examples::memory::{Memory, MemoryFilter, MemoryOrder, MemoryState, NewMemory};
use uuid::Uuid;

type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

fn env(var: &str) -> Res<String> {
    std::env::var(var).map_err(|_| format!("{var} is not set; run `scripts/demo.sh`").into())
}

/// Prints a step's outcome and how long it took.
fn done(started: Instant, what: &str) {
    println!(
        "  [{:>6.1} ms] {what}",
        started.elapsed().as_secs_f64() * 1000.0
    );
}

#[tokio::main]
async fn main() -> Res {
    let alice = Principal::from_unverified_claims(&serde_json::json!({
        "user_id": Uuid::new_v4().to_string(), "org_id": Uuid::new_v4().to_string()
    }))?;
    let bob = Principal::from_unverified_claims(&serde_json::json!({
        "user_id": Uuid::new_v4().to_string(), "org_id": Uuid::new_v4().to_string()
    }))?;
    println!("PostgreSQL (Row Level Security, signed tenant context)");
    postgres(&alice, &bob).await?;
    println!("Valkey (tenant key prefixes)");
    valkey(&alice, &bob).await?;
    println!("OpenSearch (tenant aliases and filters)");
    opensearch(&alice, &bob).await?;
    println!("Neo4j (the tenant on every node pattern)");
    neo4j(&alice, &bob).await?;
    println!("Qdrant (tenant payload filter and index)");
    qdrant(&alice, &bob).await?;
    println!("quickstart: OK, every backend kept the two tenants apart");
    Ok(())
}

async fn postgres(alice: &Principal, bob: &Principal) -> Res {
    let t = Instant::now();
    // Operators apply migrations as the tables' owner...
    let owner = sqlx::PgPool::connect(&env("TENANT_STORE_PG_OWNER_URL")?).await?;
    sqlx::migrate::Migrator::new(tenant_store_examples::migrations_dir())
        .await?
        .run(&owner)
        .await?;
    done(t, "applied migrations/ as the owner role");
    let t = Instant::now();
    // ...and install the key the application signs its tenant contexts with (in production:
    // the migration command's `keys generate <id>` once, the key handed to the application as a secret).
    // A key of its own for each run, retired at the end.
    let key = SigningKey::generate(format!("qs-{}", &Uuid::new_v4().simple().to_string()[..12]))?;
    keys::install(&mut *owner.acquire().await?, &key).await?;
    done(t, &format!("installed signing key `{}`", key.id()));
    let t = Instant::now();
    let key_id = key.id().to_owned();

    // The application connects as its own role, which the audit checks first.
    let db = Db::connect(&env("TENANT_STORE_PG_URL")?, key).await?;
    done(
        t,
        "connected as the application role; RLS audit and key check passed",
    );
    let (alice, bob) = (alice.clone(), bob.clone());
    let app_id = Uuid::new_v4();
    let t = Instant::now();

    let mut alice_ids = Vec::new();
    for (who, texts) in [
        (&alice, ["likes tea", "lives in Lyon"]),
        (&bob, ["prefers email", "uses vim"]),
    ] {
        let mut tx = db.begin(who).await?;
        for content in texts {
            let m = Memory::store()
                .create(
                    &mut tx,
                    NewMemory {
                        app_id,
                        content: content.into(),
                        ..Default::default()
                    },
                )
                .await?;
            if who == &alice {
                alice_ids.push(m.id);
            }
            println!(
                "           user {} wrote memory {} ({content:?})",
                who.user_id(),
                m.id
            );
        }
        tx.commit().await?;
    }
    done(t, "two tenants wrote two memories each");

    for (name, who) in [("alice", &alice), ("bob", &bob)] {
        let t = Instant::now();
        let mine = Memory::store()
            .list(
                &mut db.tenant(who),
                MemoryFilter::new()
                    .state(MemoryState::Active)
                    .order_by(MemoryOrder::CreatedAt, Direction::Desc),
                Page::first(50),
            )
            .await?
            .items;
        let contents: Vec<&str> = mine.iter().map(|m| m.content.as_str()).collect();
        done(
            t,
            &format!("{name} lists {} memories: {contents:?}", mine.len()),
        );
        assert!(
            mine.iter().all(|m| m.user_id == who.user_id()),
            "a tenant saw another's memory"
        );
        assert_eq!(mine.len(), 2);
    }

    let t = Instant::now();
    let mut tx = db.begin(&bob).await?;
    let stolen = Memory::store().get(&mut tx, alice_ids[0]).await?;
    done(
        t,
        &format!("bob gets alice's memory {} by id: {stolen:?}", alice_ids[0]),
    );
    let t = Instant::now();
    assert!(stolen.is_none());
    // Hand-written SQL cannot claim alice either: the tenant context is signed.
    tx.execute(
        sqlx::query("SELECT set_config('tenant_store.ctx', $1, true)").bind(format!(
            "v1.{key_id}.0.0.{}.{}.00",
            alice.user_id(),
            alice.org_id()
        )),
    )
    .await?;
    let claimed = tx
        .fetch_all(sqlx::query("SELECT content FROM public.memories"))
        .await?;
    tx.release();
    done(
        t,
        &format!("bob's forged tenant context sees {} rows", claimed.len()),
    );
    assert!(claimed.is_empty());
    keys::retire(&mut *owner.acquire().await?, &key_id).await?;
    owner.close().await;
    println!("           retired signing key `{key_id}`");
    Ok(())
}

async fn valkey(alice: &Principal, bob: &Principal) -> Res {
    use tenant_store_examples::episodic::{Episode, NewEpisode};
    let t = Instant::now();
    let kv = tenant_store::valkey::Client::connect_from_env(Resilience::default()).await?;
    done(t, "connected");
    let t = Instant::now();
    let mut ids = Vec::new();
    for (who, content) in [(alice, "asked about tea"), (bob, "asked about vim")] {
        let new = NewEpisode {
            id: None,
            session_id: "demo".into(),
            content: content.into(),
            importance: 1.0,
            turn: 0,
            tool: None,
        };
        ids.push(Episode::store().set(&kv.scoped(who), new, None).await?.id);
    }
    done(t, "each tenant stored an episode in session `demo`");
    for (name, who) in [("alice", alice), ("bob", bob)] {
        let t = Instant::now();
        let mine = Episode::store()
            .list_session(&kv.scoped(who), "demo", tenant_store::Page::first(10))
            .await?
            .items;
        assert!(mine.iter().all(|e| e.user_id == who.user_id()));
        let contents: Vec<&str> = mine.iter().map(|e| e.content.as_str()).collect();
        done(t, &format!("{name}'s session `demo` holds {contents:?}"));
    }
    let t = Instant::now();
    let stolen = Episode::store()
        .get(&kv.scoped(bob), "demo", &ids[0])
        .await?;
    assert!(stolen.is_none());
    done(
        t,
        &format!("bob gets alice's episode {}: {stolen:?}", ids[0]),
    );
    for who in [alice, bob] {
        Episode::store().delete_tenant(&kv.scoped(who)).await?;
    }
    Ok(())
}

async fn opensearch(alice: &Principal, bob: &Principal) -> Res {
    use tenant_store::opensearch::{Client, OpenSearchConfig};
    use tenant_store_examples::search::{NewSearchDoc, SearchDoc};
    let t = Instant::now();
    let client =
        Client::connect_with(&OpenSearchConfig::from_env()?, Resilience::default()).await?;
    SearchDoc::store().ensure_index(&client).await?;
    for who in [alice, bob] {
        SearchDoc::store()
            .create_tenant_alias(&client.scoped(who))
            .await?;
    }
    done(t, "connected; index and the two tenant aliases ready");
    let t = Instant::now();
    for (who, title) in [(alice, "tea in Lyon"), (bob, "tea in Leeds")] {
        let new = NewSearchDoc {
            id: Some("doc-1".into()),
            title: title.into(),
            body: "notes".into(),
            tags: Vec::new(),
            published_at: chrono::Utc::now(),
            views: 0,
            author: None,
        };
        SearchDoc::store().create(&client.scoped(who), new).await?;
    }
    done(
        t,
        "each tenant indexed a document with the same id, `doc-1`",
    );
    for (name, who) in [("alice", alice), ("bob", bob)] {
        let t = Instant::now();
        let hits = SearchDoc::store()
            .search(&client.scoped(who), "tea", 10, None)
            .await?
            .hits;
        assert!(hits.iter().all(|h| h.org_id == who.org_id()));
        let titles: Vec<&str> = hits.iter().map(|h| h.title.as_str()).collect();
        done(t, &format!("{name} searches `tea`: {titles:?}"));
    }
    let t = Instant::now();
    let probe = SearchDoc::store()
        .search_query_string(&client.scoped(bob), "Lyon", 10, None)
        .await?;
    assert!(probe.hits.is_empty());
    done(
        t,
        &format!(
            "bob searches alice's word `Lyon`: {} hits",
            probe.hits.len()
        ),
    );
    for who in [alice, bob] {
        SearchDoc::store()
            .delete_tenant(&client.scoped(who))
            .await?;
    }
    Ok(())
}

async fn neo4j(alice: &Principal, bob: &Principal) -> Res {
    use tenant_store::neo4j::{Client, Neo4jConfig};
    use tenant_store_examples::code_graph::{NewSymbol, Symbol};
    let t = Instant::now();
    let g = Client::connect(&Neo4jConfig::from_env()?, Resilience::default()).await?;
    g.apply_migrations(&tenant_store_examples::neo4j_migrations_dir())
        .await?;
    done(t, "connected; migrations/neo4j applied");
    let t = Instant::now();
    for (who, id, name) in [(alice, "sym-a", "parse"), (bob, "sym-b", "render")] {
        let new = NewSymbol {
            id: Some(id.into()),
            name: name.into(),
            kind: "fn".into(),
            file: "src/lib.rs".into(),
            line: 1,
            summary: None,
        };
        Symbol::store().create(&g.scoped(who), new).await?;
    }
    done(t, "alice created symbol `sym-a`, bob `sym-b`");
    for (name, who, id) in [("alice", alice, "sym-a"), ("bob", bob, "sym-b")] {
        let t = Instant::now();
        let got = Symbol::store().get(&g.scoped(who), &id.to_owned()).await?;
        let got = got.ok_or("a tenant lost its own symbol")?;
        assert_eq!(got.org_id, who.org_id());
        done(t, &format!("{name} gets `{id}`: `{}`", got.name));
    }
    let t = Instant::now();
    let stolen = Symbol::store()
        .get(&g.scoped(bob), &"sym-a".to_owned())
        .await?;
    assert!(stolen.is_none());
    done(t, &format!("bob gets alice's `sym-a`: {stolen:?}"));
    for who in [alice, bob] {
        Symbol::store().delete_tenant(&g.scoped(who)).await?;
    }
    Ok(())
}

async fn qdrant(alice: &Principal, bob: &Principal) -> Res {
    use tenant_store::qdrant::{Client, QdrantConfig};
    use tenant_store_examples::embedding::{Embedding, NewEmbedding, unit_vector};
    let t = Instant::now();
    let client = Client::connect_with(&QdrantConfig::from_env()?, Resilience::default()).await?;
    Embedding::store().ensure_collection(&client).await?;
    done(t, "connected; collection and tenant index ready");
    let t = Instant::now();
    let mut ids = Vec::new();
    for (who, text, axis) in [(alice, "tea notes", 1), (bob, "vim notes", 2)] {
        let new = NewEmbedding {
            id: None,
            source: "demo".into(),
            text: text.into(),
            offset: 0,
            lang: None,
        };
        ids.push(
            Embedding::store()
                .upsert(&client.scoped(who), new, &unit_vector(axis))
                .await?
                .id,
        );
    }
    done(t, "each tenant upserted an embedding");
    for (name, who) in [("alice", alice), ("bob", bob)] {
        let t = Instant::now();
        // The query vector points at the *other* tenant's embedding: the nearest hit is still
        // only ever one's own.
        let axis = if name == "alice" { 2 } else { 1 };
        let hits = Embedding::store()
            .search(&client.scoped(who), &unit_vector(axis), 5, None)
            .await?;
        assert!(hits.iter().all(|h| h.entity.org_id == who.org_id()));
        let texts: Vec<&str> = hits.iter().map(|h| h.entity.text.as_str()).collect();
        done(
            t,
            &format!("{name} searches near the other's vector: {texts:?}"),
        );
    }
    let t = Instant::now();
    let stolen = Embedding::store().get(&client.scoped(bob), &ids[0]).await?;
    assert!(stolen.is_none());
    done(
        t,
        &format!("bob gets alice's embedding {}: {stolen:?}", ids[0]),
    );
    for who in [alice, bob] {
        Embedding::store()
            .delete_tenant(&client.scoped(who))
            .await?;
    }
    Ok(())
}
