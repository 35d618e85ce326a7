//! A tenant's whole life across the backends the example stores use: [`offboard`] removes it
//! everywhere, [`move_tenant`] moves (or merges) it into another tenant; both report the count
//! per store.
//!
//! ## Offboarding: order, atomicity, re-runs
//! 1. PostgreSQL, in one admin transaction (reason and operator audited in it): children before
//!    parents (status history, assignments, variants, experiments), then feedback and memories.
//!    All PostgreSQL tables are emptied for the tenant together, or none is.
//! 2. Valkey episodes, OpenSearch documents (and the tenant's alias), Neo4j symbols and repos
//!    (with their relationships), Qdrant embeddings: each store's `delete_tenant`.
//!
//! Every step deletes by the tenant's id and is idempotent: a run that failed or was cut short
//! is finished by running it again, which reports 0 for what was already gone.
//!
//! ## Moving: order, atomicity, re-runs
//! 1. PostgreSQL, in one admin transaction: every table, parents first, moved with
//!    `tenant_store::postgres::move_tenant` (all rows, all columns). Atomic: an id both tenants
//!    hold fails the whole PostgreSQL part with `Duplicate` and nothing moves there.
//! 2. Valkey, OpenSearch, Qdrant: each store's `move_tenant`: read everything of `from`, refuse
//!    (`Duplicate`, before writing) if `to` holds a different entity under the same id, write it
//!    all under `to`, then delete it under `from`. Not atomic, but a crash leaves the data under
//!    `from`, under `to`, or under both (identical), and a re-run completes the move.
//! 3. Neo4j: one statement per label re-labels the tenant's nodes (atomic per label;
//!    relationships stay).
//!
//! ## User- and org-scoped data
//! The tenant is a [`Principal`]: its `org_id` for the org-scoped stores and its `user_id` for the
//! user-scoped ones (memories, episodes). Nothing here maps an org to its users, so offboarding a
//! whole organisation means running this for each of its users' principals (the org-scoped
//! stores report 0 after the first).

use tenant_store::offboard::{Offboarding, TenantReport};
use tenant_store::{Error, Principal, Result};

use crate::code_graph::{Repo, Symbol};
use crate::embedding::Embedding;
use crate::episodic::Episode;
use crate::experiment::{Assignment, Experiment, StatusChange, Variant};
use crate::feedback::FeedbackEvent;
use crate::memory::Memory;
use crate::search::SearchDoc;
use tenant_store::postgres::MoveTable;

/// A connection to each backend.
#[derive(Debug)]
pub struct Backends {
    /// PostgreSQL (memories, feedback, experiments).
    pub db: tenant_store::postgres::Db,
    /// Valkey (episodes).
    pub kv: tenant_store::valkey::Client,
    /// OpenSearch (search documents).
    pub search: tenant_store::opensearch::Client,
    /// Neo4j (code graph).
    pub graph: tenant_store::neo4j::Client,
    /// Qdrant (embeddings).
    pub vectors: tenant_store::qdrant::Client,
}

/// The PostgreSQL tables, in the order they are emptied.
pub const PG_TABLES: [&str; 6] = [
    "experiment_status_history",
    "experiment_assignments",
    "experiment_variants",
    "experiments",
    "feedback_events",
    "memories",
];

async fn postgres(
    b: &Backends,
    operator: &Principal,
    reason: &str,
    tenant: &Principal,
) -> Result<[u64; 6]> {
    let mut admin = b.db.admin(operator, reason).await?;
    let tx = admin.enter(tenant).await?;
    let counts = [
        StatusChange::store().delete_tenant(tx).await?,
        Assignment::store().delete_tenant(tx).await?,
        Variant::store().delete_tenant(tx).await?,
        Experiment::store().delete_tenant(tx).await?,
        FeedbackEvent::store().delete_tenant(tx).await?,
        Memory::store().delete_tenant(tx).await?,
    ];
    admin.commit().await?;
    Ok(counts)
}

/// Removes everything of `tenant` from every backend; `operator` and `reason` go to the
/// PostgreSQL audit table.
pub async fn offboard(
    b: &Backends,
    operator: &Principal,
    reason: &str,
    tenant: &Principal,
) -> TenantReport {
    let pg = postgres(b, operator, reason, tenant).await;
    let (episodes, docs, symbols, repos, embeddings) = (
        Episode::store(),
        SearchDoc::store(),
        Symbol::store(),
        Repo::store(),
        Embedding::store(),
    );
    let mut run = Offboarding::new();
    for (i, table) in PG_TABLES.into_iter().enumerate() {
        let count = match &pg {
            Ok(counts) => Ok(counts[i]),
            Err(e) => Err(Error::Backend(
                format!("the PostgreSQL part rolled back: {e}").into(),
            )),
        };
        run = run.step(table, std::future::ready(count));
    }
    run.store("valkey:episodes", &episodes, &b.kv, tenant)
        .store("opensearch:search", &docs, &b.search, tenant)
        .store("neo4j:CODE_SYMBOL", &symbols, &b.graph, tenant)
        .store("neo4j:CODE_REPO", &repos, &b.graph, tenant)
        .store("qdrant:embeddings_minilm", &embeddings, &b.vectors, tenant)
        .run()
        .await
}

/// The PostgreSQL tables a move takes, parents first.
pub fn pg_move_tables() -> [MoveTable; 6] {
    [
        MoveTable::of::<Experiment>(),
        MoveTable::of::<Variant>(),
        MoveTable::of::<Assignment>(),
        MoveTable::of::<StatusChange>(),
        MoveTable::of::<FeedbackEvent>(),
        MoveTable::of::<Memory>(),
    ]
}

/// Moves everything of `from` into `to` on every backend (merging with what `to` has);
/// `operator` and `reason` go to the PostgreSQL audit table. Every step runs even if an earlier
/// one failed; re-running after a failure or crash completes the move.
pub async fn move_tenant(
    b: &Backends,
    operator: &Principal,
    reason: &str,
    from: &Principal,
    to: &Principal,
) -> TenantReport {
    let pg = async {
        let mut admin = b.db.admin(operator, reason).await?;
        let moved =
            tenant_store::postgres::move_tenant(&mut admin, from, to, &pg_move_tables()).await?;
        admin.commit().await?;
        Ok::<_, Error>(moved)
    }
    .await;
    let mut stores: Vec<(&'static str, Result<u64>)> = match pg {
        Ok(moved) => moved.tables.into_iter().map(|(t, n)| (t, Ok(n))).collect(),
        Err(e) => vec![("postgres", Err(e))],
    };
    let (kv_from, kv_to) = (b.kv.scoped(from), b.kv.scoped(to));
    stores.push((
        "valkey:episodes",
        Episode::store().move_tenant(&kv_from, &kv_to).await,
    ));
    let (s_from, s_to) = (b.search.scoped(from), b.search.scoped(to));
    stores.push((
        "opensearch:search",
        SearchDoc::store().move_tenant(&s_from, &s_to).await,
    ));
    let (g_from, g_to) = (b.graph.scoped(from), b.graph.scoped(to));
    stores.push((
        "neo4j:CODE_SYMBOL",
        Symbol::store().move_tenant(&g_from, &g_to).await,
    ));
    stores.push((
        "neo4j:CODE_REPO",
        Repo::store().move_tenant(&g_from, &g_to).await,
    ));
    let (v_from, v_to) = (b.vectors.scoped(from), b.vectors.scoped(to));
    stores.push((
        "qdrant:embeddings_minilm",
        Embedding::store().move_tenant(&v_from, &v_to).await,
    ));
    TenantReport { stores }
}
