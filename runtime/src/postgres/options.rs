//! [`DbOptions`]: the pool and guard settings of a [`Db`](super::Db).

use std::time::Duration;

use super::{context, evolve};

/// Pool and guard settings for [`Db::connect_with`](super::Db::connect_with).
#[derive(Debug, Clone)]
pub struct DbOptions {
    pub(super) max_connections: u32,
    pub(super) acquire_timeout: Duration,
    pub(super) connect_timeout: Duration,
    pub(super) token_ttl: Duration,
    pub(super) max_lifetime: Option<Duration>,
    pub(super) idle_timeout: Option<Duration>,
    pub(super) entities: Option<evolve::Entities>,
    pub(super) pooler: Pooler,
    pub(super) replica: ReplicaOptions,
}

/// Where [`TenantDb`](super::TenantDb) reads go when [`DbOptions::read_replica`] names a
/// streaming-replication hot standby, and what they see there.
#[derive(Debug, Clone)]
pub(super) struct ReplicaOptions {
    pub(super) url: Option<String>,
    pub(super) consistency: ReadConsistency,
    pub(super) max_lag: Duration,
    pub(super) wait: Duration,
}

/// What a read sent to the replica sees of writes committed on the primary
/// ([`DbOptions::read_consistency`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ReadConsistency {
    /// What the replica has replayed, no further behind than
    /// [`replica_max_lag`](DbOptions::replica_max_lag): a write committed a moment ago may be
    /// missing from a read that follows it. One round trip fewer than `ReadYourWrites`.
    #[default]
    Eventual,
    /// Everything the primary had committed when the read began, the caller's own writes
    /// included: the read asks the primary for its WAL position and waits (up to
    /// [`replica_wait`](DbOptions::replica_wait)) until the replica has replayed that far.
    ReadYourWrites,
}

/// What stands between the application and PostgreSQL ([`DbOptions::pooler`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Pooler {
    /// Each connection is one server session for its whole life: PostgreSQL itself, or a pooler
    /// in session mode (PgBouncer's `pool_mode = session`). A [`TenantDb`](super::TenantDb) call
    /// is one statement, one round trip.
    #[default]
    None,
    /// A pooler that hands a connection a server session per transaction (PgBouncer's
    /// `pool_mode = transaction`, the poolers of managed platforms on their pooled port). Every
    /// call runs in a transaction of its own, which pins one server session, and every statement
    /// is unnamed: a [`TenantDb`](super::TenantDb) call costs four round trips instead of one.
    /// Hand-written queries on a [`RawConn`](super::RawConn) need `.persistent(false)` and an
    /// explicit transaction around each parameterised statement, as with any sqlx client behind
    /// such a pooler; a [`TenantTx`](super::TenantTx) does both for its own. Migrations and the
    /// migration command need a direct connection (they hold a session-level lock).
    Transaction,
}

impl Default for DbOptions {
    /// 10 connections, a 5 s acquire timeout, 30 s for [`Db::connect`](super::Db::connect), tokens accepted for
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
            pooler: Pooler::None,
            replica: ReplicaOptions {
                url: None,
                consistency: ReadConsistency::default(),
                max_lag: Duration::from_secs(5),
                wait: Duration::from_secs(1),
            },
        }
    }
}

impl DbOptions {
    /// The most connections the pool opens (at least 1).
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How long [`Db::begin`](super::Db::begin) waits for a connection before [`Error::Timeout`](crate::Error::Timeout).
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// How long [`Db::connect`](super::Db::connect) may take: the first connection and the start-up checks on it
    /// (a loaded machine may take longer to open a connection than to answer a query). Past
    /// it, [`Error::Timeout`](crate::Error::Timeout) naming the server.
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

    /// The entities this `Db` serves. [`Db::connect`](super::Db::connect) refuses a database whose tables lack a
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

    /// What stands between the application and PostgreSQL (default [`Pooler::None`]). Behind a
    /// pooler in transaction mode, [`Pooler::Transaction`] is required: without it,
    /// [`Db::connect`](super::Db::connect) refuses when it sees two of its connections served by
    /// one server session, or one connection moved between two.
    pub fn pooler(mut self, pooler: Pooler) -> Self {
        self.pooler = pooler;
        self
    }

    /// Sends the `get`, `list` and `count` of every [`TenantDb`](super::TenantDb) to this
    /// streaming-replication hot standby (the application role's URL there), each in a
    /// transaction of its own whose signed context the standby verifies (the keys replicate
    /// with everything else). Writes, and everything in a [`TenantTx`](super::TenantTx), stay
    /// on the primary. [`Db::connect`](super::Db::connect) runs its start-up checks on the
    /// standby too.
    ///
    /// A read falls back to the primary when the standby cannot be reached, is further behind
    /// than [`replica_max_lag`](Self::replica_max_lag), or (with
    /// [`ReadConsistency::ReadYourWrites`]) has not replayed the primary's position within
    /// [`replica_wait`](Self::replica_wait). What a read sees of recent writes:
    /// [`read_consistency`](Self::read_consistency).
    pub fn read_replica(mut self, url: impl Into<String>) -> Self {
        self.replica.url = Some(url.into());
        self
    }

    /// What a read on the replica sees of recent writes (default
    /// [`ReadConsistency::Eventual`]).
    pub fn read_consistency(mut self, consistency: ReadConsistency) -> Self {
        self.replica.consistency = consistency;
        self
    }

    /// How far behind the primary (the age of the last transaction it replayed, while it has
    /// WAL left to replay) the replica may be and still serve a read (default 5 s).
    pub fn replica_max_lag(mut self, lag: Duration) -> Self {
        self.replica.max_lag = lag;
        self
    }

    /// How long a [`ReadConsistency::ReadYourWrites`] read waits for the replica before it
    /// reads from the primary (default 1 s).
    pub fn replica_wait(mut self, wait: Duration) -> Self {
        self.replica.wait = wait;
        self
    }
}
