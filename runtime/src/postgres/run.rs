//! Where a generated statement runs, and how it carries its tenant: one round trip per
//! operation.
//!
//! ## The gate
//! Every generated statement carries the signed context as its last parameter, in a *gate*:
//!
//! ```sql
//! SELECT ... FROM t WHERE (SELECT pg_catalog.set_config('tenant_store.ctx', $n, true) IS NOT NULL) AND ...
//! ```
//!
//! The gate is an uncorrelated sub-select over no table, so the planner makes it an InitPlan,
//! and being a condition on no column it becomes a one-time filter of a `Result` node above
//! the scan. The executor evaluates a one-time filter before it runs the node below it, so the
//! setting is in place before the scan computes the RLS policy's InitPlan
//! (`current_tenant(scope)`, an index condition evaluated at the scan's first row). An
//! `INSERT ... SELECT ... WHERE <gate>` checks the policy per inserted row, after the gate too.
//!
//! On a [`TenantDb`] the statement runs alone: it is its own implicit transaction, which ends
//! at the Sync sqlx sends after it. A write is committed before the ReadyForQuery that sqlx
//! waits for, and the transaction-local setting is gone with it. So an operation is one
//! Bind/Execute/Sync: one round trip, and nothing to send when the connection goes back to the
//! pool. In a [`TenantTx`] the same statement re-sets the context the transaction already
//! carries (the same token), so one statement text serves both.
//!
//! ### The rule that makes it work
//! No generated statement compares the scope column with a value: the policy's
//! `scope = (SELECT current_tenant(..))` is the only tenant condition, an index condition on
//! every index (they all lead with the scope), so it is computed inside the scan, under the
//! gate. A statement that also said `scope = $x` would make the planner derive
//! `<policy's value> = $x`, a second one-time filter in the same list as the gate; PostgreSQL
//! 15 happens to put the gate first, but that order (by security level and cost) is not ours to
//! rely on. This is also why `filter` is refused on the scope field. A mistake here fails closed,
//! never open: the policy verifies the token whatever runs first. `tests/tests/round_trips.rs`
//! checks the plan of a generated statement, and shows the trap that a `LATERAL` call falls in.
//!
//! ### What else was measured, and why not
//! - A CTE or a `LATERAL` call that sets the context before the read: the policy's one-time
//!   filter is hoisted above the whole join and runs first (zero rows).
//! - A SQL function per operation (`set_config`, then `RETURN QUERY`): the same cost as the gate,
//!   but one function per operation and table in the migrations, and a listing with any filter
//!   and order does not fit a fixed function (dynamic SQL in PL/pgSQL is planned on every call).
//! - Pipelining `BEGIN`, the context, the statement and `COMMIT` in one flight: sqlx 0.9 waits for
//!   each statement's ReadyForQuery before it writes the next, and a second driver
//!   (tokio-postgres) would need every field type encoded and decoded a second way.
//! - `SET LOCAL` outside a transaction block: a warning, and no effect.
//!
//! ### What it costs, and what a user sees
//! No migration and no dependency: the gate is text in the statements the macro already
//! generates, and the policies are unchanged. The one new API is [`Db::tenant`], a
//! [`TenantDb`]; every store method takes `&mut impl Guard`, so the same call works on a
//! [`TenantTx`], whose transactions cost what they did (`BEGIN` in one round trip, one per
//! statement, one for `COMMIT`; one more before the first hand-written statement, which sets
//! the context for it).
//!
//! ### What one round trip does not buy: the verification
//! On one connection the server's work, not the wire, now sets the price. Measured with
//! `pgbench -M prepared -c1` against a 200 000-row copy of a tenant table (a get by id, ratios
//! of the unguarded statement's latency to the variant's): the gate with a policy that reads a
//! *plain* setting costs nothing measurable (0.8–1.0x), and the same gate with the signed policy
//! is 0.46–0.51x. The signed check, `current_tenant` in PL/pgSQL, costs 40–50 µs per statement:
//! about 5 µs for the key lookup, 8 µs for pgcrypto's HMAC, the rest PL/pgSQL's set-up for each
//! new transaction. Two alternatives were measured and not shipped:
//! - The same check as a `security_barrier` view in plain SQL (no PL/pgSQL; the key read with
//!   the view owner's rights, never returned): 0.57–0.63x. Every statement still pays the HMAC
//!   and the key lookup, which is more than a 0.85x budget (about 7 µs) allows.
//! - A cache of verified contexts: a table keyed by (backend pid, token) that only the definer
//!   role writes, read by the policy through a view, with the full check as the fallback that
//!   fills it. 0.76–0.95x on a hit. Not shipped because every miss (each new token on each
//!   connection) writes from inside a read: a transaction id, WAL and a commit flush, so a pool
//!   that serves many tenants would pay more than today; an `UNLOGGED` table, which avoids the
//!   WAL, cannot be read on a hot standby at all; and the writing function makes every query on
//!   a tenant table parallel-unsafe.
//!
//! ## Connections
//! A [`TenantDb`] call takes a pooled connection when its first statement is sent and gives it
//! back when it ends; the pool sends nothing on the way out or in. The first statement goes
//! through the pool's `Lease::first`: a connection that turns out dead on it (the server closed it while
//! it sat in the pool: an I/O error, or one of the errors a terminated backend sends) is closed
//! and the statement signed and sent again on the next one, until one that was just opened
//! fails too (the server is down: the error is returned). [`Db::begin`] starts the same way.
//! When the first attempt's outcome is unknown (the server died while running it), the second
//! attempt cannot apply it twice: a create meets its own row's key ([`Error::Duplicate`]), a
//! versioned update its version, a delete finds nothing. A call dropped while a statement is in
//! flight closes its connection instead of pooling it.

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{
    Arguments as _, AssertSqlSafe, Execute as _, Postgres, QueryBuilder, SqlSafeStr as _, SqlStr,
};
use uuid::Uuid;

use super::pool::{Answer, Lease};
use super::{Db, PgQuery, Pooler, TenantTx};
use crate::query::CursorKey;
use crate::{Error, Principal, Result, Scope};

/// Where a builder statement's gate names the context; replaced by its placeholder once the
/// statement's other parameters are counted. NUL cannot occur in SQL text otherwise.
pub(crate) const CTX_MARK: &str = "\0ctx\0";

/// The gate with the context at `placeholder`. The expansion writes the same text into the
/// statements it fixes (the macro cannot call this); `tests/tests/round_trips.rs` checks that
/// the two agree.
fn gate_at(placeholder: &str) -> String {
    format!("(SELECT pg_catalog.set_config('tenant_store.ctx', {placeholder}, true) IS NOT NULL)")
}

/// The gate with the context as parameter `$n`.
#[doc(hidden)]
pub fn gate(n: usize) -> String {
    gate_at(&format!("${n}"))
}

/// Pushes the gate, its placeholder to be numbered by [`Statement::built`].
pub(crate) fn push_gate(qb: &mut QueryBuilder<Postgres>) {
    qb.push(gate_at(CTX_MARK));
}

/// A generated statement and its parameters, all but the context (bound last, per attempt).
pub(crate) struct Statement {
    sql: SqlStr,
    args: PgArguments,
}

impl Statement {
    /// A statement of the expansion: its gate already names `$<parameters + 1>`.
    pub(crate) fn fixed(mut q: PgQuery<'static>) -> Result<Self> {
        let args = q.take_arguments().map_err(sqlx::Error::Encode)?;
        Ok(Self {
            args: args.unwrap_or_default(),
            sql: q.sql(),
        })
    }

    /// A statement built with [`push_gate`].
    pub(crate) fn built(mut qb: QueryBuilder<Postgres>) -> Result<Self> {
        let args = qb.build().take_arguments().map_err(sqlx::Error::Encode)?;
        let args = args.unwrap_or_default();
        let n = format!("${}", args.len() + 1);
        Ok(Self {
            sql: AssertSqlSafe(std::sync::Arc::<str>::from(
                qb.into_string().replace(CTX_MARK, &n),
            ))
            .into_sql_str(),
            args,
        })
    }

    /// The statement with `token` bound as its last parameter.
    fn query(&self, token: &str) -> Result<PgQuery<'static>> {
        let mut args = self.args.clone();
        args.add(token.to_owned()).map_err(sqlx::Error::Encode)?;
        Ok(sqlx::query_with(self.sql.clone(), args))
    }

    /// The SQL text (with `$n` for the context).
    #[cfg(test)]
    pub(crate) fn sql(&self) -> &str {
        self.sql.as_str()
    }
}

/// What a generated PostgreSQL store method runs on: a [`TenantTx`] (each statement joins the
/// transaction) or a [`TenantDb`] (each call is one statement, committed on its own). Store
/// methods take it as `&mut`.
#[diagnostic::on_unimplemented(
    message = "a generated PostgreSQL store method runs for a tenant: pass `&mut TenantTx` (from `Db::begin`) or `&mut TenantDb` (from `Db::tenant`), not `&mut {Self}`",
    label = "not a tenant guard"
)]
pub trait Guard: sealed::Sealed + Send {
    /// The runner of one operation's statements.
    #[doc(hidden)]
    fn runner(&mut self) -> Runner<'_>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::TenantTx<'_> {}
    impl Sealed for super::TenantDb<'_> {}
}

impl Guard for TenantTx<'_> {
    fn runner(&mut self) -> Runner<'_> {
        let TenantTx {
            lease,
            user_id,
            org_id,
            token,
            aborted,
            cursor_key,
            ..
        } = self;
        Runner {
            user_id: *user_id,
            org_id: *org_id,
            cursor_key,
            on: On::Tx {
                lease: lease
                    .as_mut()
                    .expect("a TenantTx holds its connection until it ends"),
                token,
                aborted,
            },
        }
    }
}

impl Guard for TenantDb<'_> {
    fn runner(&mut self) -> Runner<'_> {
        self.into_runner()
    }
}

/// A tenant's handle on the pool for single operations: each generated store call is one
/// statement that carries the signed context, one round trip, committed on its own. Made by
/// [`Db::tenant`]; cheap to copy and to keep per request.
///
/// ```no_run
/// # use tenant_store::postgres::Db;
/// # use tenant_store::Principal;
/// # async fn f(db: &Db, who: &Principal, id: uuid::Uuid) -> tenant_store::Result<()> {
/// # #[tenant_store::tenant_store(backend = "postgres", scope = "user_id", table = "notes")]
/// # pub struct Note { #[tenant_store(id)] pub id: uuid::Uuid, pub user_id: uuid::Uuid, pub text: String }
/// let mut tenant = db.tenant(who);
/// let note = Note::store().get(&mut tenant, id).await?; // one round trip
/// # Ok(()) }
/// ```
///
/// Several operations that must commit together take a [`TenantTx`] instead.
#[derive(Clone, Copy)]
pub struct TenantDb<'db> {
    db: &'db Db,
    user_id: Uuid,
    org_id: Uuid,
}

impl std::fmt::Debug for TenantDb<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantDb")
            .field("user_id", &self.user_id)
            .field("org_id", &self.org_id)
            .finish_non_exhaustive()
    }
}

impl<'db> TenantDb<'db> {
    /// The runner of one call on this tenant.
    pub(crate) fn into_runner(self) -> Runner<'db> {
        Runner {
            user_id: self.user_id,
            org_id: self.org_id,
            cursor_key: &self.db.inner.cursor_key,
            on: On::Alone(Alone {
                db: self.db,
                user_id: self.user_id,
                org_id: self.org_id,
                lease: None,
                token: None,
                open: false,
                read: false,
            }),
        }
    }

    pub(crate) fn new(db: &'db Db, principal: &Principal) -> Self {
        Self {
            db,
            user_id: principal.user_id(),
            org_id: principal.org_id(),
        }
    }

    /// The tenant id this handle speaks for with entities of `scope`.
    pub fn tenant(&self, scope: Scope) -> Uuid {
        scope.pick(self.user_id, self.org_id)
    }
}

/// Runs one operation's statements for its tenant.
#[doc(hidden)]
pub struct Runner<'t> {
    user_id: Uuid,
    org_id: Uuid,
    cursor_key: &'t CursorKey,
    on: On<'t>,
}

enum On<'t> {
    Tx {
        lease: &'t mut Lease,
        token: &'t str,
        aborted: &'t mut bool,
    },
    Alone(Alone<'t>),
}

/// A [`TenantDb`] call: a connection taken at the first statement, given back at the end.
struct Alone<'t> {
    db: &'t Db,
    /// The principal the context names.
    user_id: Uuid,
    org_id: Uuid,
    lease: Option<Lease>,
    /// Behind a transaction pooler ([`Pooler::Transaction`]): the context signed for the
    /// transaction the statements run in, once it is open.
    token: Option<String>,
    /// [`Runner::begin`] opened the transaction: statements join it until
    /// [`Runner::commit`]. Otherwise, behind a transaction pooler, each statement gets a
    /// transaction of its own.
    open: bool,
    /// The call only reads (`get`, `list`, `count`): with a read replica, it goes there
    /// ([`replica`](super::replica)).
    read: bool,
}

impl Runner<'_> {
    /// This call only reads: on a [`TenantDb`] of a `Db` with a read replica, it runs there.
    pub(crate) fn reading(mut self) -> Self {
        if let On::Alone(a) = &mut self.on {
            a.read = true;
        }
        self
    }

    /// The tenant id for entities of `scope`.
    pub(crate) fn tenant(&self, scope: Scope) -> Uuid {
        scope.pick(self.user_id, self.org_id)
    }

    /// The key the listings' cursors are sealed with.
    pub(crate) fn cursor_key(&self) -> &CursorKey {
        self.cursor_key
    }

    /// The statement's rows.
    pub(crate) async fn all(&mut self, st: &Statement) -> Result<Vec<PgRow>> {
        Ok(self.run(st, Error::from).await?.rows)
    }

    /// The statement's first row (generated statements return at most one here).
    pub(crate) async fn optional(&mut self, st: &Statement) -> Result<Option<PgRow>> {
        Ok(self.run(st, Error::from).await?.rows.into_iter().next())
    }

    /// How many rows the statement affected.
    pub(crate) async fn affected(&mut self, st: &Statement) -> Result<u64> {
        Ok(self.run(st, Error::from).await?.affected)
    }

    /// How many rows a `DELETE` of the entity's own rows deleted. A foreign key violation
    /// here is a child's `on_delete = "restrict"` reference ([`Error::Referenced`]), not the
    /// missing parent it means for an insert.
    pub(crate) async fn deleted(&mut self, st: &Statement) -> Result<u64> {
        fn deleting(e: sqlx::Error) -> Error {
            match &e {
                sqlx::Error::Database(db)
                    if db.kind() == sqlx::error::ErrorKind::ForeignKeyViolation =>
                {
                    Error::Referenced(db.message().to_owned())
                }
                _ => Error::from(e),
            }
        }
        Ok(self.run(st, deleting).await?.affected)
    }

    async fn run(&mut self, st: &Statement, convert: fn(sqlx::Error) -> Error) -> Result<Answer> {
        match &mut self.on {
            On::Tx {
                lease,
                token,
                aborted,
            } => {
                let q = st.query(token)?;
                lease
                    .call(q, convert)
                    .await
                    .inspect_err(|_| **aborted = true)
            }
            On::Alone(a) => a.run(|token| st.query(token), convert).await,
        }
    }

    /// The text lines of the plan PostgreSQL makes for `st` with its values unknown:
    /// `EXPLAIN (COSTS OFF) EXECUTE` of it prepared by SQL `PREPARE`, under
    /// `plan_cache_mode = force_generic_plan`, in one transaction. Only the statement's text
    /// is sent, never its values.
    ///
    /// Why the generic plan: the planner's statistics cover every tenant's rows (RLS does not
    /// filter them), so a plan made for the caller's values would say whether another tenant
    /// holds them: by its estimates, and by its shape, which the estimates choose (a bitmap
    /// scan for a value another tenant holds 2,000 times, an index scan for one nobody holds).
    /// The generic plan depends on the statement's text and the table's statistics as a
    /// whole, never on a value. PostgreSQL 15 has no `EXPLAIN (GENERIC_PLAN)` (16 does).
    ///
    /// The statement is deallocated and the setting put back before the end; a failure on
    /// the way marks the connection dirty, so a statement left prepared closes it
    /// ([`pool`](super::pool)).
    pub(crate) async fn explain_generic(&mut self, st: &Statement) -> Result<Vec<String>> {
        const NAME: &str = "tenant_store_explain";
        let plain = |sql: String| sqlx::query(AssertSqlSafe(sql)).persistent(false);
        // `EXECUTE`'s arguments cannot be bound parameters, and the generic plan does not read
        // them: each is `NULL`, so the caller's values (and the context) never reach the server.
        let nulls = vec!["NULL"; st.args.len() + 1].join(", ");
        self.begin().await?;
        self.lease().dirty = true;
        let before = self
            .plain(plain(
                "SELECT pg_catalog.current_setting('plan_cache_mode'), \
                 pg_catalog.set_config('plan_cache_mode', 'force_generic_plan', true)"
                    .to_owned(),
            ))
            .await?;
        let before: String = sqlx::Row::try_get(&before.rows[0], 0)?;
        self.plain(plain(format!("PREPARE {NAME} AS {}", st.sql.as_str())))
            .await?;
        let rows = self
            .plain(plain(format!(
                "EXPLAIN (COSTS OFF) EXECUTE {NAME}({nulls})"
            )))
            .await?
            .rows;
        self.plain(plain(format!("DEALLOCATE {NAME}"))).await?;
        self.plain(
            sqlx::query("SELECT pg_catalog.set_config('plan_cache_mode', $1, true)")
                .bind(before)
                .persistent(false),
        )
        .await?;
        rows.iter()
            .map(|row| sqlx::Row::try_get::<String, _>(row, 0).map_err(Error::from))
            .collect()
    }

    /// Sends `q` as it is (no context) on the call's connection, after its first statement.
    async fn plain(&mut self, q: PgQuery<'static>) -> Result<Answer> {
        match &mut self.on {
            On::Tx { lease, aborted, .. } => lease
                .call(q, Error::from)
                .await
                .inspect_err(|_| **aborted = true),
            On::Alone(a) => {
                let lease = a.lease.as_mut().expect("the call has sent a statement");
                lease.call(q, Error::from).await
            }
        }
    }

    /// The connection of a call that has sent its first statement.
    fn lease(&mut self) -> &mut Lease {
        match &mut self.on {
            On::Tx { lease, .. } => lease,
            On::Alone(a) => a.lease.as_mut().expect("the call has sent a statement"),
        }
    }

    /// Makes the operation's next statements one transaction (on a [`TenantDb`]; a
    /// [`TenantTx`] is one already). End it with [`commit`](Self::commit).
    pub(crate) async fn begin(&mut self) -> Result<()> {
        let On::Alone(a) = &mut self.on else {
            return Ok(());
        };
        if a.db.pooler() == Pooler::Transaction {
            a.open_transaction().await?;
            a.open = true;
            return Ok(());
        }
        a.run(|_| Ok(sqlx::query("BEGIN")), Error::from).await?;
        a.lease.as_mut().expect("BEGIN ran on it").in_tx = true;
        Ok(())
    }

    /// Commits what [`begin`](Self::begin) opened.
    pub(crate) async fn commit(mut self) -> Result<()> {
        let On::Alone(a) = &mut self.on else {
            return Ok(());
        };
        match a.lease.take() {
            Some(lease) if lease.in_tx => lease.finish("COMMIT").await,
            _ => Ok(()),
        }
    }
}

impl Alone<'_> {
    /// Sends the statement `make` builds for the connection's context: the call's first on a
    /// connection taken from the pool ([`Lease::first`]), the others on the same one.
    async fn run(
        &mut self,
        make: impl Fn(&str) -> Result<PgQuery<'static>>,
        convert: fn(sqlx::Error) -> Error,
    ) -> Result<Answer> {
        let db = self.db;
        if db.pooler() == Pooler::Transaction || (self.read && db.replica().is_some()) {
            return self.run_in_transaction(make, convert).await;
        }
        let (user_id, org_id) = (self.user_id, self.org_id);
        let sign = |lease: &mut Lease| db.statement_token(lease.session_mut(), user_id, org_id);
        match &mut self.lease {
            Some(lease) => {
                let q = make(&sign(lease))?;
                lease.call(q, convert).await
            }
            None => {
                let (lease, answer) =
                    Lease::first(&db.inner.pool, |lease| make(&sign(lease)), convert).await?;
                self.lease = Some(lease);
                Ok(answer)
            }
        }
    }

    /// [`run`](Self::run) behind a transaction pooler, or of a read for the replica: in the
    /// call's open transaction, or in one of the statement's own (`BEGIN` and the pid, the
    /// statement, `COMMIT`).
    async fn run_in_transaction(
        &mut self,
        make: impl Fn(&str) -> Result<PgQuery<'static>>,
        convert: fn(sqlx::Error) -> Error,
    ) -> Result<Answer> {
        if self.lease.is_none() {
            self.open_transaction().await?;
        }
        let (Some(lease), Some(token)) = (self.lease.as_mut(), self.token.as_deref()) else {
            unreachable!("a transaction is open");
        };
        let answer = match lease.call(make(token)?, convert).await {
            Ok(answer) => answer,
            Err(e) => {
                if !self.open {
                    // Dropped, the lease rolls the transaction back before it is pooled again.
                    self.lease = None;
                    self.token = None;
                }
                return Err(e);
            }
        };
        if !self.open {
            self.token = None;
            let lease = self.lease.take().expect("the statement ran on it");
            lease.finish("COMMIT").await?;
        }
        Ok(answer)
    }

    /// Opens the call's transaction (on the replica for a read, when it can serve it) and signs
    /// the context for it.
    async fn open_transaction(&mut self) -> Result<()> {
        let on_replica = match (self.read, self.db.replica()) {
            (true, Some(replica)) => replica.open(self.db).await?,
            _ => None,
        };
        let (lease, pid, started_us) = match on_replica {
            Some(opened) => opened,
            None => self.db.open_transaction().await?,
        };
        self.token = Some(
            self.db
                .transaction_token(pid, started_us, self.user_id, self.org_id),
        );
        self.lease = Some(lease);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_statement_names_the_context_after_its_parameters() {
        let mut qb = QueryBuilder::<Postgres>::new("SELECT 1 FROM t WHERE ");
        push_gate(&mut qb);
        qb.push(" AND a = ");
        qb.push_bind(7_i64);
        qb.push(" LIMIT ");
        qb.push_bind(3_i64);
        let st = Statement::built(qb).unwrap();
        assert_eq!(
            st.sql(),
            "SELECT 1 FROM t WHERE (SELECT pg_catalog.set_config('tenant_store.ctx', $3, true) IS NOT NULL) AND a = $1 LIMIT $2"
        );
        assert!(!st.sql().contains(CTX_MARK));
    }
}
