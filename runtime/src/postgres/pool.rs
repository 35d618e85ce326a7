//! The connection pool: sqlx connections that know their backend pid, handed out and taken back
//! so that nothing one user leaves on a connection reaches the next.
//!
//! ## Why not `sqlx::PgPool`
//! The signed tenant context names the backend pid ([`context`](super::context)), so the client
//! must know each connection's pid before it sends `BEGIN`. sqlx keeps the pid private and its
//! pool cannot carry data per connection, so the pool is `deadpool`'s generic managed pool over
//! [`Session`]s: a `PgConnection`, its pid and the offset between its server's clock and ours,
//! both read once when the connection is opened (one extra round trip per connection, not per
//! operation). Recycling sends nothing: a connection that died while it sat in the pool shows
//! on the first message of the call that takes it, and [`Lease::first`] then sends that
//! message again on another one. Every call starts there: [`Db::begin`](super::Db::begin),
//! each [`TenantDb`](super::TenantDb) operation, and [`Db::raw`](super::Db::raw) (an empty
//! statement).
//!
//! ## What can be left on a connection, and what we do about it
//! The application role's SQL can leave session state behind: session-level settings
//! (`set_config(.., false)`, `SET`), `WITH HOLD` cursors, `LISTEN` registrations, advisory
//! locks, temporary objects, a `SET ROLE`, prepared statements. A [`Lease`] that ran
//! hand-written SQL is *dirty*: the message that ends its transaction also calls
//! `tenant_store_private.reset_session()`, in the same round trip.
//! - Settings, cursors, `LISTEN`, advisory locks and temporary objects are reset.
//! - Prepared statements cannot be reset without also dropping sqlx's statement cache (which
//!   would cost the next user a round trip per statement), and they matter: a statement
//!   re-prepared under the name sqlx uses for a generated query would run the attacker's SQL in
//!   the next tenant's transaction (say, `pg_notify` of its rows to a listening session). So
//!   the check compares the server's prepared statements with sqlx's cache: any statement made
//!   by SQL `PREPARE`, or a protocol-level count that differs from sqlx's, and the connection is
//!   closed instead of pooled.
//!
//! - A transaction the SQL opened (or a savepoint, a second `BEGIN`, an aborted transaction)
//!   would carry the next user's statements: a single operation's write would be acknowledged
//!   inside it and rolled back by the next hand-written `ROLLBACK`, and the context its gate
//!   set would stay readable in it. The reset statement reports whether it ran in its own
//!   implicit transaction (its start equals the transaction's only then, in a simple query;
//!   an aborted transaction refuses it), and a connection still inside one is closed.
//! - A `COPY` whose answer was not read, or anything else that leaves the connection out of
//!   step with the client, fails the cleanup message, or outlasts its timeout: closed.
//!
//! So every path that hands out a connection ([`Db::raw`](super::Db::raw), a
//! [`TenantTx`](super::TenantTx), a [`TenantDb`](super::TenantDb) call, the admin scope) gets
//! it back idle, outside any transaction, with nothing left for the next user, or closes it;
//! and every path takes it through [`Lease::first`], one retry rule for all.
//!
//! Transactions that ran only generated statements are not reset (they cannot leave session
//! state) and cost nothing extra. A lease dropped without an end is cleaned the same way by a
//! spawned task before the connection is pooled again; when that is impossible (no runtime) or
//! fails, the connection is closed instead of pooled.
//!
//! ## Behind a transaction pooler
//! A pooler in transaction mode (PgBouncer's `pool_mode = transaction`) lends a server session
//! to a client connection for one transaction, and to another client's for the next. Three
//! things above rest on a connection being one session, and [`Pooler::Transaction`] replaces
//! each:
//! - *The pid.* A token names the backend it verifies on. Here no connection has one, so
//!   every call opens a transaction and reads the pid in the message that sends `BEGIN`
//!   (`BEGIN; SELECT pg_backend_pid(), <start>`): the transaction pins its server session,
//!   and the token is bound to that pid and that transaction's start
//!   ([`Bound::Transaction`](super::context::Bound)), exactly as a [`TenantTx`](super::TenantTx)'s
//!   always is. A token seen by SQL in one transaction verifies in no other, on any session;
//!   no token with a lifetime (`e<ms>`) is made at all. A [`TenantDb`](super::TenantDb) call
//!   is then `BEGIN` and the pid, the statement (sqlx's Parse/Describe/Sync, then
//!   Bind/Execute/Sync), and `COMMIT`: four round trips instead of one.
//! - *Prepared statements.* sqlx names its statements per connection (`sqlx_s_1`, ...), and
//!   a server session serves many connections, so a name collides (42P05) or is missing
//!   (26000). Debian's PgBouncer 1.18 cannot track them. Every statement a [`Lease`] sends is
//!   unnamed (`Unnamed`), and an unnamed statement's Parse and its Bind are two messages, so
//!   they must be in one transaction: every path here sends them inside one.
//! - *The reset.* The message that ends a dirty transaction resets the session it ran on (the
//!   same message, so the same server session), and prepared statements by SQL still close the
//!   connection. What hand-written SQL leaves in the session between transactions (a
//!   [`RawConn`](super::RawConn)'s autocommit statements) stays on a server session the pooler
//!   hands to others; none of it carries a tenant, since a context verifies only in the
//!   transaction it was made for. PgBouncer's `server_reset_query_always = 1` clears it too.
//!
//! ## Plans: PostgreSQL's default
//! PostgreSQL plans a prepared statement for its values ("custom") on its first five runs and
//! then keeps the value-independent "generic" plan only if it looks no dearer. A listing's
//! generic plan usually looks dearer (its `LIMIT` is a parameter), so a listing is planned on
//! every call: about 40 µs on these machines. The library's connections once opened with
//! `plan_cache_mode = force_generic_plan` to save that, and it was wrong: with every row live
//! (the usual case while deletes are rare) the statistics give the soft-delete column one
//! value, the generic plan estimates the live filter (`state <> $n`, value unknown) to match no
//! row, and a page of two then fetched and sorted its tenant's every row (3,000 fetched for a
//! page of two in `tests/tests/plans.rs`; 31 ms against 0.6 ms for the plan made with the
//! values, for a tenant of 118,000 rows). Every statement now plans as PostgreSQL's default,
//! `auto`, chooses, like SQL the caller writes. What a plan made for the caller's values can
//! tell of other tenants is in the crate's out-of-scope list (PostgreSQL's statistics).
//! [`Store::explain_list`](crate::postgres::Store::explain_list), which prints a plan, still
//! plans with the values unknown.
//!
//! [`Db::connect`](super::Db::connect) with [`Pooler::None`] checks that its connections are
//! sessions of their own (`probe_sessions`): one connection reads its pid, a second one opens a
//! transaction and reads its own, and the first reads its pid again. Two connections served by
//! one backend, or one connection moved between two, is a transaction pooler: the connect is
//! refused, naming the option. PgBouncer hands out the session released last first, so the
//! second connection meets the first one's session; a pooler that does not can pass this check,
//! and then [`Db::begin`](super::Db::begin), which compares the pid `BEGIN` reads with the one
//! read at connect, refuses the transaction instead of running it on a token that cannot verify.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use deadpool::managed::{self, Metrics, Object, PoolError, RecycleError, RecycleResult};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sqlx::{AssertSqlSafe, Connection as _, Execute, Executor as _, Postgres};

use super::Pooler;
use crate::{Error, Result};

/// Resets the session, counts its prepared statements (by SQL `PREPARE`, by the protocol: see
/// [`RESET_SESSION_BODY`](super::migrate::RESET_SESSION_BODY)), and says whether it ran alone
/// in its own implicit transaction. That is how the client learns the server's transaction
/// state, which sqlx does not expose: a transaction opened by hand-written SQL (or a savepoint
/// in it) started before this statement, so its start differs from the statement's; a failed
/// one refuses the statement.
pub(crate) const RESET_SESSION: &str = "SELECT r.by_sql, r.by_protocol, \
    pg_catalog.transaction_timestamp() OPERATOR(pg_catalog.=) pg_catalog.statement_timestamp() \
    FROM tenant_store_private.reset_session() r";

/// How long the message that cleans a returned connection may take before the connection is
/// closed instead: a session left in a state the client cannot read (a `COPY` in progress,
/// say) must not hold its pool slot forever.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `end` (the end of the transaction, or nothing) and, on a dirty session, the reset and
/// the checks, in one message. `Ok(true)`: the connection is idle, outside any transaction, with
/// no state left that the next user could meet, and may be pooled.
///
/// Behind a transaction pooler no statement of ours is named, so every prepared statement on
/// the server session is left by hand-written SQL: the same message deallocates them all
/// before the pooler lends the session to anyone (closing our connection would not close it).
async fn end_and_check(
    conn: &mut PgConnection,
    end: &str,
    dirty: bool,
    pooler: Pooler,
) -> Result<bool> {
    use sqlx::Row as _;
    if !dirty {
        conn.execute(sqlx::raw_sql(AssertSqlSafe(end.to_owned())))
            .await?;
        return Ok(true);
    }
    let reset = match pooler {
        Pooler::Transaction => format!("DEALLOCATE ALL; {RESET_SESSION}"),
        _ => RESET_SESSION.to_owned(),
    };
    let sql = if end.is_empty() {
        reset
    } else {
        format!("{end}; {reset}")
    };
    let rows = conn.fetch_all(sqlx::raw_sql(AssertSqlSafe(sql))).await?;
    let Some(last) = rows.last() else {
        return Ok(false);
    };
    let (by_sql, by_protocol, alone): (i64, i64, bool) =
        (last.try_get(0)?, last.try_get(1)?, last.try_get(2)?);
    let cached = i64::try_from(sqlx::Connection::cached_statements_size(conn)).unwrap_or(-1);
    Ok(alone && by_sql == 0 && by_protocol == cached)
}

/// [`end_and_check`] within [`CLEANUP_TIMEOUT`] ([`Error::Timeout`] past it).
async fn end_in_time(
    conn: &mut PgConnection,
    end: &str,
    dirty: bool,
    pooler: Pooler,
) -> Result<bool> {
    tokio::time::timeout(CLEANUP_TIMEOUT, end_and_check(conn, end, dirty, pooler))
        .await
        .unwrap_or_else(|_| {
            Err(Error::Timeout(format!(
                "postgresql: the cleanup of a connection took longer than {} s",
                CLEANUP_TIMEOUT.as_secs()
            )))
        })
}

/// One pooled connection and what we learned about it when it was opened.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) conn: PgConnection,
    /// `pg_backend_pid()`.
    pub(crate) pid: i32,
    /// Server clock minus our clock, in milliseconds, measured at connect.
    pub(crate) offset_ms: i64,
    /// The statement contexts signed for this backend lately, reused while at least half their
    /// lifetime is left (see `Db::statement_token`).
    pub(crate) signed: Vec<Signed>,
}

/// A statement context signed for one backend: it verifies in any transaction that starts there
/// before `expires_ms`, however many statements carry it.
#[derive(Debug)]
pub(crate) struct Signed {
    pub(crate) user_id: uuid::Uuid,
    pub(crate) org_id: uuid::Uuid,
    pub(crate) expires_ms: i64,
    pub(crate) token: String,
}

/// Milliseconds since the Unix epoch on our clock.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Session {
    /// Opens a connection and reads its pid and its server's clock, in a simple query (no
    /// prepared statement, so nothing a transaction pooler's next client can meet).
    pub(crate) async fn open(options: &PgConnectOptions) -> std::result::Result<Self, sqlx::Error> {
        use sqlx::Row as _;
        let mut conn = PgConnection::connect_with(options).await?;
        let before = now_ms();
        let row = conn
            .fetch_one(sqlx::raw_sql(
                "SELECT pg_backend_pid(), (extract(epoch FROM clock_timestamp()) * 1000)::bigint",
            ))
            .await?;
        let (pid, server_ms): (i32, i64) = (row.try_get(0)?, row.try_get(1)?);
        let after = now_ms();
        Ok(Self {
            conn,
            pid,
            offset_ms: server_ms - before / 2 - after / 2,
            signed: Vec::new(),
        })
    }

    /// Our estimate of the server's clock now, in milliseconds.
    pub(crate) fn server_now_ms(&self) -> i64 {
        now_ms() + self.offset_ms
    }
}

/// Makes [`Session`]s for the pool, and retires them past their age or idle limits.
#[derive(Debug)]
pub(crate) struct Manager {
    pub(crate) options: PgConnectOptions,
    /// `postgresql at host:port/database`, for messages.
    pub(crate) endpoint: String,
    /// A connection older than this is closed instead of handed out.
    pub(crate) max_lifetime: Option<Duration>,
    /// A connection not handed out for this long is closed instead of handed out.
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) pooler: Pooler,
}

impl managed::Manager for Manager {
    type Type = Session;
    type Error = sqlx::Error;

    async fn create(&self) -> std::result::Result<Session, sqlx::Error> {
        Session::open(&self.options).await
    }

    async fn recycle(&self, _: &mut Session, metrics: &Metrics) -> RecycleResult<sqlx::Error> {
        // Nothing to send: a lease returns its connection clean or not at all. Limits are
        // checked on the pool's clock; a retired connection is closed and another taken.
        if self.max_lifetime.is_some_and(|max| metrics.age() >= max) {
            return Err(RecycleError::message("past its max lifetime"));
        }
        if self
            .idle_timeout
            .is_some_and(|idle| metrics.last_used() >= idle)
        {
            return Err(RecycleError::message("idle too long"));
        }
        Ok(())
    }
}

pub(crate) type Pool = managed::Pool<Manager>;

/// Builds the pool.
pub(crate) fn build(manager: Manager, max: usize, acquire_timeout: Duration) -> Result<Pool> {
    Pool::builder(manager)
        .max_size(max)
        .wait_timeout(Some(acquire_timeout))
        .create_timeout(Some(acquire_timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| Error::InvalidInput(format!("invalid pool settings: {e}")))
}

/// A message's answer: its rows, and how many rows it affected.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) rows: Vec<PgRow>,
    pub(crate) affected: u64,
}

/// The connection was dead before the message reached a live backend, as far as the client
/// can tell: an I/O error, or what a backend that is being terminated sends.
fn dead(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")),
        _ => false,
    }
}

/// A connection lent by the pool, with the rule for giving it back.
#[derive(Debug)]
pub(crate) struct Lease {
    obj: Option<Object<Manager>>,
    /// Hand-written SQL ran on it: reset the session before it is pooled again.
    pub(crate) dirty: bool,
    /// A transaction is open on it: roll it back before it is pooled again.
    pub(crate) in_tx: bool,
    /// A message is in flight, or the connection died: close it instead of pooling it.
    broken: bool,
    /// Behind a transaction pooler: every statement is sent unnamed ([`Unnamed`]).
    pub(crate) pooler: Pooler,
}

/// A statement sent unnamed whatever its author asked for: a named prepared statement outlives
/// the transaction on a server session that a transaction pooler hands to other clients.
struct Unnamed<E>(E);

impl<'q, E: Execute<'q, Postgres>> Execute<'q, Postgres> for Unnamed<E> {
    fn sql(self) -> sqlx::SqlStr {
        self.0.sql()
    }
    fn statement(&self) -> Option<&<Postgres as sqlx::Database>::Statement> {
        self.0.statement()
    }
    fn take_arguments(
        &mut self,
    ) -> std::result::Result<Option<sqlx::postgres::PgArguments>, sqlx::error::BoxDynError> {
        self.0.take_arguments()
    }
    fn persistent(&self) -> bool {
        false
    }
}

impl Lease {
    pub(crate) async fn acquire(pool: &Pool) -> Result<Self> {
        let obj = pool
            .get()
            .await
            .map_err(|e| pool_error(e, &pool.manager().endpoint))?;
        Ok(Self {
            obj: Some(obj),
            dirty: false,
            in_tx: false,
            broken: false,
            pooler: pool.manager().pooler,
        })
    }

    /// Takes a connection and sends a call's first message on it, made by `make` for that
    /// connection (it signs the context for the connection's backend, and may mark the lease).
    /// A connection that had sat in the pool and turns out dead is closed and the message made
    /// and sent again on the next one, until one that was just opened fails too (the server is
    /// unreachable: that error is returned). Only a first message is sent again: after an
    /// answer, the call's state (a transaction, say) died with the connection. What a second
    /// attempt of a write whose first outcome is unknown does: see [`run`](super::run).
    /// `convert` says what the server's refusal means to the caller (usually `Error::from`).
    pub(crate) async fn first<'q, E>(
        pool: &Pool,
        mut make: impl FnMut(&mut Lease) -> Result<E>,
        convert: fn(sqlx::Error) -> Error,
    ) -> Result<(Self, Answer)>
    where
        E: 'q + Execute<'q, Postgres>,
    {
        loop {
            let mut lease = Self::acquire(pool).await?;
            let q = make(&mut lease)?;
            match lease.send(q).await {
                Ok(answer) => return Ok((lease, answer)),
                // Dropped, the lease closes the dead connection.
                Err(e) if dead(&e) && lease.reused() => {}
                Err(e) => return Err(convert(e).at(&pool.manager().endpoint)),
            }
        }
    }

    /// Sends `q` and reads its whole answer, up to the server's ReadyForQuery (so a write is
    /// committed, or has failed, when this returns). A lease dropped while this is in flight,
    /// or after it found the connection dead, is closed instead of pooled: the answer would be
    /// waiting for the next user. Behind a transaction pooler, `q` goes unnamed.
    pub(crate) async fn send<'q, E>(&mut self, q: E) -> sqlx::Result<Answer>
    where
        E: 'q + Execute<'q, Postgres>,
    {
        if self.pooler == Pooler::Transaction {
            self.send_as_is(Unnamed(q)).await
        } else {
            self.send_as_is(q).await
        }
    }

    async fn send_as_is<'q, E>(&mut self, q: E) -> sqlx::Result<Answer>
    where
        E: 'q + Execute<'q, Postgres>,
    {
        use futures_util::TryStreamExt as _;
        self.broken = true;
        let mut answer = Answer {
            rows: Vec::new(),
            affected: 0,
        };
        let mut stream = self.conn().fetch_many(q);
        let res = async {
            while let Some(item) = stream.try_next().await? {
                match item {
                    sqlx::Either::Left(done) => answer.affected += done.rows_affected(),
                    sqlx::Either::Right(row) => answer.rows.push(row),
                }
            }
            Ok(())
        }
        .await;
        drop(stream);
        match res {
            Ok(()) => {
                self.broken = false;
                Ok(answer)
            }
            Err(e) => {
                self.broken = dead(&e);
                Err(e)
            }
        }
    }

    /// [`send`](Self::send), a failure as the caller sees it ([`error`](Self::error)): how a
    /// call sends every message after its first.
    pub(crate) async fn call<'q, E>(
        &mut self,
        q: E,
        convert: fn(sqlx::Error) -> Error,
    ) -> Result<Answer>
    where
        E: 'q + Execute<'q, Postgres>,
    {
        match self.send(q).await {
            Ok(answer) => Ok(answer),
            Err(e) => Err(self.error(e, convert)),
        }
    }

    /// `e` as the caller sees it (`convert`), naming the server when it is a timeout or an
    /// unreachable server: for the messages after a call's first, which [`Lease::first`] names.
    pub(crate) fn error(&self, e: sqlx::Error, convert: fn(sqlx::Error) -> Error) -> Error {
        let e = convert(e);
        match (&e, self.obj.as_ref().and_then(Object::pool)) {
            (Error::Timeout(_) | Error::Unavailable(_), Some(pool)) => {
                e.at(&pool.manager().endpoint)
            }
            _ => e,
        }
    }

    /// Whether the pool had handed this connection out before: one that sat in the pool can
    /// have died there; a new one failing means the server is unreachable.
    fn reused(&self) -> bool {
        self.obj
            .as_ref()
            .is_some_and(|obj| Object::metrics(obj).recycled.is_some())
    }

    pub(crate) fn session(&self) -> &Session {
        self.obj
            .as_ref()
            .expect("a lease holds its connection until dropped")
    }

    pub(crate) fn session_mut(&mut self) -> &mut Session {
        self.obj
            .as_mut()
            .expect("a lease holds its connection until dropped")
    }

    pub(crate) fn conn(&mut self) -> &mut PgConnection {
        &mut self
            .obj
            .as_mut()
            .expect("a lease holds its connection until dropped")
            .conn
    }

    /// The connection is broken or in an unknown state: close it instead of pooling it.
    pub(crate) fn discard(mut self) {
        if let Some(obj) = self.obj.take() {
            drop(Object::take(obj));
        }
    }

    /// Ends the transaction with `end` (`COMMIT` or `ROLLBACK`), resetting and checking the
    /// session in the same message when it is dirty. The connection is closed instead of
    /// pooled when the statement fails or the session cannot be trusted; the result is the
    /// end statement's.
    pub(crate) async fn finish(mut self, end: &str) -> Result<()> {
        let dirty = self.dirty;
        let pooler = self.pooler;
        match end_in_time(self.conn(), end, dirty, pooler).await {
            Ok(clean) => {
                self.in_tx = false;
                self.dirty = false;
                if !clean {
                    self.discard();
                }
                Ok(())
            }
            Err(e) => {
                self.discard();
                Err(e)
            }
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(mut obj) = self.obj.take() else {
            return;
        };
        if self.broken {
            drop(Object::take(obj));
            return;
        }
        if !self.in_tx && !self.dirty {
            return; // clean: back to the pool as it is
        }
        let (end, dirty, pooler) = (
            if self.in_tx { "ROLLBACK" } else { "" },
            self.dirty,
            self.pooler,
        );
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    let ended = end_in_time(&mut obj.conn, end, dirty, pooler).await;
                    if !matches!(ended, Ok(true)) {
                        drop(Object::take(obj));
                    }
                });
            }
            // No runtime to send the cleanup on: closing the socket makes the server roll back
            // and forget the session.
            Err(_) => drop(Object::take(obj)),
        }
    }
}

fn pool_error(e: PoolError<sqlx::Error>, endpoint: &str) -> Error {
    match e {
        PoolError::Timeout(_) => Error::Timeout(format!(
            "{endpoint}: no connection within the acquire timeout (every connection busy, or \
             the server does not answer)"
        )),
        PoolError::Backend(e) => Error::from(e).at(endpoint),
        PoolError::Closed => {
            Error::Unavailable(format!("{endpoint}: the connection pool is closed"))
        }
        other => Error::Backend(other.to_string().into()),
    }
}

/// `postgresql at host:port/database`: the server messages name.
pub(crate) fn endpoint(options: &PgConnectOptions) -> String {
    format!(
        "postgresql at {}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or_default()
    )
}
