//! PostgreSQL backend: the audited connection pool, the tenant guard, and the column mapping the
//! generated stores and migrations use.
//!
//! ## Design
//! - [`Db`] holds a pool of connections and the application's [`SigningKey`].
//!   [`Db::connect`] runs the start-up audit ([`audit`]), then checks that the database accepts a
//!   context signed with that key, and refuses to run otherwise.
//! - [`Db::begin`] takes a `&Principal` and returns a [`TenantTx`]: one simple-query message
//!   sends `BEGIN` and reads back the transaction's start, which the token is bound to, so the
//!   guard costs one round trip and no token or tenant id is ever in SQL text (another session
//!   of the role sees every session's statement text in `pg_stat_activity`). The token is
//!   signed ([`context`]): SQL that sets the context by hand cannot claim another tenant, and
//!   this transaction's token verifies in no other. Generated statements set it in their gate;
//!   hand-written SQL gets it set, bound, in one more round trip before its first statement.
//!   The setting is transaction-local and dies with the transaction.
//! - [`Db::tenant`] takes a `&Principal` and returns a [`TenantDb`], for single operations:
//!   each generated store call on it is one statement that sets the signed context itself, in
//!   a *gate* its scan cannot start before, and runs alone (its implicit transaction commits and
//!   drops the setting at the protocol's Sync). One round trip per call, nothing sent as the
//!   connection goes back to the pool; [`run`] explains the mechanism and what it rests on.
//! - Store methods take either guard ([`Guard`]). In a `TenantTx` every generated statement
//!   joins the transaction (its gate re-sets the same context). A statement that fails marks
//!   the transaction aborted; `commit` then rolls back and says so instead of pretending
//!   success.
//! - Hand-written SQL goes through the same `TenantTx` ([`TenantTx::fetch_all`] and friends) and
//!   marks the connection dirty: the message that ends the transaction also resets the session,
//!   so nothing it left (settings, cursors, `LISTEN`) reaches the next user.
//! - The RLS policy reads the tenant through `tenant_store_private.current_tenant(scope)`, which
//!   returns NULL (zero rows, no error) unless the context verifies; the policy wraps it in a
//!   scalar sub-select so the planner evaluates it once per statement (an InitPlan) and can use
//!   the index that leads with the scope column.
//! - Every generated and runtime statement names its tables with their schema, so nothing on
//!   the connection's `search_path` (a temporary table, say) can stand in for them.
//!
//! ## Connections
//! The pool is `deadpool`'s generic pool over sqlx connections, because the signed context
//! names the backend pid, which sqlx's own pool cannot carry per connection: each connection's
//! pid and clock offset are read once when it opens. Handing a connection out sends nothing; a
//! dead one shows on the call's first message, which every path sends again on another
//! connection (`pool::Lease::first`). A connection comes back idle and outside any transaction
//! or is closed (`pool`).
//!
//! What hand-written SQL can leave on a session and how it is handled, in the same message
//! that ends the transaction (no extra round trip): settings (`set_config(.., false)`, `SET`,
//! `SET ROLE`), `WITH HOLD` cursors, `LISTEN`, advisory locks and temporary objects are reset;
//! prepared statements are checked instead (resetting them would drop sqlx's statement cache),
//! and a session holding one that sqlx did not make (which could stand in for a generated
//! statement in the next tenant's transaction) is closed instead of pooled. Transactions that
//! ran only generated statements skip all of this. A guard dropped without an end is rolled
//! back and cleaned the same way by a spawned task before its connection is reused.

mod admin;
mod audit;
mod behind;
mod column;
pub mod context;
pub mod data_migration;
pub mod evolve;
pub mod keys;
pub mod migrate;
mod pool;
pub mod run;
pub(crate) mod store;

use std::marker::PhantomData;
use std::time::Duration;

use sqlx::postgres::{PgArguments, PgConnectOptions, PgConnection, PgRow};
use sqlx::{AssertSqlSafe, Execute, Executor, Postgres};
use uuid::Uuid;

use crate::query::CursorKey;
use crate::{Error, Principal, Result, Scope};

/// Registers the admin scope's audit table for the migrations:
/// `tenant_store::postgres::admin_audit!();` (see [`Db::admin`]).
pub use crate::__pg_admin_audit as admin_audit;
/// Allows the next migration to drop a table no entity declares any more, with its rows:
/// `tenant_store::postgres::drop_table!("public", "episodes");` (see [`evolve`]).
pub use crate::__pg_drop_table as drop_table;
pub use admin::{AdminTx, MoveTable, Moved, audit_table_sql, move_tenant};
pub use audit::audit;
pub use column::{PgColumn, PgEntity};
pub use context::SigningKey;
pub use run::{Guard, TenantDb};
/// The sqlx this crate is built with: name its types (`sqlx::postgres::PgConnectOptions` for
/// [`Db::connect_with_options`]) from here, so the two versions cannot drift apart.
pub use sqlx;
#[doc(hidden)]
pub use store::Columns;
#[doc(hidden)]
pub use store::PgCrud;
pub use store::{AppendOnly, CHUNK, Kind, Mutable, Store, Updatable, Versioned};

use pool::{Lease, Session};

/// Pool and guard settings for [`Db::connect_with`].
#[derive(Debug, Clone)]
pub struct DbOptions {
    max_connections: u32,
    acquire_timeout: Duration,
    connect_timeout: Duration,
    token_ttl: Duration,
    max_lifetime: Option<Duration>,
    idle_timeout: Option<Duration>,
    entities: Option<evolve::Entities>,
}

impl Default for DbOptions {
    /// 10 connections, a 5 s acquire timeout, 30 s for [`Db::connect`], tokens accepted for
    /// [`DEFAULT_TOKEN_TTL`](context::DEFAULT_TOKEN_TTL), connections retired after 30 minutes
    /// or 10 minutes unused (sqlx's defaults).
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(30),
            token_ttl: context::DEFAULT_TOKEN_TTL,
            max_lifetime: Some(Duration::from_secs(30 * 60)),
            idle_timeout: Some(Duration::from_secs(10 * 60)),
            entities: None,
        }
    }
}

impl DbOptions {
    /// The most connections the pool opens (at least 1).
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How long [`Db::begin`] waits for a connection before [`Error::Timeout`].
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// How long [`Db::connect`] may take: the first connection and the start-up checks on it
    /// (a loaded machine may take longer to open a connection than to answer a query). Past
    /// it, [`Error::Timeout`] naming the server.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Closes a connection this old instead of handing it out (`None`: never), so server-side
    /// memory and a failover's stale routes do not live forever.
    pub fn max_lifetime(mut self, max: Option<Duration>) -> Self {
        self.max_lifetime = max;
        self
    }

    /// Closes a connection not handed out for this long instead of handing it out (`None`:
    /// never). Checked when the pool would hand it out.
    pub fn idle_timeout(mut self, idle: Option<Duration>) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// How long after it is made a tenant context still opens a transaction. Short, so a token
    /// seen by hostile SQL is useless soon after; long enough for one network hop plus the
    /// error of the clock offset measured at connect.
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// The entities this `Db` serves. [`Db::connect`] refuses a database whose tables lack a
    /// column they use (or have it with another type or nullability), or lack the table,
    /// naming each gap: a release started before its migrations.
    ///
    /// Without this: every registered entity ([`evolve::Entities::registered`]) whose table
    /// the database has. A program may serve several databases, so a table this one lacks is
    /// taken to be another's; a table two entities of the program declare (two versions of one
    /// entity in a test binary) is skipped, since nothing says which this `Db` serves.
    pub fn entities(mut self, entities: evolve::Entities) -> Self {
        self.entities = Some(entities);
        self
    }
}

/// The state of a [`Db`]'s pool ([`Db::pool_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStatus {
    /// The most connections the pool opens.
    pub max_size: usize,
    /// Connections open now, handed out or not.
    pub size: usize,
    /// Connections open and idle in the pool.
    pub available: usize,
    /// Calls waiting for a connection.
    pub waiting: usize,
}

/// An audited PostgreSQL connection pool that signs tenant contexts. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: std::sync::Arc<Inner>,
}

struct Inner {
    pool: pool::Pool,
    options: PgConnectOptions,
    key: SigningKey,
    /// Seals the listings' cursors; derived from the signing key, so every instance of the
    /// application accepts the others' cursors.
    cursor_key: CursorKey,
    ttl_ms: i64,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("key", &self.inner.key)
            .field("status", &self.inner.pool.status())
            .finish_non_exhaustive()
    }
}

impl Db {
    /// Connects with [`DbOptions::default`], audits the role and checks the key.
    pub async fn connect(url: &str, key: SigningKey) -> Result<Self> {
        Self::connect_with(url, key, DbOptions::default()).await
    }

    /// [`connect`](Self::connect) to `TENANT_STORE_PG_URL` (the application role's URL, TLS
    /// parameters included) with the key in `TENANT_STORE_PG_KEY` ([`SigningKey::from_env`]).
    pub async fn connect_from_env() -> Result<Self> {
        let url = std::env::var("TENANT_STORE_PG_URL").map_err(|_| {
            Error::InvalidInput(
                "TENANT_STORE_PG_URL is not set (e.g. postgres://app@host/db?sslmode=verify-full)"
                    .into(),
            )
        })?;
        Self::connect(&url, SigningKey::from_env()?).await
    }

    /// Connects with the given options, audits the role, checks that the tables have what the
    /// entities use ([`DbOptions::entities`]), and that the database accepts a tenant context
    /// signed with `key`.
    ///
    /// Both run on one direct connection first, so an unreachable server fails at once with
    /// [`Error::Unavailable`] instead of after the pool's acquire timeout.
    ///
    /// The URL takes libpq's parameters, TLS included: `sslmode=verify-full` with
    /// `sslrootcert=/path/ca.pem` checks the server's certificate and host name (the public web
    /// roots are trusted too); `sslmode=require` encrypts without checking. The password may be
    /// in the URL or in `PGPASSWORD`.
    pub async fn connect_with(url: &str, key: SigningKey, options: DbOptions) -> Result<Self> {
        let connect: PgConnectOptions = url
            .parse()
            .map_err(|e| Error::InvalidInput(format!("invalid PostgreSQL URL: {e}")))?;
        Self::connect_with_options(connect, key, options).await
    }

    /// Like [`connect_with`](Self::connect_with), from connect options the application built
    /// itself (credentials from a secret store, TLS files, an application name, ...). The
    /// start-up audit runs all the same.
    pub async fn connect_with_options(
        connect: PgConnectOptions,
        key: SigningKey,
        options: DbOptions,
    ) -> Result<Self> {
        let endpoint = pool::endpoint(&connect);
        let ttl_ms = i64::try_from(options.token_ttl.as_millis()).unwrap_or(i64::MAX);
        let checks = async {
            let mut session = Session::open(&connect).await?;
            audit(&mut session.conn).await?;
            let behind = behind::check(&mut session.conn, options.entities.as_ref()).await?;
            if !behind.is_empty() {
                return Err(Error::Audit(behind.join("; ")));
            }
            check_key(&mut session, &key, ttl_ms).await?;
            // Closing politely is best effort; the checks are what matter.
            let _ = sqlx::Connection::close(session.conn).await;
            Ok(())
        };
        match tokio::time::timeout(options.connect_timeout, checks).await {
            Ok(done) => done.map_err(|e| pool::name_endpoint(&endpoint, e))?,
            Err(_) => {
                return Err(Error::Timeout(format!(
                    "{endpoint}: connecting and the start-up checks took longer than {} ms \
                     (`DbOptions::connect_timeout`)",
                    options.connect_timeout.as_millis()
                )));
            }
        }
        let manager = pool::Manager {
            endpoint,
            options: connect.clone(),
            max_lifetime: options.max_lifetime,
            idle_timeout: options.idle_timeout,
        };
        let pool = pool::build(
            manager,
            options.max_connections as usize,
            options.acquire_timeout,
        )?;
        Ok(Self {
            inner: std::sync::Arc::new(Inner {
                pool,
                options: connect,
                cursor_key: CursorKey::derive(key.secret()),
                key,
                ttl_ms,
            }),
        })
    }

    /// Opens a transaction for `principal`'s tenant in one round trip.
    pub async fn begin(&self, principal: &Principal) -> Result<TenantTx<'_>> {
        self.begin_as(Some(principal)).await
    }

    /// `principal`'s tenant, for single operations: each generated store call on the
    /// [`TenantDb`] is one statement, one round trip, committed on its own. Sends nothing.
    pub fn tenant(&self, principal: &Principal) -> TenantDb<'_> {
        TenantDb::new(self, principal)
    }

    /// Opens an audited admin transaction: `actor` may [`enter`](AdminTx::enter) any tenant
    /// for `reason` (required, non-blank). It starts in no tenant; the opening audit row is
    /// committed before this returns. See [`AdminTx`].
    pub async fn admin(&self, actor: &Principal, reason: &str) -> Result<AdminTx<'_>> {
        AdminTx::open(self, actor, reason).await
    }

    /// A transaction for `principal`'s tenant, or for no tenant at all (it sees no tenant rows).
    ///
    /// One message opens it and reads back its start, which the tenant's token is then bound
    /// to ([`context::Bound::Transaction`]): no token and no tenant id travels in SQL text, and
    /// the token verifies in this transaction only. Generated statements set it in their gate;
    /// hand-written SQL gets it set (bound) before its first statement.
    async fn begin_as(&self, principal: Option<&Principal>) -> Result<TenantTx<'_>> {
        let (lease, answer) = Lease::first(
            &self.inner.pool,
            |lease| {
                // From the BEGIN on, a lease given back unfinished is rolled back first.
                lease.in_tx = true;
                Ok(sqlx::raw_sql(AssertSqlSafe(format!(
                    "BEGIN; SELECT {}",
                    migrate::TRANSACTION_START_US
                ))))
            },
            Error::from,
        )
        .await?;
        let started_us = answer
            .rows
            .first()
            .map(|row| sqlx::Row::try_get::<i64, _>(row, 0))
            .transpose()?
            .ok_or_else(|| Error::Backend("BEGIN returned no transaction start".into()))?;
        let (user_id, org_id) =
            principal.map_or((Uuid::nil(), Uuid::nil()), |p| (p.user_id(), p.org_id()));
        // No principal: an empty context, which verifies for no tenant.
        let token = match principal {
            Some(_) => self.transaction_token(lease.session(), started_us, user_id, org_id),
            None => String::new(),
        };
        Ok(TenantTx {
            lease: Some(lease),
            user_id,
            org_id,
            token,
            started_us,
            context_set: principal.is_none(),
            aborted: false,
            cursor_key: &self.inner.cursor_key,
        })
    }

    /// The signed context for one statement on `session` that runs in a transaction of its
    /// own, speaking for (`user_id`, `org_id`): accepted for the configured
    /// [`token_ttl`](DbOptions::token_ttl).
    fn statement_token(&self, session: &Session, user_id: Uuid, org_id: Uuid) -> String {
        statement_token(&self.inner.key, self.inner.ttl_ms, session, user_id, org_id)
    }

    /// The signed context for the transaction on `session` that started at `started_us`.
    fn transaction_token(
        &self,
        session: &Session,
        started_us: i64,
        user_id: Uuid,
        org_id: Uuid,
    ) -> String {
        let bound = context::Bound::Transaction(started_us);
        self.inner.key.token(session.pid, bound, user_id, org_id)
    }

    /// A pooled connection outside any tenant, for infrastructure work (health checks,
    /// metrics). Its queries see no tenant rows; whatever they leave on the session is reset
    /// before the connection is pooled again.
    ///
    /// It is handed out like every other connection (`pool::Lease::first`): an
    /// empty statement goes first, so a connection the server ended while it sat in the pool is
    /// replaced instead of failing the caller's first query. Given back, the connection is
    /// reset, and closed instead of pooled when anything is left that a reset cannot clear (a
    /// transaction or savepoint still open, a `COPY` in progress, prepared statements).
    pub async fn raw(&self) -> Result<RawConn<'_>> {
        let (lease, _) = Lease::first(
            &self.inner.pool,
            |lease| {
                lease.dirty = true;
                Ok(sqlx::raw_sql(AssertSqlSafe(";")))
            },
            Error::from,
        )
        .await?;
        Ok(RawConn {
            lease,
            _db: PhantomData,
        })
    }

    /// The pool's state now: for metrics and health checks.
    pub fn pool_status(&self) -> PoolStatus {
        let s = self.inner.pool.status();
        PoolStatus {
            max_size: s.max_size,
            size: s.size,
            available: s.available,
            waiting: s.waiting,
        }
    }

    /// Opens a connection outside the pool (the admin scope writes its audit rows on one).
    async fn open_session(&self) -> Result<Session> {
        Ok(Session::open(&self.inner.options).await?)
    }

    fn key(&self) -> &SigningKey {
        &self.inner.key
    }
}

/// The context `key` signs for one statement on `session` speaking for (`user_id`, `org_id`),
/// accepted in transactions that start within `ttl_ms` from now on the server's clock.
fn statement_token(
    key: &SigningKey,
    ttl_ms: i64,
    session: &Session,
    user_id: Uuid,
    org_id: Uuid,
) -> String {
    let expires = session.server_now_ms().saturating_add(ttl_ms);
    key.token(
        session.pid,
        context::Bound::Expires(expires),
        user_id,
        org_id,
    )
}

/// Checks that the database verifies a context signed with `key` on `session`: the gate every
/// generated statement opens with, and what the policy reads under it.
async fn check_key(session: &mut Session, key: &SigningKey, ttl_ms: i64) -> Result<()> {
    let probe = Uuid::new_v4();
    let token = statement_token(key, ttl_ms, session, probe, probe);
    let sql = format!(
        "SELECT tenant_store_private.current_tenant('user_id') WHERE {}",
        run::gate(1)
    );
    let seen: Result<Option<Option<Uuid>>> = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(token)
        .fetch_optional(&mut session.conn)
        .await
        .map_err(Error::from);
    match seen {
        Ok(Some(Some(t))) if t == probe => Ok(()),
        Ok(_) => Err(Error::Audit(format!(
            "the database does not accept a tenant context signed with key `{id}`: it is not \
             installed there, or it was retired (the migration command's `keys list` shows which; \
             the application role cannot read the keys). Install it with `keys install`; a \
             retired key never verifies again, so generate one under a new id \
             (`keys generate <id>`) and give the application that one. If the key \
             is installed and active, check that the server and this host agree on the time",
            id = key.id()
        ))),
        Err(e) => Err(Error::Audit(format!(
            "the tenant context cannot be verified ({e}); apply the migrations (the base one creates \
             tenant_store_private.current_tenant)"
        ))),
    }
}

/// A pooled connection outside any tenant, from [`Db::raw`]. Derefs to sqlx's `PgConnection`.
#[derive(Debug)]
pub struct RawConn<'db> {
    lease: Lease,
    _db: PhantomData<&'db Db>,
}

impl std::ops::Deref for RawConn<'_> {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.lease.session().conn
    }
}

impl std::ops::DerefMut for RawConn<'_> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.lease.conn()
    }
}

/// A transaction bound to one tenant: the guard every generated PostgreSQL method requires.
///
/// Made only by [`Db::begin`] from a `&Principal`. Ends with [`commit`](Self::commit),
/// [`rollback`](Self::rollback), [`release`](Self::release), or by being dropped (rolled back).
#[must_use = "a tenant transaction does nothing until used, and rolls back when dropped"]
pub struct TenantTx<'db> {
    /// `None` once ended.
    lease: Option<Lease>,
    user_id: Uuid,
    org_id: Uuid,
    /// The signed context, bound to this transaction; every generated statement sets it in its
    /// gate.
    token: String,
    /// The transaction's start on the server, in microseconds (what `token` is bound to).
    started_us: i64,
    /// Whether the context is set in the transaction for hand-written SQL.
    context_set: bool,
    aborted: bool,
    cursor_key: &'db CursorKey,
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
        scope.pick(self.user_id, self.org_id)
    }

    /// Whether a statement failed, which aborted the transaction in PostgreSQL.
    pub fn is_aborted(&self) -> bool {
        self.aborted
    }

    fn lease(&mut self) -> &mut Lease {
        self.lease
            .as_mut()
            .expect("a TenantTx holds its connection until it ends")
    }

    /// Commits. If an earlier statement failed, PostgreSQL has already aborted the transaction:
    /// this rolls back and returns an error rather than reporting a commit that did not happen.
    pub async fn commit(mut self) -> Result<()> {
        let lease = self.lease.take().expect("a TenantTx ends once");
        if self.aborted {
            lease.finish("ROLLBACK").await?;
            return Err(Error::Backend(
                "the transaction was aborted by an earlier failed statement; it was rolled back"
                    .into(),
            ));
        }
        lease.finish("COMMIT").await
    }

    /// Rolls back and waits for the server's answer.
    pub async fn rollback(mut self) -> Result<()> {
        let lease = self.lease.take().expect("a TenantTx ends once");
        lease.finish("ROLLBACK").await
    }

    /// Ends a read-only transaction without waiting: the `ROLLBACK` is sent by a spawned task
    /// before the connection is pooled again, so a guarded read costs two round trips (BEGIN +
    /// tenant; the query). Anything written in this transaction is discarded.
    pub fn release(self) {
        drop(self);
    }

    /// Runs a hand-written statement under this tenant's RLS and returns all rows.
    pub async fn fetch_all<'q, E>(&mut self, query: E) -> Result<Vec<PgRow>>
    where
        E: Execute<'q, Postgres> + 'q,
    {
        self.hand_written().await?;
        self.run_all(query).await
    }

    /// Runs a hand-written statement under this tenant's RLS and returns at most one row.
    pub async fn fetch_optional<'q, E>(&mut self, query: E) -> Result<Option<PgRow>>
    where
        E: Execute<'q, Postgres> + 'q,
    {
        self.hand_written().await?;
        self.run_optional(query).await
    }

    /// Like [`fetch_all`](Self::fetch_all), each row decoded as `T`: anything sqlx decodes a
    /// row into (a `#[derive(sqlx::FromRow)]` struct, a tuple). Still only this tenant's rows:
    /// the statement runs in this transaction, under its RLS policy.
    ///
    /// ```no_run
    /// # async fn f(tx: &mut tenant_store::postgres::TenantTx<'_>) -> tenant_store::Result<()> {
    /// #[derive(sqlx::FromRow)]
    /// struct Recent { id: uuid::Uuid, content: String }
    /// let recent: Vec<Recent> = tx
    ///     .fetch_all_as(sqlx::query("SELECT id, content FROM public.memories ORDER BY created_at DESC LIMIT $1").bind(20_i64))
    ///     .await?;
    /// let (n,): (i64,) = tx.fetch_one_as(sqlx::query("SELECT count(*) FROM public.memories")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn fetch_all_as<'q, T, E>(&mut self, query: E) -> Result<Vec<T>>
    where
        T: for<'r> sqlx::FromRow<'r, PgRow>,
        E: Execute<'q, Postgres> + 'q,
    {
        let rows = self.fetch_all(query).await?;
        rows.iter()
            .map(|row| T::from_row(row).map_err(Error::from))
            .collect()
    }

    /// Like [`fetch_all_as`](Self::fetch_all_as), exactly one row: [`Error::NotFound`] when
    /// there is none (also when the only match is another tenant's).
    pub async fn fetch_one_as<'q, T, E>(&mut self, query: E) -> Result<T>
    where
        T: for<'r> sqlx::FromRow<'r, PgRow>,
        E: Execute<'q, Postgres> + 'q,
    {
        self.fetch_optional_as(query).await?.ok_or(Error::NotFound)
    }

    /// Like [`fetch_all_as`](Self::fetch_all_as), at most one row.
    pub async fn fetch_optional_as<'q, T, E>(&mut self, query: E) -> Result<Option<T>>
    where
        T: for<'r> sqlx::FromRow<'r, PgRow>,
        E: Execute<'q, Postgres> + 'q,
    {
        match self.fetch_optional(query).await? {
            Some(row) => T::from_row(&row).map(Some).map_err(Error::from),
            None => Ok(None),
        }
    }

    /// Runs a hand-written statement under this tenant's RLS and returns the affected row count.
    pub async fn execute<'q, E>(&mut self, query: E) -> Result<u64>
    where
        E: Execute<'q, Postgres> + 'q,
    {
        self.hand_written().await?;
        self.run(query).await
    }

    /// Before a hand-written statement: marks the connection dirty (its session is reset before
    /// it is pooled again) and sets the signed context in the transaction, bound, once.
    async fn hand_written(&mut self) -> Result<()> {
        self.lease().dirty = true;
        if !self.context_set {
            self.set_context().await?;
        }
        Ok(())
    }

    /// Sets [`token`](Self::token) as the transaction's context, as a bound parameter.
    async fn set_context(&mut self) -> Result<()> {
        let set = sqlx::query("SELECT pg_catalog.set_config($1, $2, true)")
            .bind(context::CONTEXT_SETTING)
            .bind(self.token.clone());
        self.run(set).await?;
        self.context_set = true;
        Ok(())
    }

    /// Runs a generated statement (it leaves no session state, so the connection stays clean).
    pub(crate) async fn run_all<'q, E>(&mut self, query: E) -> Result<Vec<PgRow>>
    where
        E: Execute<'q, Postgres> + 'q,
    {
        let res = self.lease().conn().fetch_all(query).await;
        self.track(res)
    }

    /// Like [`run_all`](Self::run_all), at most one row.
    pub(crate) async fn run_optional<'q, E>(&mut self, query: E) -> Result<Option<PgRow>>
    where
        E: Execute<'q, Postgres> + 'q,
    {
        let res = self.lease().conn().fetch_optional(query).await;
        self.track(res)
    }

    /// Like [`run_all`](Self::run_all), the affected row count.
    pub(crate) async fn run<'q, E>(&mut self, query: E) -> Result<u64>
    where
        E: Execute<'q, Postgres> + 'q,
    {
        let res = self
            .lease()
            .conn()
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
