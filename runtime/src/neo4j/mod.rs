//! Neo4j backend (Bolt): tenant-scoped graph nodes whose every pattern carries the tenant, and
//! checked hand-written Cypher.
//!
//! ## Tenant boundary
//! Every node has the scope property (`org_id` or `user_id`). Every generated node pattern
//! carries `{org_id: $org_id}`, and `$org_id` is bound by the runtime from the [`Scoped`] handle,
//! never by the caller. Hand-written Cypher is accepted only as a [`CheckedCypher`], which the
//! `cypher!` macro produces after checking at compile time that every node pattern carries the
//! tenant predicate (or re-uses a variable bound by one that does) and that the text holds no
//! string literal: values travel as parameters only.
//!
//! Relationships are created only between nodes matched inside the tenant, so a path walked from
//! a tenant's node stays in the tenant; generated and example traversals also check every node
//! of the path.
//!
//! ## Test server
//! The tests run against ArcadeDB's Bolt plugin (it reports Neo4j 5 compatibility). Only standard
//! Neo4j 5 Cypher is used; `TENANT_STORE_NEO4J_URL` points the tests at a real Neo4j.

mod store;

use neo4rs::{BoltType, ConfigBuilder, Graph, Query, Row};

use crate::resilience::{Guard, Resilience};
use crate::{Error, Principal, Result, Scope};

pub use store::GraphEntity;
#[doc(hidden)]
pub use store::{create, delete, delete_tenant, find, get, list, move_tenant, update};

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct Neo4jConfig {
    /// `bolt://host:port` (or `neo4j://`).
    pub uri: String,
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
    /// Database name; `None` for the server's default.
    pub database: Option<String>,
}

/// A Neo4j connection pool with timeouts and a circuit breaker. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    graph: Graph,
    guard: Guard,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("guard", &self.guard)
            .finish_non_exhaustive()
    }
}

impl From<neo4rs::Error> for Error {
    fn from(e: neo4rs::Error) -> Self {
        match &e {
            neo4rs::Error::IOError { .. } | neo4rs::Error::ConnectionError => {
                Error::Unavailable(e.to_string())
            }
            neo4rs::Error::Neo4j(n) => {
                let code = n.code();
                if code.contains("ConstraintValidationFailed") || code.contains("DuplicatedRecord")
                {
                    Error::Duplicate
                } else if code.contains("Neo.ClientError.Statement") {
                    Error::InvalidInput(n.message().to_owned())
                } else if code.contains("TransientError") || code.contains("Unavailable") {
                    Error::Unavailable(n.message().to_owned())
                } else {
                    Error::Backend(Box::new(e))
                }
            }
            _ => Error::Backend(Box::new(e)),
        }
    }
}

impl Client {
    /// Connects and checks that the server answers (`RETURN 1`).
    pub async fn connect(config: &Neo4jConfig, resilience: Resilience) -> Result<Self> {
        let guard = Guard::new(resilience)?;
        let mut builder = ConfigBuilder::default()
            .uri(config.uri.as_str())
            .user(config.user.as_str())
            .password(config.password.as_str())
            .max_connections(8);
        if let Some(db) = &config.database {
            builder = builder.db(db.as_str());
        }
        let graph = Graph::connect(
            builder
                .build()
                .map_err(|e| Error::InvalidInput(e.to_string()))?,
        )
        .map_err(Error::from)?;
        let client = Self { graph, guard };
        client.rows(neo4rs::query("RETURN 1 AS one")).await?;
        Ok(client)
    }

    /// The handle through which one tenant's nodes are reached.
    pub fn scoped(&self, principal: &Principal) -> Scoped<'_> {
        Scoped::new(self, principal)
    }

    /// Whether the circuit breaker currently rejects calls.
    pub fn circuit_open(&self) -> bool {
        self.guard.is_open()
    }

    /// Applies a generated Cypher migration (statements separated by `;` at line ends).
    /// Infrastructure, not tenant data: every statement is `IF NOT EXISTS`.
    pub async fn apply_migration(&self, cypher: &str) -> Result<()> {
        for statement in cypher
            .split(";\n")
            .map(str::trim)
            .filter(|s| !s.is_empty() && !s.starts_with("//"))
        {
            let statement: String = statement
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            if !statement.trim().is_empty() {
                self.rows(neo4rs::query(statement.trim_end_matches(';')))
                    .await?;
            }
        }
        Ok(())
    }

    /// Runs a query under the timeout and the breaker and collects its rows.
    pub(crate) async fn rows(&self, q: Query) -> Result<Vec<Row>> {
        let graph = self.graph.clone();
        self.guard
            .run(async move {
                let mut stream = graph.execute(q).await?;
                let mut out = Vec::new();
                while let Some(row) = stream.next().await? {
                    out.push(row);
                }
                Ok(out)
            })
            .await
    }
}

/// One tenant's view of a [`Client`]: the only way generated Neo4j methods and checked Cypher
/// reach nodes.
pub type Scoped<'c> = crate::Scoped<'c, Client>;

impl<'c> Scoped<'c> {
    /// Starts a hand-written query; the tenant parameter is bound from this handle.
    pub fn query(&self, cypher: CheckedCypher) -> TenantQuery<'c> {
        let scope = if cypher.scope == "user_id" {
            Scope::UserId
        } else {
            Scope::OrgId
        };
        let query = neo4rs::query(cypher.text).param(cypher.scope, self.tenant(scope).to_string());
        TenantQuery {
            client: self.client(),
            query,
            scope: cypher.scope,
            error: None,
        }
    }
}

/// Converts a property value to a Bolt parameter through its JSON form.
pub fn to_bolt<T: serde::Serialize>(value: T) -> Result<BoltType> {
    let json = serde_json::to_value(value).map_err(|e| Error::InvalidInput(e.to_string()))?;
    BoltType::try_from(json).map_err(|e| Error::InvalidInput(e.to_string()))
}

/// Cypher that passed the `cypher!` macro's tenant checks.
#[derive(Debug, Clone, Copy)]
pub struct CheckedCypher {
    text: &'static str,
    scope: &'static str,
}

impl CheckedCypher {
    /// Made by the `cypher!` macro only.
    #[doc(hidden)]
    pub const fn __checked(text: &'static str, scope: &'static str) -> Self {
        Self { text, scope }
    }

    /// The query text.
    pub fn text(&self) -> &'static str {
        self.text
    }
}

/// A checked query with its parameters, bound to one tenant.
pub struct TenantQuery<'c> {
    client: &'c Client,
    query: Query,
    scope: &'static str,
    error: Option<Error>,
}

impl TenantQuery<'_> {
    /// Binds a parameter. The tenant parameter cannot be rebound.
    pub fn param<T: Into<BoltType>>(mut self, key: &str, value: T) -> Self {
        if key == self.scope {
            self.error = Some(Error::InvalidInput(format!(
                "`${key}` is bound from the tenant handle"
            )));
        } else {
            self.query = self.query.param(key, value);
        }
        self
    }

    /// Runs the query and returns its rows.
    pub async fn rows(self) -> Result<Vec<Row>> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.client.rows(self.query).await
    }

    /// Runs the query and decodes column `column` of every row as an entity node.
    pub async fn nodes<E: GraphEntity>(self, column: &str) -> Result<Vec<E>> {
        let rows = self.rows().await?;
        rows.iter()
            .map(|r| store::decode_node::<E>(r, column))
            .collect()
    }
}
