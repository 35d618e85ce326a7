//! [`Db`]: the pool, the signing key, and the ways in (a tenant, a transaction, the admin scope,
//! a raw connection); [`Db::connect`]'s start-up checks.

use std::marker::PhantomData;

use sqlx::AssertSqlSafe;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use uuid::Uuid;

use super::pool::{self, Lease, Session};
use super::replica::{self, Replica};
use super::{
    AdminTx, DbOptions, Pooler, SigningKey, TenantDb, TenantTx, audit_findings, behind, context,
    migrate, run,
};
use crate::query::CursorKey;
use crate::{Error, Principal, Result};

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
    pub(super) inner: std::sync::Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) pool: pool::Pool,
    pub(super) options: PgConnectOptions,
    pub(super) key: SigningKey,
    /// Seals the listings' cursors; derived from the signing key, so every instance of the
    /// application accepts the others' cursors.
    pub(super) cursor_key: CursorKey,
    pub(super) ttl_ms: i64,
    pub(super) pooler: Pooler,
    pub(super) replica: Option<Replica>,
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
        let probe = options.pooler == Pooler::None;
        let checks = start_up_findings(
            &connect,
            Some((&key, ttl_ms)),
            options.entities.as_ref(),
            probe,
        );
        match tokio::time::timeout(options.connect_timeout, checks).await {
            Ok(Ok(findings)) if findings.is_empty() => {}
            Ok(Ok(findings)) => return Err(Error::Audit(findings.join("; "))),
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(Error::Timeout(format!(
                    "{endpoint}: connecting and the start-up checks took longer than {} ms \
                     (`DbOptions::connect_timeout`)",
                    options.connect_timeout.as_millis()
                )));
            }
        }
        let pool = pool_for(connect.clone(), &options)?;
        let replica = match &options.replica.url {
            Some(url) => Some(connect_replica(url, &key, ttl_ms, &options).await?),
            None => None,
        };
        Ok(Self {
            inner: std::sync::Arc::new(Inner {
                pool,
                options: connect,
                cursor_key: CursorKey::derive(key.secret()),
                key,
                ttl_ms,
                pooler: options.pooler,
                replica,
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
    pub(super) async fn begin_as(&self, principal: Option<&Principal>) -> Result<TenantTx<'_>> {
        let (lease, pid, started_us) = self.open_transaction().await?;
        let (user_id, org_id) =
            principal.map_or((Uuid::nil(), Uuid::nil()), |p| (p.user_id(), p.org_id()));
        // No principal: an empty context, which verifies for no tenant.
        let token = match principal {
            Some(_) => self.transaction_token(pid, started_us, user_id, org_id),
            None => String::new(),
        };
        Ok(TenantTx {
            lease: Some(lease),
            user_id,
            org_id,
            token,
            started_us,
            pid,
            context_set: principal.is_none(),
            aborted: false,
            cursor_key: &self.inner.cursor_key,
        })
    }

    /// The signed context for one statement on `session` that runs in a transaction of its
    /// own, speaking for (`user_id`, `org_id`): accepted for the configured
    /// [`token_ttl`](DbOptions::token_ttl).
    ///
    /// A context signed for the same principal on the same backend is used again while at least
    /// half its lifetime is left: it verifies there until it expires whether one statement or
    /// many carry it, and a context that repeats is one the native check
    /// ([`native`](super::native)) answers from memory.
    pub(super) fn statement_token(
        &self,
        session: &mut Session,
        user_id: Uuid,
        org_id: Uuid,
    ) -> String {
        /// Contexts kept per connection: the principals it served last.
        const KEPT: usize = 4;
        let (ttl_ms, now) = (self.inner.ttl_ms, session.server_now_ms());
        let mine = |s: &pool::Signed| s.user_id == user_id && s.org_id == org_id;
        if let Some(s) = session.signed.iter().find(|s| mine(s))
            && s.expires_ms.saturating_sub(now) >= ttl_ms / 2
        {
            return s.token.clone();
        }
        let expires_ms = now.saturating_add(ttl_ms);
        let bound = context::Bound::Expires(expires_ms);
        let token = self.inner.key.token(session.pid, bound, user_id, org_id);
        session.signed.retain(|s| !mine(s));
        if session.signed.len() == KEPT {
            session.signed.remove(0);
        }
        session.signed.push(pool::Signed {
            user_id,
            org_id,
            expires_ms,
            token: token.clone(),
        });
        token
    }

    /// The signed context for the transaction on backend `pid` that started at `started_us`.
    pub(super) fn transaction_token(
        &self,
        pid: i32,
        started_us: i64,
        user_id: Uuid,
        org_id: Uuid,
    ) -> String {
        let bound = context::Bound::Transaction(started_us);
        self.inner.key.token(pid, bound, user_id, org_id)
    }

    /// Takes a connection and opens a transaction on it, in one message that also reads the
    /// pid of the backend the transaction runs on and the transaction's start: what its token
    /// is bound to. The transaction pins its backend behind a transaction pooler too.
    ///
    /// With [`Pooler::None`], a pid other than the one the connection read when it opened means
    /// a pooler moved the connection to another server session: refused ([`Error::Audit`]),
    /// naming the option, rather than run on a token that could not verify (zero rows).
    pub(super) async fn open_transaction(&self) -> Result<(Lease, i32, i64)> {
        let (lease, pid, started_us, _) = self.open_on(&self.inner.pool, "").await?;
        Ok((lease, pid, started_us))
    }

    /// [`open_transaction`](Self::open_transaction) on `pool` (the primary's or the
    /// replica's), the message's one row also holding the columns `more` (`, expr, ...`)
    /// lists after the pid and the start.
    pub(super) async fn open_on(
        &self,
        pool: &pool::Pool,
        more: &str,
    ) -> Result<(Lease, i32, i64, sqlx::postgres::PgRow)> {
        let (lease, answer) = Lease::first(
            pool,
            |lease| {
                // From the BEGIN on, a lease given back unfinished is rolled back first.
                lease.in_tx = true;
                Ok(sqlx::raw_sql(AssertSqlSafe(format!(
                    "BEGIN; SELECT pg_catalog.pg_backend_pid(), {}{more}",
                    migrate::TRANSACTION_START_US
                ))))
            },
            Error::from,
        )
        .await?;
        let row = answer
            .rows
            .into_iter()
            .next()
            .ok_or_else(|| Error::Backend("BEGIN returned no transaction start".into()))?;
        let (pid, started_us): (i32, i64) =
            (sqlx::Row::try_get(&row, 0)?, sqlx::Row::try_get(&row, 1)?);
        if self.inner.pooler == Pooler::None && pid != lease.session().pid {
            return Err(Error::Audit(moved_session(lease.session().pid, pid)));
        }
        Ok((lease, pid, started_us, row))
    }

    /// The primary's WAL flush position, in bytes ([`replica`](super::replica)).
    pub(super) async fn flushed(&self) -> Result<i64> {
        let (_, answer) = Lease::first(
            &self.inner.pool,
            |_| Ok(sqlx::raw_sql(replica::FLUSHED)),
            Error::from,
        )
        .await?;
        let row = answer
            .rows
            .first()
            .ok_or_else(|| Error::Backend("no WAL position".into()))?;
        Ok(sqlx::Row::try_get(row, 0)?)
    }

    /// The read replica, when [`DbOptions::read_replica`] names one.
    pub(super) fn replica(&self) -> Option<&Replica> {
        self.inner.replica.as_ref()
    }

    /// What stands between this `Db` and the server.
    pub(super) fn pooler(&self) -> Pooler {
        self.inner.pooler
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
                Ok(sqlx::raw_sql(";"))
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
    pub(super) async fn open_session(&self) -> Result<Session> {
        Ok(Session::open(&self.inner.options).await?)
    }

    pub(super) fn key(&self) -> &SigningKey {
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

/// The read replica's pool, after the start-up checks ran on the standby as on the primary,
/// and a check that it is one (a second primary would serve reads of another database). A
/// standby that cannot be reached is not a refusal: reads go to the primary until it answers.
async fn connect_replica(
    url: &str,
    key: &SigningKey,
    ttl_ms: i64,
    options: &DbOptions,
) -> Result<Replica> {
    use sqlx::{Executor as _, Row as _};
    let connect: PgConnectOptions = url
        .parse()
        .map_err(|e| Error::InvalidInput(format!("invalid PostgreSQL URL of the replica: {e}")))?;
    let endpoint = pool::endpoint(&connect);
    let checks = async {
        let probe = options.pooler == Pooler::None;
        let mut findings = start_up_findings(
            &connect,
            Some((key, ttl_ms)),
            options.entities.as_ref(),
            probe,
        )
        .await?;
        let mut session = Session::open(&connect).await?;
        let standby: bool = session
            .conn
            .fetch_one(sqlx::raw_sql("SELECT pg_catalog.pg_is_in_recovery()"))
            .await?
            .try_get(0)?;
        let _ = sqlx::Connection::close(session.conn).await;
        if !standby {
            findings.push(format!(
                "the read replica {endpoint} is not a standby (pg_is_in_recovery() is false): \
                 name a streaming replica of this primary in `DbOptions::read_replica`"
            ));
        }
        Ok::<_, Error>(findings)
    };
    match tokio::time::timeout(options.connect_timeout, checks).await {
        Ok(Ok(findings)) if findings.is_empty() => {}
        Ok(Ok(findings)) => {
            return Err(Error::Audit(format!("replica: {}", findings.join("; "))));
        }
        Ok(Err(Error::Unavailable(_) | Error::Timeout(_))) | Err(_) => {
            tracing::warn!(%endpoint, "the read replica cannot be reached; reads go to the primary until it answers");
        }
        Ok(Err(e)) => return Err(e),
    }
    Ok(Replica::new(pool_for(connect, options)?, &options.replica))
}

/// A pool of connections to `connect` with `options`' limits.
fn pool_for(connect: PgConnectOptions, options: &DbOptions) -> Result<pool::Pool> {
    pool::build(
        pool::Manager {
            endpoint: pool::endpoint(&connect),
            options: connect,
            max_lifetime: options.max_lifetime,
            idle_timeout: options.idle_timeout,
            pooler: options.pooler,
        },
        options.max_connections as usize,
        options.acquire_timeout,
    )
}

/// Everything [`Db::connect`] checks, as a list of findings instead of a refusal: the start-up
/// audit ([`audit`](super::audit), its findings listed instead of joined), whether the database is behind the
/// `entities` (the registered ones when `None`), and, given a key, whether the database
/// verifies contexts signed with it. Runs on one connection of its own, as the role of
/// `connect` (the application's). What the migration command's `audit` prints.
pub async fn audit_report(
    connect: &PgConnectOptions,
    key: Option<&SigningKey>,
    entities: Option<&super::evolve::Entities>,
) -> Result<Vec<String>> {
    let ttl_ms = i64::try_from(context::DEFAULT_TOKEN_TTL.as_millis()).unwrap_or(i64::MAX);
    start_up_findings(connect, key.map(|k| (k, ttl_ms)), entities, false).await
}

/// The checks of [`Db::connect`] and [`audit_report`], on one connection of their own: the
/// audit's findings, the schema's, and the key's (with its token lifetime) when given; with
/// `probe`, first whether the connections are sessions of their own ([`probe_sessions`]).
///
/// The checks run in one transaction, which pins one server session behind a transaction
/// pooler, and send only unnamed statements.
async fn start_up_findings(
    connect: &PgConnectOptions,
    key: Option<(&SigningKey, i64)>,
    entities: Option<&super::evolve::Entities>,
    probe: bool,
) -> Result<Vec<String>> {
    use sqlx::{Executor as _, Row as _};
    let checks = async {
        let mut session = Session::open(connect).await?;
        let mut findings = Vec::new();
        if probe {
            findings.extend(probe_sessions(connect, &mut session).await?);
        }
        let pinned = session
            .conn
            .fetch_one(sqlx::raw_sql("BEGIN; SELECT pg_catalog.pg_backend_pid()"))
            .await?;
        session.pid = pinned.try_get(0)?;
        findings.extend(audit_findings(&mut session.conn).await?);
        findings.extend(behind::check(&mut session.conn, entities).await?);
        if let Some((key, ttl_ms)) = key {
            match check_key(&mut session, key, ttl_ms).await {
                Err(Error::Audit(finding)) => findings.push(finding),
                other => other?,
            }
        }
        // Closing politely is best effort (it rolls the checks' transaction back); the checks
        // are what matter.
        let _ = sqlx::Connection::close(session.conn).await;
        Ok(findings)
    };
    checks
        .await
        .map_err(|e: Error| e.at(&pool::endpoint(connect)))
}

/// Whether the connections to `connect` are server sessions of their own, as
/// [`Pooler::None`] needs: `first` has read its pid; a second connection opens a transaction
/// (pinning a server session) and reads its pid, and `first` reads its pid again, a few times.
/// A pooler in transaction mode shows either way: it lends the second connection the session
/// `first` just released (PgBouncer lends the session released last first), or, with that
/// session held, lends `first` another one. A busy pooler can hand `first` its old session
/// every time; the check is then passed, and `current_tenant` refuses the first statement that
/// reaches another backend ([`WRONG_BACKEND`](super::migrate::WRONG_BACKEND)).
async fn probe_sessions(connect: &PgConnectOptions, first: &mut Session) -> Result<Option<String>> {
    use sqlx::{Executor as _, Row as _};
    const READS: usize = 3;
    let mut second = Session::open(connect).await?;
    let held: i32 = second
        .conn
        .fetch_one(sqlx::raw_sql("BEGIN; SELECT pg_catalog.pg_backend_pid()"))
        .await?
        .try_get(0)?;
    let mut moved = None;
    for _ in 0..READS {
        let again: i32 = first
            .conn
            .fetch_one(sqlx::raw_sql("SELECT pg_catalog.pg_backend_pid()"))
            .await?
            .try_get(0)?;
        if again != first.pid {
            moved = Some(again);
            break;
        }
    }
    let _ = sqlx::Connection::close(second.conn).await;
    Ok(if held == first.pid {
        Some(format!(
            "two connections were served by one server session (backend {held}): {POOLED}"
        ))
    } else {
        moved.map(|now| moved_session(first.pid, now))
    })
}

/// What a transaction pooler in front of a `Db` made for [`Pooler::None`] means, and the fix.
const POOLED: &str = "a pooler in transaction mode (PgBouncer's `pool_mode = transaction`, a \
    managed platform's pooled port) stands between this client and PostgreSQL; connect with \
    `DbOptions::pooler(Pooler::Transaction)`, or through session pooling or directly";

/// The refusal when a connection opened on backend `then` runs on backend `now`.
fn moved_session(then: i32, now: i32) -> String {
    format!("a connection opened on backend {then} now runs on backend {now}: {POOLED}")
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
        .persistent(false)
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
