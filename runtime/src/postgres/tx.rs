//! [`TenantTx`]: one tenant's transaction, and hand-written SQL inside it.

use sqlx::postgres::PgRow;
use sqlx::{Execute, Postgres};
use uuid::Uuid;

use super::context;
use super::pool::{Answer, Lease};
use crate::query::CursorKey;
use crate::{Error, Result, Scope};

/// A transaction bound to one tenant: the guard every generated PostgreSQL method requires.
///
/// Made only by [`Db::begin`](super::Db::begin) from a `&Principal`. Ends with [`commit`](Self::commit),
/// [`rollback`](Self::rollback), [`release`](Self::release), or by being dropped (rolled back).
#[must_use = "a tenant transaction does nothing until used, and rolls back when dropped"]
pub struct TenantTx<'db> {
    /// `None` once ended.
    pub(super) lease: Option<Lease>,
    pub(super) user_id: Uuid,
    pub(super) org_id: Uuid,
    /// The signed context, bound to this transaction; every generated statement sets it in its
    /// gate.
    pub(super) token: String,
    /// The transaction's start on the server, in microseconds, and the pid of the backend it
    /// runs on, both read in the message that sent `BEGIN` (what `token` is bound to).
    pub(super) started_us: i64,
    pub(super) pid: i32,
    /// Whether the context is set in the transaction for hand-written SQL.
    pub(super) context_set: bool,
    pub(super) aborted: bool,
    pub(super) cursor_key: &'db CursorKey,
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

    pub(super) fn lease(&mut self) -> &mut Lease {
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
    pub(super) async fn set_context(&mut self) -> Result<()> {
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
        Ok(self.send(query).await?.rows)
    }

    /// Like [`run_all`](Self::run_all), at most one row.
    pub(crate) async fn run_optional<'q, E>(&mut self, query: E) -> Result<Option<PgRow>>
    where
        E: Execute<'q, Postgres> + 'q,
    {
        Ok(self.send(query).await?.rows.into_iter().next())
    }

    /// Like [`run_all`](Self::run_all), the affected row count.
    pub(crate) async fn run<'q, E>(&mut self, query: E) -> Result<u64>
    where
        E: Execute<'q, Postgres> + 'q,
    {
        Ok(self.send(query).await?.affected)
    }

    /// Sends `query` on the transaction's connection; a failure aborts the transaction.
    async fn send<'q, E>(&mut self, query: E) -> Result<Answer>
    where
        E: Execute<'q, Postgres> + 'q,
    {
        let res = self.lease().call(query, Error::from).await;
        self.aborted |= res.is_err();
        res
    }
}
