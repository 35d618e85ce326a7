//! The admin scope: the one way to act across tenants, audited in the same transaction.
//!
//! ```ignore
//! let mut admin = db.admin(&operator, "GDPR erasure request #4711").await?;
//! let tx = admin.enter(&customer).await?;          // audited: operator entered customer's tenant
//! Memory::store().delete_tenant(tx).await?;
//! admin.commit().await?;                           // the work and its audit rows, or neither
//! ```
//!
//! ## Design
//! - [`Db::admin`](super::Db::admin) opens a transaction with *no* tenant (the settings are
//!   empty, so RLS shows nothing) and writes the opening audit row: a fresh session id, the
//!   actor's user and org, the reason, the time.
//! - [`AdminTx::enter`] switches the transaction to a tenant (`set_config(.., true)`, i.e.
//!   `SET LOCAL`, with bound values) and writes an audit row naming it, then lends the
//!   transaction as a [`TenantTx`] so every generated store method works unchanged. RLS stays in
//!   force: the application role never bypasses it; the admin scope only changes which tenant
//!   the transaction speaks for, and says so in the audit table.
//! - The audit rows are written by the same transaction as the work: if it rolls back, both are
//!   gone; if it commits, both are there. The application role may only INSERT into
//!   `tenant_store_admin_audit` (no SELECT, UPDATE or DELETE), so it cannot rewrite history.
//! - The scope cannot outlive its transaction: `enter` lends a `&mut TenantTx` that borrows the
//!   `AdminTx`, and [`AdminTx::commit`] consumes it.
//!
//! [`move_tenant`] uses it to move a tenant's rows to another tenant atomically.

use uuid::Uuid;

use super::{PgEntity, TenantTx, bind_value};
use crate::{Error, Principal, Result, Scope};

/// The audit table's migration, to be applied with the entities' (see
/// [`EntityMigration::admin_audit`](super::migrate::EntityMigration::admin_audit)).
pub fn audit_table_sql(app_role: &str) -> String {
    format!(
        "CREATE TABLE tenant_store_admin_audit (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id uuid NOT NULL,
    actor_user_id uuid NOT NULL,
    actor_org_id uuid NOT NULL,
    reason text NOT NULL CHECK (length(btrim(reason)) > 0),
    user_id uuid,
    org_id uuid,
    at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE tenant_store_admin_audit IS 'tenant-store admin scope audit: one row per admin transaction opened (user_id, org_id NULL) and per tenant entered';
CREATE INDEX tenant_store_admin_audit_session ON tenant_store_admin_audit (session_id);
REVOKE ALL ON tenant_store_admin_audit FROM PUBLIC;
GRANT INSERT ON tenant_store_admin_audit TO {app_role};
"
    )
}

const AUDIT_INSERT: &str = "INSERT INTO tenant_store_admin_audit \
     (session_id, actor_user_id, actor_org_id, reason, user_id, org_id) \
     VALUES ($1, $2, $3, $4, $5, $6)";

/// An audited transaction that may act for any tenant it [`enter`](Self::enter)s.
#[must_use = "an admin transaction rolls back (with its audit rows) when dropped"]
#[derive(Debug)]
pub struct AdminTx<'db> {
    tx: TenantTx<'db>,
    session: Uuid,
    actor: Principal,
    reason: String,
}

impl<'db> AdminTx<'db> {
    pub(crate) async fn open(
        mut tx: TenantTx<'db>,
        actor: &Principal,
        reason: &str,
    ) -> Result<Self> {
        if reason.trim().is_empty() {
            return Err(Error::InvalidInput(
                "an admin scope needs a reason; it is written to the audit table".into(),
            ));
        }
        let session = Uuid::new_v4();
        let admin = Self {
            session,
            actor: actor.clone(),
            reason: reason.to_owned(),
            tx: {
                tx.execute(audit_row(session, actor, reason, None, None))
                    .await?;
                tx
            },
        };
        Ok(admin)
    }

    /// This admin transaction's id in the audit table (`session_id`).
    pub fn session_id(&self) -> Uuid {
        self.session
    }

    /// Switches the transaction to `tenant`'s scope (both its user and its org), writes an audit
    /// row naming it, and lends the transaction for generated store calls.
    pub async fn enter(&mut self, tenant: &Principal) -> Result<&mut TenantTx<'db>> {
        let set = sqlx::query(
            "SELECT set_config('tenant_store.user_id', $1, true), \
                    set_config('tenant_store.org_id', $2, true)",
        )
        .bind(tenant.user_id().hyphenated().to_string())
        .bind(tenant.org_id().hyphenated().to_string());
        self.tx.fetch_all(set).await?;
        self.tx.user_id = tenant.user_id();
        self.tx.org_id = tenant.org_id();
        let row = audit_row(
            self.session,
            &self.actor,
            &self.reason,
            Some(tenant.user_id()),
            Some(tenant.org_id()),
        );
        self.tx.execute(row).await?;
        Ok(&mut self.tx)
    }

    /// Commits the work and its audit rows together.
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await
    }

    /// Rolls back the work and its audit rows.
    pub async fn rollback(self) -> Result<()> {
        self.tx.rollback().await
    }
}

fn audit_row<'q>(
    session: Uuid,
    actor: &Principal,
    reason: &'q str,
    user_id: Option<Uuid>,
    org_id: Option<Uuid>,
) -> super::PgQuery<'q> {
    sqlx::query(AUDIT_INSERT)
        .bind(session)
        .bind(actor.user_id())
        .bind(actor.org_id())
        .bind(reason)
        .bind(user_id)
        .bind(org_id)
}

/// A table whose rows [`move_tenant`] moves: an entity's table and scope column.
#[derive(Debug, Clone, Copy)]
pub struct MoveTable {
    table: &'static str,
    scope: Scope,
}

impl MoveTable {
    /// The table of entity `E`.
    pub fn of<E: PgEntity>() -> Self {
        Self {
            table: E::TABLE,
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

/// Moves every row of `from`'s tenant in `tables` to `to`'s tenant (merging into what `to`
/// already has), inside the admin transaction: all of it happens at commit, or none.
///
/// `tables` must list parents before children (the order the entities' migrations are in).
/// Rows are copied table by table in that order (read as `from`, written as `to`, through a
/// temporary table so RLS checks both sides), then deleted as `from` in reverse order. Every
/// column is kept (ids, versions, timestamps). An id that both tenants hold makes the move fail
/// with `Error::Duplicate`, and the transaction then commits nothing: resolve the clash and run
/// it again. Each table is moved by its own scope column: `user_id` tables from `from`'s user to
/// `to`'s user, `org_id` tables from org to org.
pub async fn move_tenant(
    admin: &mut AdminTx<'_>,
    from: &Principal,
    to: &Principal,
    tables: &[MoveTable],
) -> Result<Moved> {
    let mut moved = Vec::with_capacity(tables.len());
    for t in tables {
        let (table, scope) = (t.table, t.scope.as_str());
        let tmp = format!("tenant_store_move_{table}");
        let tx = admin.enter(from).await?;
        tx.execute(sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE TEMP TABLE \"{tmp}\" (LIKE \"{table}\") ON COMMIT DROP"
        ))))
        .await?;
        let copied = tx
            .execute(bind_value(
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO \"{tmp}\" SELECT * FROM \"{table}\" WHERE \"{scope}\" = $1"
                ))),
                from.tenant(t.scope),
            ))
            .await?;
        let tx = admin.enter(to).await?;
        tx.execute(bind_value(
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE \"{tmp}\" SET \"{scope}\" = $1"
            ))),
            to.tenant(t.scope),
        ))
        .await?;
        tx.execute(sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO \"{table}\" SELECT * FROM \"{tmp}\""
        ))))
        .await?;
        tx.execute(sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP TABLE \"{tmp}\""
        ))))
        .await?;
        moved.push((table, copied));
    }
    for t in tables.iter().rev() {
        let tx = admin.enter(from).await?;
        tx.execute(bind_value(
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM \"{}\" WHERE \"{}\" = $1",
                t.table,
                t.scope.as_str()
            ))),
            from.tenant(t.scope),
        ))
        .await?;
    }
    Ok(Moved { tables: moved })
}
