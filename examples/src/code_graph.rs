//! The code-graph stores (store 5 of the product plan) on Neo4j: SymbolStore, RegistryStore and
//! DependencyStore. Every node carries `org_id`; the dependency queries are hand-written Cypher
//! checked by `cypher!` at compile time.

use serde::{Deserialize, Serialize};
use tenant_store::neo4j::Scoped;
use tenant_store::{Error, Result, cypher, tenant_store};
use uuid::Uuid;

/// A symbol (function, type, ...) of an organisation's code.
#[tenant_store(backend = "neo4j", scope = "org_id", label = "CODE_SYMBOL")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Symbol {
    /// The symbol's id within the organisation.
    #[tenant_store(id)]
    pub id: String,
    /// The organisation: the tenant.
    pub org_id: Uuid,
    /// The symbol's name; `find_by_name` looks it up, listings filter and order by it.
    #[tenant_store(indexed, filter, order_by)]
    pub name: String,
    /// What it is: `fn`, `struct`, ...
    #[tenant_store(filter)]
    pub kind: String,
    /// The file it is defined in.
    #[tenant_store(filter)]
    pub file: String,
    /// The line it starts at.
    #[tenant_store(filter, order_by)]
    pub line: i64,
    /// The first line of its doc comment, if it has one.
    #[tenant_store(filter)]
    pub summary: Option<String>,
}

/// A repository registered by an organisation (RegistryStore: `Repo::store().create` registers).
#[tenant_store(backend = "neo4j", scope = "org_id", label = "CODE_REPO")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Repo {
    /// The repository's id within the organisation.
    #[tenant_store(id)]
    pub id: String,
    /// The organisation: the tenant.
    pub org_id: Uuid,
    /// Where it lives, e.g. a clone URL.
    #[tenant_store(indexed)]
    pub url: String,
    /// The default branch.
    pub default_branch: String,
}

/// Dependencies between an organisation's symbols.
#[derive(Debug, Clone, Copy, Default)]
pub struct DependencyStore;

/// The deepest dependency walk `get_dependencies` allows.
pub const MAX_DEPTH: i64 = 10;

impl DependencyStore {
    /// Records that `from` depends on `to`. Both must be symbols of the caller's organisation;
    /// otherwise nothing is created and the result is `Error::NotFound` (another organisation's
    /// symbol looks absent). Idempotent.
    pub async fn add_dependency(&self, scoped: &Scoped<'_>, from: &str, to: &str) -> Result<()> {
        let rows = scoped
            .query(cypher!(Symbol;
                "MATCH (a:CODE_SYMBOL {org_id: $org_id, id: $from}), (b:CODE_SYMBOL {org_id: $org_id, id: $to}) \
                 MERGE (a)-[r:CODE_DEPENDS_ON]->(b) RETURN count(r) AS n"
            ))
            .param("from", from)
            .param("to", to)
            .rows()
            .await?;
        let n: i64 = rows.first().and_then(|r| r.get("n").ok()).unwrap_or(0);
        if n == 0 { Err(Error::NotFound) } else { Ok(()) }
    }

    /// The symbols `id` depends on, directly or through up to `depth` hops, in id order. Every
    /// node of every path must be the caller's.
    pub async fn get_dependencies(
        &self,
        scoped: &Scoped<'_>,
        id: &str,
        depth: i64,
    ) -> Result<Vec<Symbol>> {
        if !(1..=MAX_DEPTH).contains(&depth) {
            return Err(Error::InvalidInput(format!(
                "depth {depth} is outside 1..={MAX_DEPTH}"
            )));
        }
        scoped.query(cypher!(Symbol;
            "MATCH p = (a:CODE_SYMBOL {org_id: $org_id, id: $id})-[:CODE_DEPENDS_ON*1..10]->(b:CODE_SYMBOL {org_id: $org_id}) \
             WHERE length(p) <= $depth AND all(n IN nodes(p) WHERE n.org_id = $org_id) \
             RETURN DISTINCT b ORDER BY b.id"
        ))
        .param("id", id)
        .param("depth", depth)
        .nodes::<Symbol>("b")
        .await
    }
}
