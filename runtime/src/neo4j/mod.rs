//! Neo4j backend (Bolt): tenant-scoped graph nodes whose every pattern carries the tenant, and
//! checked hand-written Cypher.
//!
//! ## Tenant boundary
//! Every node has the scope property (`org_id` or `user_id`). Every generated node pattern
//! carries `{org_id: $org_id}`, and `$org_id` is bound by the runtime from the [`Scoped`] handle,
//! never by the caller. Hand-written Cypher is accepted only as a [`CheckedCypher`], and the only
//! way to make one runs the tenant check (crate `tenant-store-cypher`, on the `open-cypher`
//! parser): every node pattern carries the tenant predicate or re-uses a variable bound by one
//! in scope, the scope property is never written, no procedures or label expressions, values
//! travel as parameters only. `cypher!` runs it at compile time and again at run time.
//!
//! The generated queries are built here from the entity's label and property names (checked
//! identifiers), not taken from the entity: a hand-written [`GraphEntity`] impl can name a
//! label, never a query. And every node a query returns is checked against the caller's tenant
//! before it is decoded.
//!
//! Relationships are created only between nodes matched inside the tenant, so a path walked from
//! a tenant's node stays in the tenant; generated and example traversals also check every node
//! of the path.
//!
//! ## Test server
//! The tests run against ArcadeDB's Bolt plugin (it reports Neo4j 5 compatibility). Only standard
//! Neo4j 5 Cypher is used; `TENANT_STORE_NEO4J_URL` points the tests at a real Neo4j.

pub mod evolve;
mod store;

use neo4rs::{BoltType, ConfigBuilder, Graph, Query, Row};

use crate::resilience::{CallPolicy, Resilience};
use crate::{Error, Principal, Result, Scope};

pub use store::{GraphEntity, MAX_LIMIT, Queries, Store, queries};
/// The functions checked Cypher may call: pure functions of their arguments (anything that can
/// reach the graph by itself, procedures, `apoc.*` or user-defined functions, is left out).
pub use tenant_store_cypher::FUNCTIONS as CYPHER_FUNCTIONS;

crate::document::guarded_client!();

/// The Bolt driver this crate is built with. Checked queries take its parameter values and
/// return its rows, so name its types from here (`tenant_store::neo4j::neo4rs::Row`) rather
/// than depending on it yourself. It is pinned to exactly `0.9.0-rc.11`, the release this
/// crate is tested with: its release candidates change their API, and no 0.9.0 is out yet. A
/// project that also depends on `neo4rs` directly must use the same version until then.
pub use neo4rs;

/// Where and how to connect.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Neo4jConfig {
    /// `bolt://host:port` (or `neo4j://`); `bolt+s://` or `neo4j+s://` for TLS, the server's
    /// certificate checked against the public web roots, or against [`ca_file`](Self::ca_file).
    pub uri: String,
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
    /// Database name; `None` for the server's default.
    pub database: Option<String>,
    /// A private certificate authority (a PEM file) to check the server's certificate against.
    pub ca_file: Option<std::path::PathBuf>,
}

impl Neo4jConfig {
    /// From `TENANT_STORE_NEO4J_URL` (required), `TENANT_STORE_NEO4J_USER`,
    /// `TENANT_STORE_NEO4J_PASSWORD`, `TENANT_STORE_NEO4J_DATABASE` and
    /// `TENANT_STORE_NEO4J_CA_FILE`.
    pub fn from_env() -> Result<Self> {
        let var = |name: &str| std::env::var(name).ok();
        let uri = var("TENANT_STORE_NEO4J_URL").ok_or_else(|| {
            Error::InvalidInput(
                "TENANT_STORE_NEO4J_URL is not set (e.g. neo4j+s://host:7687)".into(),
            )
        })?;
        Ok(Self {
            uri,
            user: var("TENANT_STORE_NEO4J_USER").unwrap_or_else(|| "neo4j".into()),
            password: var("TENANT_STORE_NEO4J_PASSWORD").unwrap_or_default(),
            database: var("TENANT_STORE_NEO4J_DATABASE"),
            ca_file: var("TENANT_STORE_NEO4J_CA_FILE").map(Into::into),
        })
    }
}

impl std::fmt::Debug for Neo4jConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Neo4jConfig")
            .field("uri", &self.uri)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("database", &self.database)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// A Neo4j connection pool with timeouts and a circuit breaker. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    graph: Graph,
    policy: CallPolicy,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl From<neo4rs::Error> for Error {
    fn from(e: neo4rs::Error) -> Self {
        match &e {
            neo4rs::Error::IOError { .. } | neo4rs::Error::ConnectionError => {
                Error::Unavailable(e.to_string())
            }
            neo4rs::Error::AuthenticationError(m) => Error::Credentials(m.clone()),
            neo4rs::Error::Neo4j(n) => {
                let code = n.code();
                if code.contains("ConstraintValidationFailed") || code.contains("DuplicatedRecord")
                {
                    Error::Duplicate
                } else if code.starts_with("Neo.ClientError.Security") {
                    Error::Credentials(n.message().to_owned())
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
    /// The handle through which one tenant's nodes are reached.
    pub fn scoped(&self, principal: &Principal) -> Scoped<'_> {
        Scoped::new(self, principal)
    }

    /// Connects and checks that the server answers (`RETURN 1`).
    pub async fn connect(config: &Neo4jConfig, resilience: Resilience) -> Result<Self> {
        crate::install_tls_provider();
        let mut builder = ConfigBuilder::default()
            .uri(config.uri.as_str())
            .user(config.user.as_str())
            .password(config.password.as_str())
            .max_connections(8);
        if let Some(db) = &config.database {
            builder = builder.db(db.as_str());
        }
        if let Some(ca) = &config.ca_file {
            builder = builder.with_client_certificate(ca);
        }
        let graph = Graph::connect(
            builder
                .build()
                .map_err(|e| Error::InvalidInput(e.to_string()))?,
        )
        .map_err(Error::from)?;
        Self::from_graph_at(graph, resilience, format!("neo4j at {}", config.uri)).await
    }

    /// Connects through a driver the application built itself ([`neo4rs`] is this crate's),
    /// and checks that the server answers (`RETURN 1`).
    pub async fn from_graph(graph: Graph, resilience: Resilience) -> Result<Self> {
        let endpoint = "neo4j (through the application's driver)".to_owned();
        Self::from_graph_at(graph, resilience, endpoint).await
    }

    async fn from_graph_at(graph: Graph, resilience: Resilience, endpoint: String) -> Result<Self> {
        crate::install_tls_provider();
        let policy = CallPolicy::new(resilience, endpoint)?;
        let client = Self { graph, policy };
        client.rows(None, neo4rs::query("RETURN 1 AS one")).await?;
        Ok(client)
    }

    /// Applies a generated Cypher migration (statements separated by `;` at line ends, `//`
    /// comment lines). Infrastructure, not tenant data: it takes text, so it accepts only the
    /// schema statements tenant-store generates (`CREATE INDEX`/`CREATE CONSTRAINT ... IF NOT
    /// EXISTS FOR (n:Label) ...` on properties, `DROP INDEX`/`DROP CONSTRAINT <name> IF
    /// EXISTS`) and checks every statement before running any; anything else is
    /// [`Error::InvalidInput`], so this is no way around `cypher!`.
    pub async fn apply_migration(&self, cypher: &str) -> Result<()> {
        let statements = evolve::statements(cypher);
        if let Some(bad) = statements.iter().find(|s| !store::is_schema_statement(s)) {
            return Err(Error::InvalidInput(format!(
                "not a schema statement tenant-store generates: `{bad}`"
            )));
        }
        for statement in statements {
            self.rows(None, neo4rs::query(&statement)).await?;
        }
        Ok(())
    }

    /// Applies every generated migration of `dir` in order (see [`evolve`]: each statement is
    /// idempotent, so this runs at every deploy) and returns the files applied. Files the user
    /// wrote in the folder are not run.
    pub async fn apply_migrations(&self, dir: &std::path::Path) -> Result<Vec<String>> {
        let files = evolve::generated_files(dir).map_err(|e| Error::InvalidInput(e.to_string()))?;
        let mut applied = Vec::with_capacity(files.len());
        for f in files {
            self.apply_migration(&f.sql).await.map_err(|e| match e {
                Error::InvalidInput(m) => Error::InvalidInput(format!("{}: {m}", f.file_name)),
                other => other,
            })?;
            applied.push(f.file_name);
        }
        Ok(applied)
    }

    /// Runs a query under the timeout and the breaker and collects its rows.
    pub(crate) async fn rows(
        &self,
        tenant: crate::resilience::Tenant,
        q: Query,
    ) -> Result<Vec<Row>> {
        let graph = self.graph.clone();
        self.policy
            .run(tenant, async move {
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
        let (query, scope, error) = match cypher.scope {
            Ok(scope) => (
                neo4rs::query(cypher.text).param(scope.as_str(), self.tenant(scope).to_string()),
                scope,
                None,
            ),
            Err(e) => (
                neo4rs::query(""),
                Scope::OrgId,
                Some(Error::InvalidInput(e)),
            ),
        };
        TenantQuery {
            client: self.client(),
            breaker: self.breaker_key(scope),
            query,
            scope,
            tenant: self.tenant(scope).to_string(),
            error,
        }
    }
}

/// Converts a property value to a Bolt parameter through its JSON form.
pub fn to_bolt<T: serde::Serialize>(value: T) -> Result<BoltType> {
    let json = serde_json::to_value(value).map_err(|e| Error::InvalidInput(e.to_string()))?;
    BoltType::try_from(json).map_err(|e| Error::InvalidInput(e.to_string()))
}

/// Cypher that passed the tenant check (the crate `tenant-store-cypher`: every node pattern
/// carries `org_id: $org_id` or re-uses a variable bound by one in scope, no write of the scope,
/// no procedures, no label expressions; see the `cypher!` macro).
///
/// There is no way to make one without the check: [`CheckedCypher::new`] runs it, and the
/// `cypher!` macro runs it at compile time and again (once per call site) through `new`.
#[derive(Debug, Clone)]
pub struct CheckedCypher {
    text: &'static str,
    /// The query's scope, or why the check refused it (reported when the query runs).
    scope: std::result::Result<Scope, String>,
}

/// The entities a checked query is declared for: a tuple of [`GraphEntity`] types. Every label
/// the query names must be one of theirs, and they must share the query's scope.
///
/// Sealed: implemented for tuples of one to six entities only, so a hand-written impl cannot
/// declare a label under a scope its entity does not have.
pub trait Entities: sealed::Sealed {
    /// (label, scope) of each entity.
    const LABELS: &'static [(&'static str, Scope)];
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! entities {
    ($($t:ident),+) => {
        impl<$($t: GraphEntity),+> sealed::Sealed for ($($t,)+) {}
        impl<$($t: GraphEntity),+> Entities for ($($t,)+) {
            const LABELS: &'static [(&'static str, Scope)] = &[$(($t::LABEL, $t::SCOPE)),+];
        }
    };
}

/// For `cypher!`'s compile-time assertion: whether one of the entities has this label.
#[doc(hidden)]
pub const fn __declares_label<L: Entities>(label: &str) -> bool {
    let mut i = 0;
    while i < L::LABELS.len() {
        let (a, b) = (L::LABELS[i].0.as_bytes(), label.as_bytes());
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return true;
            }
        }
        i += 1;
    }
    false
}

/// For `cypher!`'s compile-time assertion: whether every entity has this scope.
#[doc(hidden)]
pub const fn __all_scoped<L: Entities>(scope: Scope) -> bool {
    let mut i = 0;
    while i < L::LABELS.len() {
        if L::LABELS[i].1 as u8 != scope as u8 {
            return false;
        }
        i += 1;
    }
    true
}
entities!(A);
entities!(A, B);
entities!(A, B, C);
entities!(A, B, C, D);
entities!(A, B, C, D, E);
entities!(A, B, C, D, E, F);

impl CheckedCypher {
    /// Checks `text` with the rules of `cypher!` and its labels against the entities `L`;
    /// [`Error::InvalidInput`] listing every violation otherwise.
    pub fn new<L: Entities>(text: &'static str) -> Result<Self> {
        let scope = check::<L>(text).map_err(Error::InvalidInput)?;
        Ok(Self {
            text,
            scope: Ok(scope),
        })
    }

    /// For `cypher!`: the same check, cached per call site; a failure surfaces when the query
    /// runs (the macro has already refused any text that fails, so this is defence in depth).
    #[doc(hidden)]
    pub fn __cached<L: Entities>(
        cell: &'static std::sync::OnceLock<CheckedCypher>,
        text: &'static str,
    ) -> Self {
        cell.get_or_init(|| Self {
            text,
            scope: check::<L>(text),
        })
        .clone()
    }

    /// The query text.
    pub fn text(&self) -> &'static str {
        self.text
    }
}

fn check<L: Entities>(text: &str) -> std::result::Result<Scope, String> {
    let checked = tenant_store_cypher::check(text).map_err(|violations| {
        violations
            .iter()
            .map(|v| v.message.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    let scope = if checked.scope == Scope::UserId.as_str() {
        Scope::UserId
    } else {
        Scope::OrgId
    };
    // The same tests `cypher!` asserts at compile time, so there is one definition of each.
    if !__all_scoped::<L>(scope) {
        return Err(format!(
            "the query is scoped by `{}`; every entity it is declared for must be too",
            scope.as_str()
        ));
    }
    if let Some(l) = checked.labels.iter().find(|l| !__declares_label::<L>(l)) {
        return Err(format!(
            "label `{l}` is not the label of an entity the query is declared for"
        ));
    }
    Ok(scope)
}

/// The first `__tenant_store_*` key in a map of `value`, at any depth (a list of maps
/// included): the runtime's own properties, which no parameter may write.
fn reserved_key(value: &BoltType) -> Option<String> {
    match value {
        BoltType::Map(m) => m.value.iter().find_map(|(k, v)| {
            k.value
                .starts_with(tenant_store_cypher::RESERVED_PREFIX)
                .then(|| k.value.clone())
                .or_else(|| reserved_key(v))
        }),
        BoltType::List(l) => l.value.iter().find_map(reserved_key),
        _ => None,
    }
}

/// A checked query with its parameters, bound to one tenant.
pub struct TenantQuery<'c> {
    client: &'c Client,
    breaker: crate::resilience::Tenant,
    query: Query,
    scope: Scope,
    tenant: String,
    error: Option<Error>,
}

impl TenantQuery<'_> {
    /// Binds a parameter. The tenant parameters cannot be bound by hand (`org_id`, `user_id`:
    /// the handle binds its scope's), and a key must be a plain name (`A-Z a-z 0-9 _`, not
    /// starting with a digit), the only spelling a checked query's `$name` can have.
    pub fn param<T: Into<BoltType>>(mut self, key: &str, value: T) -> Self {
        let plain = key
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        let value = value.into();
        if tenant_store_cypher::SCOPES.contains(&key) {
            self.error = Some(Error::InvalidInput(format!(
                "`${key}` is a tenant parameter: the tenant handle binds it"
            )));
        } else if !plain {
            self.error = Some(Error::InvalidInput(format!(
                "parameter name {key:?} is not a plain name (`A-Z a-z 0-9 _`, not starting with a digit)"
            )));
        } else if let Some(reserved) = reserved_key(&value) {
            self.error = Some(Error::InvalidInput(format!(
                "parameter `${key}` holds the key `{reserved}`: `__tenant_store_*` properties are \
                 the runtime's own, and a map parameter (`SET n += ${key}`) must not write them"
            )));
        } else {
            self.query = self.query.param(key, value);
        }
        self
    }

    /// Runs the query and returns its rows. Defence in depth: a row holding a node (alone, in a
    /// list, map or path) whose scope property is not the caller's tenant is dropped, as if
    /// absent, and logged as an error: the check makes that impossible, so it means a bug.
    pub async fn rows(self) -> Result<Vec<Row>> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let rows = self.client.rows(self.breaker, self.query).await?;
        let scope = self.scope.as_str();
        Ok(rows
            .into_iter()
            .filter(|row| {
                let mine = store::row_is_tenants(row, scope, &self.tenant);
                if !mine {
                    tracing::error!(
                        scope,
                        "a checked query returned a node of another tenant; row dropped"
                    );
                }
                mine
            })
            .collect())
    }

    /// Runs the query and decodes column `column` of every row as an entity node; a node
    /// without `E`'s label is an error, one of another tenant is dropped (see [`Self::rows`]).
    pub async fn nodes<E: GraphEntity>(self, column: &str) -> Result<Vec<E>> {
        if E::SCOPE != self.scope {
            return Err(Error::InvalidInput(format!(
                "`{}` is scoped by `{}`, the query by `{}`",
                E::ENTITY,
                E::SCOPE.as_str(),
                self.scope.as_str()
            )));
        }
        let tenant = self.tenant.clone();
        let mut out = Vec::new();
        for row in &self.rows().await? {
            out.extend(store::decode_node::<E>(row, column, &tenant)?);
        }
        Ok(out)
    }
}
