//! PostgreSQL backend: the audited connection pool, the tenant guard, and the column mapping the
//! generated stores and migrations use.
//!
//! ## Design
//! - [`Db`] wraps a `sqlx::PgPool`. [`Db::connect`] runs the start-up audit ([`audit`]) and
//!   refuses a role that could bypass Row Level Security.
//! - [`Db::begin`] takes a `&Principal` and returns a [`TenantTx`]: one simple-query message
//!   carries `BEGIN` and two `SET LOCAL`s (`tenant_store.user_id`, `tenant_store.org_id`), so the
//!   guard costs one round trip. `SET LOCAL` dies with the transaction: commit, rollback, an
//!   error, a panic or a dropped guard (sqlx queues the `ROLLBACK` and flushes it before the
//!   connection is pooled again) leave nothing behind on the connection.
//! - Every statement of a generated store, and every hand-written one, runs through the
//!   `TenantTx` executor methods, so RLS applies to all of them. A statement that fails marks the
//!   transaction aborted; `commit` then rolls back and says so instead of pretending success.
//! - The RLS policy reads the setting through `tenant_store_current(setting)`, which returns NULL
//!   (zero rows, no error) for an unset, empty or malformed value; the policy wraps it in a scalar
//!   sub-select so the planner evaluates it once per statement (an InitPlan) and can use the index
//!   that leads with the scope column.
//!
//! ## Pool choice
//! `test_before_acquire` is off: the `BEGIN` is the first message on an acquired connection and
//! serves as the liveness test, and [`Db::begin`] retries once on a fresh connection when that
//! first message meets a broken socket. This saves the ping's round trip on every acquire.

mod admin;
mod audit;
mod column;
pub mod migrate;
mod store;

use std::marker::PhantomData;
use std::time::Duration;

use sqlx::postgres::{PgArguments, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, Connection, Execute, Executor, Postgres};
use uuid::Uuid;

use crate::{Error, Principal, Result, Scope};

pub use admin::{AdminTx, MoveTable, Moved, audit_table_sql, move_tenant};
pub use audit::audit;
pub use column::{PgColumn, PgEntity};
#[doc(hidden)]
pub use store::{CHUNK, PgCrud, create, create_many, delete, delete_tenant, get, list, update};

/// The name of the transaction-local setting that holds the tenant of a scope.
pub fn setting_name(scope: Scope) -> &'static str {
    match scope {
        Scope::UserId => "tenant_store.user_id",
        Scope::OrgId => "tenant_store.org_id",
    }
}

/// An audited PostgreSQL connection pool. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    pool: PgPool,
}

impl Db {
    /// Connects with default pool options (10 connections, 5 s acquire timeout) and audits the role.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(Self::default_pool_options(), url).await
    }

    /// The pool options [`Db::connect`] uses, to start from when tuning.
    pub fn default_pool_options() -> PgPoolOptions {
        PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(5))
            .test_before_acquire(false)
    }

    /// Connects with the given pool options and audits the role.
    ///
    /// The audit runs on one direct connection first, so an unreachable server fails at once
    /// with [`Error::Unavailable`] instead of after the pool's acquire timeout.
    pub async fn connect_with(options: PgPoolOptions, url: &str) -> Result<Self> {
        let mut conn = PgConnection::connect(url).await?;
        audit(&mut conn).await?;
        // Closing politely is best effort; the audit result is what matters.
        let _ = conn.close().await;
        Ok(Self {
            pool: options.connect_lazy(url)?,
        })
    }

    /// Audits an existing pool's role and wraps the pool.
    pub async fn from_pool(pool: PgPool) -> Result<Self> {
        audit(&mut *pool.acquire().await?).await?;
        Ok(Self { pool })
    }

    /// Opens a transaction for `principal`'s tenant in one round trip.
    pub async fn begin(&self, principal: &Principal) -> Result<TenantTx<'_>> {
        // The only values rendered into SQL text: two `Uuid`s, whose hyphenated form is
        // `[0-9a-f-]{36}`. Nothing a caller types reaches this string.
        let sql = format!(
            "BEGIN; SET LOCAL tenant_store.user_id = '{}'; SET LOCAL tenant_store.org_id = '{}'",
            principal.user_id().hyphenated(),
            principal.org_id().hyphenated(),
        );
        self.begin_sql(sql, principal.user_id(), principal.org_id())
            .await
    }

    /// Opens an audited admin transaction: `actor` may [`enter`](AdminTx::enter) any tenant
    /// for `reason` (required, non-blank). It starts in no tenant; the opening audit row is
    /// written before this returns. See [`AdminTx`].
    pub async fn admin(&self, actor: &Principal, reason: &str) -> Result<AdminTx<'_>> {
        let sql = "BEGIN; SET LOCAL tenant_store.user_id = ''; SET LOCAL tenant_store.org_id = ''";
        let tx = self
            .begin_sql(sql.to_owned(), Uuid::nil(), Uuid::nil())
            .await?;
        AdminTx::open(tx, actor, reason).await
    }

    async fn begin_sql(&self, sql: String, user_id: Uuid, org_id: Uuid) -> Result<TenantTx<'_>> {
        let tx = match self.pool.begin_with(AssertSqlSafe(sql.clone())).await {
            // A pooled connection whose socket died while idle: nothing was done on it yet, so
            // one retry on a fresh connection is safe.
            Err(sqlx::Error::Io(_)) => self.pool.begin_with(AssertSqlSafe(sql)).await?,
            other => other?,
        };
        Ok(TenantTx {
            tx,
            user_id,
            org_id,
            aborted: false,
            _db: PhantomData,
        })
    }

    /// The underlying pool, for infrastructure work (health checks, metrics). Queries on it run
    /// without a tenant and see no tenant rows.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// A transaction bound to one tenant: the guard every generated PostgreSQL method requires.
///
/// Made only by [`Db::begin`] from a `&Principal`. Ends with [`commit`](Self::commit),
/// [`rollback`](Self::rollback), [`release`](Self::release), or by being dropped (rolled back).
#[must_use = "a tenant transaction does nothing until used, and rolls back when dropped"]
pub struct TenantTx<'db> {
    tx: sqlx::Transaction<'static, Postgres>,
    user_id: Uuid,
    org_id: Uuid,
    aborted: bool,
    _db: PhantomData<&'db Db>,
}

impl std::fmt::Debug for TenantTx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantTx")
            .field("user_id", &self.user_id)
            .field("org_id", &self.org_id)
            .field("aborted", &self.aborted)
            .finish_non_exhaustive()
    }
}

impl TenantTx<'_> {
    /// The tenant id this transaction is bound to for entities of `scope`.
    pub fn tenant(&self, scope: Scope) -> Uuid {
        match scope {
            Scope::UserId => self.user_id,
            Scope::OrgId => self.org_id,
        }
    }

    /// Whether a statement failed, which aborted the transaction in PostgreSQL.
    pub fn is_aborted(&self) -> bool {
        self.aborted
    }

    /// Commits. If an earlier statement failed, PostgreSQL has already aborted the transaction:
    /// this rolls back and returns an error rather than reporting a commit that did not happen.
    pub async fn commit(self) -> Result<()> {
        if self.aborted {
            self.tx.rollback().await?;
            return Err(Error::Backend(
                "the transaction was aborted by an earlier failed statement; it was rolled back"
                    .into(),
            ));
        }
        self.tx.commit().await.map_err(Error::from)
    }

    /// Rolls back and waits for the server's answer.
    pub async fn rollback(self) -> Result<()> {
        self.tx.rollback().await.map_err(Error::from)
    }

    /// Ends a read-only transaction without waiting: the `ROLLBACK` is queued and flushed before
    /// the connection is reused, so a guarded read costs two round trips (BEGIN + tenant; the
    /// query). Anything written in this transaction is discarded.
    pub fn release(self) {
        drop(self);
    }

    /// Runs a hand-written statement under this tenant's RLS and returns all rows.
    pub async fn fetch_all<'q, E>(&mut self, query: E) -> Result<Vec<PgRow>>
    where
        E: Execute<'q, Postgres> + 'q,
    {
        let res = (&mut *self.tx).fetch_all(query).await;
        self.track(res)
    }

    /// Runs a hand-written statement under this tenant's RLS and returns at most one row.
    pub async fn fetch_optional<'q, E>(&mut self, query: E) -> Result<Option<PgRow>>
    where
        E: Execute<'q, Postgres> + 'q,
    {
        let res = (&mut *self.tx).fetch_optional(query).await;
        self.track(res)
    }

    /// Runs a hand-written statement under this tenant's RLS and returns the affected row count.
    pub async fn execute<'q, E>(&mut self, query: E) -> Result<u64>
    where
        E: Execute<'q, Postgres> + 'q,
    {
        let res = (&mut *self.tx)
            .execute(query)
            .await
            .map(|r| r.rows_affected());
        self.track(res)
    }

    fn track<T>(&mut self, res: std::result::Result<T, sqlx::Error>) -> Result<T> {
        res.map_err(|e| {
            self.aborted = true;
            Error::from(e)
        })
    }
}

/// A plain sqlx query with arguments, as the generated code builds them.
pub type PgQuery<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

/// Binds one column value (bounded by [`PgColumn`], so a bad type names that trait).
pub(crate) fn bind_value<T: PgColumn>(q: PgQuery<'_>, value: T) -> PgQuery<'_> {
    q.bind(value)
}
