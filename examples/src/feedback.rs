//! FeedbackStore (store 2 of the product plan): an append-only log of how users judged answers,
//! per organisation, with a retention window, a chunked purge, and aggregates.
//!
//! Events are rows of an `append_only` entity: the generated store can insert and read them, and
//! the application role has no UPDATE grant on the table. Everything else here is hand-written
//! SQL run through `TenantTx`, so the table's RLS policy applies to it as to generated queries.
//! Retention is applied by every query (events older than the window are invisible) and enforced
//! by [`FeedbackStore::purge_expired`], which deletes them a chunk per transaction.

use chrono::{DateTime, Duration, Utc};
use sqlx::Row;
use tenant_store::postgres::{Db, PgColumn, TenantTx};
use tenant_store::{Cond, Direction, Error, Listing, Page, Principal, Result, tenant_store};
use uuid::Uuid;

/// How a user judged an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum Outcome {
    /// The answer was used.
    Accepted,
    /// The answer was refused.
    Rejected,
    /// The answer was neither used nor refused.
    Ignored,
}

impl PgColumn for Outcome {
    const SQL_TYPE: &'static str = "text";
}

/// One judgement of one answer. Append-only.
#[tenant_store(
    backend = "postgres",
    scope = "org_id",
    table = "feedback_events",
    append_only
)]
#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackEvent {
    /// The event's id.
    #[tenant_store(id)]
    pub id: Uuid,
    /// The organisation: the tenant.
    pub org_id: Uuid,
    /// Who gave the feedback (data within the organisation, not a tenant boundary).
    #[tenant_store(filter)]
    pub user_id: Uuid,
    /// The query the answer belonged to.
    pub query_id: Uuid,
    /// The kind of query, for per-type metrics.
    #[tenant_store(filter)]
    pub query_type: String,
    /// The judgement.
    pub outcome: Outcome,
    /// A score the client attached, e.g. a rating. Listings can be ordered by it.
    #[tenant_store(filter, order_by)]
    pub score: f64,
    /// When the feedback was given.
    #[tenant_store(filter, order_by)]
    pub occurred_at: DateTime<Utc>,
    /// What the user wrote, if anything.
    #[tenant_store(filter)]
    pub comment: Option<String>,
}

/// Acceptance counts of an organisation, exact.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AcceptanceRate {
    /// Events with [`Outcome::Accepted`].
    pub accepted: i64,
    /// All events in the retention window.
    pub total: i64,
    /// `accepted / total`; `None` when there are no events (no data is not a 0% rate).
    pub rate: Option<f64>,
}

/// Metrics of one query type.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryTypeStats {
    /// The query type.
    pub query_type: String,
    /// Events of this type.
    pub count: i64,
    /// Accepted events of this type.
    pub accepted: i64,
    /// `accepted / count`.
    pub acceptance_rate: f64,
    /// Mean score.
    pub mean_score: f64,
}

/// The feedback store, with its retention window.
#[derive(Debug, Clone, Copy)]
pub struct FeedbackStore {
    retention: Duration,
}

impl Default for FeedbackStore {
    /// 90 days of retention.
    fn default() -> Self {
        Self::new(Duration::days(90))
    }
}

impl FeedbackStore {
    /// Rows the purge deletes per transaction.
    pub const PURGE_CHUNK: i64 = 10_000;

    /// A store keeping events for `retention`.
    pub fn new(retention: Duration) -> Self {
        Self { retention }
    }

    /// The oldest instant still inside the retention window.
    pub fn cutoff(&self) -> DateTime<Utc> {
        Utc::now() - self.retention
    }

    /// Appends an event. An event already older than the retention window is refused.
    pub async fn append(
        &self,
        tx: &mut TenantTx<'_>,
        event: NewFeedbackEvent,
    ) -> Result<FeedbackEvent> {
        if event.occurred_at < self.cutoff() {
            return Err(Error::InvalidInput(
                "the event is older than the retention window".into(),
            ));
        }
        if !event.score.is_finite() {
            return Err(Error::InvalidInput(
                "the score must be a finite number".into(),
            ));
        }
        FeedbackEvent::store().create(tx, event).await
    }

    /// Events of `user_id` within the organisation and the retention window, oldest first, a
    /// page at a time.
    pub async fn query_by_user(
        &self,
        tx: &mut TenantTx<'_>,
        user_id: Uuid,
        page: Page,
    ) -> Result<Listing<FeedbackEvent>> {
        let filter = FeedbackEventFilter::new()
            .user_id(user_id)
            .occurred_at(Cond::ge(self.cutoff()))
            .order_by(FeedbackEventOrder::OccurredAt, Direction::Asc);
        FeedbackEvent::store().list(tx, filter, page).await
    }

    /// Events with `start <= occurred_at < end` (clipped to the retention window), oldest
    /// first, a page at a time.
    pub async fn query_by_time_range(
        &self,
        tx: &mut TenantTx<'_>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        page: Page,
    ) -> Result<Listing<FeedbackEvent>> {
        if end < start {
            return Err(Error::InvalidInput(
                "the time range ends before it starts".into(),
            ));
        }
        let filter = FeedbackEventFilter::new()
            .occurred_at(Cond::range(start.max(self.cutoff())..end))
            .order_by(FeedbackEventOrder::OccurredAt, Direction::Asc);
        FeedbackEvent::store().list(tx, filter, page).await
    }

    /// Deletes the principal's organisation's expired events, [`Self::PURGE_CHUNK`] rows per
    /// transaction. Returns how many were deleted.
    pub async fn purge_expired(&self, db: &Db, principal: &Principal) -> Result<u64> {
        self.purge_expired_in_chunks(db, principal, Self::PURGE_CHUNK)
            .await
    }

    /// [`Self::purge_expired`] with a chosen chunk size.
    pub async fn purge_expired_in_chunks(
        &self,
        db: &Db,
        principal: &Principal,
        chunk: i64,
    ) -> Result<u64> {
        if chunk <= 0 {
            return Err(Error::InvalidInput(
                "the purge chunk must be positive".into(),
            ));
        }
        let cutoff = self.cutoff();
        let mut deleted = 0;
        loop {
            let mut tx = db.begin(principal).await?;
            let n = tx
                .execute(
                    sqlx::query(
                        "DELETE FROM feedback_events WHERE (org_id, id) IN (
                           SELECT org_id, id FROM feedback_events WHERE occurred_at < $1 LIMIT $2)",
                    )
                    .bind(cutoff)
                    .bind(chunk),
                )
                .await?;
            tx.commit().await?;
            deleted += n;
            if n < chunk as u64 {
                return Ok(deleted);
            }
        }
    }

    /// The organisation's acceptance counts within the retention window.
    pub async fn aggregate_acceptance_rate(&self, tx: &mut TenantTx<'_>) -> Result<AcceptanceRate> {
        let row = tx
            .fetch_optional(
                sqlx::query(
                    "SELECT count(*) FILTER (WHERE outcome = 'accepted'), count(*)
                     FROM feedback_events WHERE occurred_at >= $1",
                )
                .bind(self.cutoff()),
            )
            .await?
            .ok_or(Error::NotFound)?;
        let (accepted, total): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
        Ok(AcceptanceRate {
            accepted,
            total,
            rate: (total > 0).then(|| accepted as f64 / total as f64),
        })
    }

    /// Count, acceptance rate and mean score per query type, by type name.
    pub async fn aggregate_by_query_type(
        &self,
        tx: &mut TenantTx<'_>,
    ) -> Result<Vec<QueryTypeStats>> {
        let rows = tx
            .fetch_all(
                sqlx::query(
                    "SELECT query_type, count(*), count(*) FILTER (WHERE outcome = 'accepted'), avg(score)
                     FROM feedback_events WHERE occurred_at >= $1
                     GROUP BY query_type ORDER BY query_type",
                )
                .bind(self.cutoff()),
            )
            .await?;
        rows.iter()
            .map(|r| {
                let (count, accepted): (i64, i64) = (r.try_get(1)?, r.try_get(2)?);
                Ok(QueryTypeStats {
                    query_type: r.try_get(0)?,
                    count,
                    accepted,
                    acceptance_rate: accepted as f64 / count as f64,
                    mean_score: r.try_get(3)?,
                })
            })
            .collect()
    }
}
