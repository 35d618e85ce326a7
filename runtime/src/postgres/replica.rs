//! Reads from a streaming-replication hot standby ([`DbOptions::read_replica`]).
//!
//! ## The path of a read
//! The `get`, `list` and `count` of a [`TenantDb`](super::TenantDb) mark their runner as
//! reading (`Runner::reading`). With a replica configured, such a call opens a transaction on
//! the replica's own pool, in one message that also reads what the context is bound to (the
//! backend pid and the transaction's start) and whether the standby may serve the read:
//! - *fresh*: its WAL receiver runs and it has replayed everything it received (an idle
//!   primary sends nothing, so the age of the last replayed transaction alone would call a
//!   caught-up standby stale), or the last transaction it replayed is younger than
//!   [`DbOptions::replica_max_lag`]. The application role sees the receiver's pid, not its
//!   status (that needs `pg_read_all_stats`), so a receiver that runs but has lost the
//!   primary counts as caught up: reads then see the standby's last state;
//! - with [`ReadConsistency::ReadYourWrites`], replayed at least to the primary's WAL flush
//!   position, which the call reads on the primary first (one round trip there). A commit the
//!   primary acknowledged is flushed, so every write the caller saw committed is included.
//!
//! Then the statement, then `COMMIT`: three round trips on the standby (four with
//! read-your-writes), against one for the same read on the primary. The standby verifies the
//! signed context itself: the key table, the policies and `current_tenant` replicate with
//! everything else, so a key retired on the primary stops verifying there once replayed.
//!
//! ## Why a transaction, not a statement token
//! A context names a backend pid, and a standby's pids are its own: pid 4242 can exist on both
//! servers at once. A statement token (`e<ms>`, valid for seconds on its pid) made for one
//! server would verify on the same pid of the other. A transaction token also names the start
//! of one transaction to the microsecond, which no transaction on the other server shares, so
//! the replica path uses only those, as the transaction pooler's path does (`pool`, "Behind a
//! transaction pooler"); the two share their code.
//!
//! ## When the standby cannot serve
//! Unreachable (its pool cannot connect, or the first message fails), further behind than the
//! allowed lag, or short of the primary's position past [`DbOptions::replica_wait`]: the read
//! goes to the primary, as without a replica, and says so in a `tracing` warning. A read is
//! never refused for the replica's sake; a standby that is down costs each read the time to
//! find out (its pool's acquire timeout, or a refused connection).

use std::time::{Duration, Instant};

use super::options::ReplicaOptions;
use super::pool::{Lease, Pool};
use super::{Db, ReadConsistency};
use crate::{Error, Result};

/// Whether the standby may serve a read, for a lag of at most `{max_lag_ms}` milliseconds.
fn fresh(max_lag_ms: i64) -> String {
    format!(
        "(coalesce(pg_catalog.pg_last_wal_receive_lsn() OPERATOR(pg_catalog.=) \
           pg_catalog.pg_last_wal_replay_lsn(), false) \
          AND EXISTS (SELECT FROM pg_catalog.pg_stat_wal_receiver WHERE pid IS NOT NULL)) \
         OR coalesce(pg_catalog.now() - pg_catalog.pg_last_xact_replay_timestamp() \
           <= pg_catalog.make_interval(secs => {max_lag_ms} / 1000.0), false)"
    )
}

/// How far the standby has replayed, in bytes of WAL.
const REPLAYED: &str = "(pg_catalog.pg_last_wal_replay_lsn() - '0/0'::pg_catalog.pg_lsn)::bigint";

/// How far the primary has flushed its WAL, in bytes: every acknowledged commit is before it.
pub(super) const FLUSHED: &str =
    "SELECT (pg_catalog.pg_current_wal_flush_lsn() - '0/0'::pg_catalog.pg_lsn)::bigint";

/// The standby's pool and the rules for reading from it.
pub(super) struct Replica {
    pub(super) pool: Pool,
    consistency: ReadConsistency,
    check: String,
    wait: Duration,
}

impl Replica {
    pub(super) fn new(pool: Pool, options: &ReplicaOptions) -> Self {
        let max_lag_ms = i64::try_from(options.max_lag.as_millis()).unwrap_or(i64::MAX);
        Self {
            pool,
            consistency: options.consistency,
            check: format!(", {}, {REPLAYED}", fresh(max_lag_ms)),
            wait: options.wait,
        }
    }

    /// A transaction on the standby for one read, with its backend pid and start; `None` when
    /// the standby cannot serve it (the module's last section), so the read goes to the
    /// primary.
    pub(super) async fn open(&self, db: &Db) -> Result<Option<(Lease, i32, i64)>> {
        let target = match self.consistency {
            ReadConsistency::ReadYourWrites => Some(db.flushed().await?),
            _ => None,
        };
        let deadline = Instant::now() + self.wait;
        loop {
            let (lease, pid, started_us, row) = match db.open_on(&self.pool, &self.check).await {
                Ok(opened) => opened,
                Err(e @ (Error::Unavailable(_) | Error::Timeout(_))) => {
                    tracing::warn!(error = %e, "the replica cannot be reached; reading from the primary");
                    return Ok(None);
                }
                Err(e) => return Err(e),
            };
            let fresh: bool = sqlx::Row::try_get(&row, 2)?;
            let replayed: i64 = sqlx::Row::try_get(&row, 3)?;
            if fresh && target.is_none_or(|t| replayed >= t) {
                return Ok(Some((lease, pid, started_us)));
            }
            lease.finish("ROLLBACK").await?;
            if !fresh {
                tracing::warn!(
                    "the replica is further behind than allowed; reading from the primary"
                );
                return Ok(None);
            }
            if Instant::now() >= deadline {
                tracing::warn!(
                    "the replica has not replayed the primary's position in time; reading from the primary"
                );
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}
