//! The admin scope: the one way to act across tenants, audited before it acts.
//!
//! ```no_run
//! # use tenant_store::{Principal, Uuid, tenant_store};
//! # #[tenant_store(backend = "postgres", scope = "user_id")]
//! # pub struct Memory { #[tenant_store(id)] pub id: Uuid, pub user_id: Uuid, pub content: String }
//! async fn erase(db: &tenant_store::postgres::Db, operator: &Principal, customer: &Principal)
//!     -> tenant_store::Result<()> {
//!     let mut admin = db.admin(operator, "GDPR erasure request #4711").await?;
//!     let tx = admin.enter(customer).await?;   // audited and committed: operator entered customer
//!     Memory::store().delete_tenant(tx).await?;
//!     admin.commit().await                     // the work; the audit rows are already there
//! }
//! ```
//!
//! ## Design
//! - [`Db::admin`](super::Db::admin) opens a transaction with *no* tenant (no context, so RLS
//!   shows nothing) and writes the opening audit row: a fresh session id, the actor's user and
//!   org, the reason.
//! - [`AdminTx::enter`] writes an audit row naming the tenant, then switches the transaction to
//!   that tenant through the same signed context every `TenantTx` uses, and lends the
//!   transaction as a [`TenantTx`] so every generated store method works unchanged. RLS stays
//!   in force: the application role never bypasses it; the admin scope only changes which
//!   tenant the transaction speaks for, and says so in the audit table first.
//! - Audit rows are written on a connection of their own, outside the pool, each in its own
//!   committed transaction, before `Db::admin` or `enter` returns: a rollback of the admin
//!   transaction cannot erase them. They go through `tenant_store_private.admin_audit`, which
//!   inserts only rows signed with the application's key; the application role has no
//!   privilege on the audit table at all, so hand-written SQL can neither write a false row nor
//!   read, change or delete a true one.
//! - The scope cannot outlive its transaction: `enter` lends a `&mut TenantTx` that borrows the
//!   `AdminTx`, and [`AdminTx::commit`] consumes it.
//!
//! [`move_tenant`] uses it to move a tenant's rows to another tenant atomically.

use std::collections::HashSet;

use sqlx::{AssertSqlSafe, Executor as _};
use uuid::Uuid;

use super::context::{self, AuditRow};
use super::pool::Session;
use super::{Db, PgEntity, TenantTx, bind_value};
use crate::{Error, Principal, Result, Scope};

/// The audit table's migration, generated with the entities' when the application writes
/// [`admin_audit!()`](crate::postgres::admin_audit). Only the definer role may write it;
/// `app_role` gets nothing.
pub fn audit_table_sql(app_role: &str) -> String {
    format!(
        "CREATE TABLE public.tenant_store_admin_audit (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id uuid NOT NULL,
    actor_user_id uuid NOT NULL,
    actor_org_id uuid NOT NULL,
    reason text NOT NULL CHECK (length(btrim(reason)) > 0),
    user_id uuid,
    org_id uuid,
    at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE public.tenant_store_admin_audit IS 'tenant-store admin scope audit: one row per admin transaction opened (user_id, org_id NULL) and per tenant entered, committed before the admin acts';
CREATE INDEX tenant_store_admin_audit_session ON public.tenant_store_admin_audit (session_id);
REVOKE ALL ON public.tenant_store_admin_audit FROM PUBLIC, {app_role};
GRANT INSERT ON public.tenant_store_admin_audit TO {definer};
",
        definer = context::DEFINER_ROLE
    )
}

/// An audited transaction that may act for any tenant it [`enter`](Self::enter)s.
#[must_use = "an admin transaction rolls back (its audit rows stay) when dropped"]
pub struct AdminTx<'db> {
    db: &'db Db,
    tx: TenantTx<'db>,
    /// The connection the audit rows are committed on.
    audit: Session,
    session: Uuid,
    actor: Principal,
    reason: String,
    /// Tenants already entered (and audited) in this session.
    entered: HashSet<(Uuid, Uuid)>,
}

impl std::fmt::Debug for AdminTx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminTx")
            .field("session", &self.session)
            .field("actor", &self.actor)
            .field("reason", &self.reason)
            .field("tx", &self.tx)
            .finish_non_exhaustive()
    }
}

impl<'db> AdminTx<'db> {
    pub(crate) async fn open(db: &'db Db, actor: &Principal, reason: &str) -> Result<Self> {
        if reason.trim().is_empty() {
            return Err(Error::InvalidInput(
                "an admin scope needs a reason; it is written to the audit table".into(),
            ));
        }
        let session = Uuid::new_v4();
        let mut audit = db.open_session().await?;
        write_audit(db, &mut audit, session, actor, reason, None).await?;
        let tx = db.begin_as(None).await?;
        Ok(Self {
            db,
            tx,
            audit,
            session,
            actor: actor.clone(),
            reason: reason.to_owned(),
            entered: HashSet::new(),
        })
    }

    /// This admin transaction's id in the audit table (`session_id`).
    pub fn session_id(&self) -> Uuid {
        self.session
    }

    /// Writes (and commits) an audit row naming `tenant` the first time this session enters it,
    /// then switches the transaction to `tenant`'s scope (both its user and its org) and lends
    /// it for generated store calls.
    pub async fn enter(&mut self, tenant: &Principal) -> Result<&mut TenantTx<'db>> {
        let ids = (tenant.user_id(), tenant.org_id());
        if !self.entered.contains(&ids) {
            write_audit(
                self.db,
                &mut self.audit,
                self.session,
                &self.actor,
                &self.reason,
                Some(ids),
            )
            .await?;
            self.entered.insert(ids);
        }
        let started_us = self.tx.started_us;
        self.tx.token = self
            .db
            .transaction_token(self.tx.pid, started_us, ids.0, ids.1);
        self.tx.user_id = ids.0;
        self.tx.org_id = ids.1;
        self.tx.set_context().await?;
        Ok(&mut self.tx)
    }

    /// Commits the work (the audit rows are committed already).
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await
    }

    /// Rolls back the work; the audit rows stay.
    pub async fn rollback(self) -> Result<()> {
        self.tx.rollback().await
    }
}

/// Commits one signed audit row on `conn`.
async fn write_audit(
    db: &Db,
    conn: &mut Session,
    session: Uuid,
    actor: &Principal,
    reason: &str,
    tenant: Option<(Uuid, Uuid)>,
) -> Result<()> {
    let row = AuditRow {
        session,
        actor_user: actor.user_id(),
        actor_org: actor.org_id(),
        tenant,
        issued_ms: conn.server_now_ms(),
        reason,
    };
    let signature = context::audit_signature(db.key(), &row);
    let write =
        sqlx::query("SELECT tenant_store_private.admin_audit($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(row.session)
            .bind(row.actor_user)
            .bind(row.actor_org)
            .bind(row.reason)
            .bind(tenant.map(|t| t.0))
            .bind(tenant.map(|t| t.1))
            .bind(row.issued_ms)
            .bind(db.key().id())
            .bind(signature)
            .persistent(false);
    // In a transaction of its own: behind a transaction pooler, the unnamed statement's Parse
    // and Bind must meet the same server session.
    let conn = &mut conn.conn;
    conn.execute(sqlx::raw_sql("BEGIN")).await?;
    match conn.execute(write).await {
        Ok(_) => conn.execute(sqlx::raw_sql("COMMIT")).await?,
        Err(e) => {
            conn.execute(sqlx::raw_sql("ROLLBACK")).await?;
            return Err(e.into());
        }
    };
    Ok(())
}

/// A table whose rows [`move_tenant`] moves: an entity's table, id and scope column.
#[derive(Debug, Clone, Copy)]
pub struct MoveTable {
    schema: &'static str,
    table: &'static str,
    id: &'static str,
    scope: Scope,
}

impl MoveTable {
    /// The table of entity `E`.
    pub fn of<E: PgEntity>() -> Self {
        Self {
            schema: E::SCHEMA,
            table: E::TABLE,
            id: E::ID_COLUMN,
            scope: E::SCOPE,
        }
    }
}

/// How many rows [`move_tenant`] moved, per table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// (table, rows), in the order given.
    pub tables: Vec<(&'static str, u64)>,
}

/// Rows copied per statement by [`move_tenant`].
const MOVE_CHUNK: i64 = 10_000;

/// Moves every row of `from`'s tenant in `tables` to `to`'s tenant (merging into what `to`
/// already has), inside the admin transaction: all of it happens at commit, or none.
///
/// `tables` must list parents before children (the order the entities' migrations are in).
/// Rows are copied table by table in that order, 10,000 at a time in id order: read as
/// `from`, written as `to`, so RLS checks both sides; then deleted as `from` in reverse order.
/// The rows travel through this process as JSON (no temporary table: the application role has
/// no `TEMPORARY` privilege). Every column is kept (ids, versions, timestamps). An id that both
/// tenants hold makes the move fail with `Error::Duplicate`, and the transaction then commits
/// nothing: resolve the clash and run it again. Each table is moved by its own scope column:
/// `user_id` tables from `from`'s user to `to`'s user, `org_id` tables from org to org.
pub async fn move_tenant(
    admin: &mut AdminTx<'_>,
    from: &Principal,
    to: &Principal,
    tables: &[MoveTable],
) -> Result<Moved> {
    let mut moved = Vec::with_capacity(tables.len());
    for t in tables {
        let (qualified, id, scope) = (
            format!("\"{}\".\"{}\"", t.schema, t.table),
            t.id,
            t.scope.as_str(),
        );
        // Rows travel as the text form of an array of the table's row type, which keeps every
        // value exactly (a JSON `null` stays a JSON value, unlike a trip through `jsonb`).
        let read = format!(
            "SELECT coalesce(array_agg(c ORDER BY c.\"{id}\")::text, '{{}}'), \
                    (array_agg(c.\"{id}\" ORDER BY c.\"{id}\" DESC))[1] \
             FROM (SELECT * FROM {qualified} WHERE \"{scope}\" = $1 AND \"{id}\" > $2 \
                   ORDER BY \"{id}\" LIMIT {MOVE_CHUNK}) c"
        );
        let columns: Vec<String> = admin
            .enter(from)
            .await?
            .run_all(
                sqlx::query(
                    "SELECT attname::text FROM pg_catalog.pg_attribute \
                     WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                )
                .bind(&qualified),
            )
            .await?
            .iter()
            .map(|r| {
                use sqlx::Row as _;
                r.try_get::<String, _>(0)
            })
            .collect::<std::result::Result<_, _>>()?;
        let values: Vec<String> = columns
            .iter()
            .map(|c| {
                if c == scope {
                    "$2::uuid".to_owned()
                } else {
                    format!("r.\"{c}\"")
                }
            })
            .collect();
        let names: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
        let write = format!(
            "INSERT INTO {qualified} ({}) SELECT {} FROM unnest($1::text::{qualified}[]) AS r",
            names.join(", "),
            values.join(", ")
        );
        let (mut after, mut copied) = (Uuid::nil(), 0u64);
        loop {
            let tx = admin.enter(from).await?;
            let row = tx
                .run_optional(
                    bind_value(
                        sqlx::query(AssertSqlSafe(read.clone())),
                        from.tenant(t.scope),
                    )
                    .bind(after),
                )
                .await?
                .ok_or(Error::NotFound)?;
            let (rows, last): (String, Option<Uuid>) = {
                use sqlx::Row as _;
                (row.try_get(0)?, row.try_get(1)?)
            };
            let Some(last) = last else { break };
            let tx = admin.enter(to).await?;
            copied += tx
                .run(
                    sqlx::query(AssertSqlSafe(write.clone()))
                        .bind(rows)
                        .bind(to.tenant(t.scope)),
                )
                .await?;
            after = last;
        }
        moved.push((t.table, copied));
    }
    for t in tables.iter().rev() {
        let tx = admin.enter(from).await?;
        tx.run(bind_value(
            sqlx::query(AssertSqlSafe(format!(
                "DELETE FROM \"{}\".\"{}\" WHERE \"{}\" = $1",
                t.schema,
                t.table,
                t.scope.as_str()
            ))),
            from.tenant(t.scope),
        ))
        .await?;
    }
    Ok(Moved { tables: moved })
}
