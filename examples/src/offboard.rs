//! Offboarding a tenant from every backend the example stores use, with the count per store.
//!
//! ## Order, atomicity, re-runs
//! 1. PostgreSQL, in one admin transaction (reason and operator audited in it): children before
//!    parents (status history, assignments, variants, experiments), then feedback and memories.
//!    All PostgreSQL tables are emptied for the tenant together, or none is.
//! 2. Valkey episodes, OpenSearch documents (and the tenant's alias), Neo4j symbols and repos
//!    (with their relationships), Qdrant embeddings: each store's `delete_tenant`.
//!
//! Every step deletes by the tenant's id and is idempotent: a run that failed or was cut short
//! is finished by running it again, which reports 0 for what was already gone.
//!
//! ## User- and org-scoped data
//! The tenant is a [`Principal`]: its `org_id` for the org-scoped stores and its `user_id` for the
//! user-scoped ones (memories, episodes). Nothing here maps an org to its users, so offboarding a
//! whole organisation means running this for each of its users' principals (the org-scoped
//! stores report 0 after the first).

use tenant_store::contract::{OffboardReport, Offboarding};
use tenant_store::{Error, Principal, Result};

use crate::code_graph::{Repo, Symbol};
use crate::embedding::Embedding;
use crate::episodic::Episode;
use crate::experiment::{Assignment, Experiment, StatusChange, Variant};
use crate::feedback::FeedbackEvent;
use crate::memory::Memory;
use crate::search::SearchDoc;

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
) -> OffboardReport {
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
