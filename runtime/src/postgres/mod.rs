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
//! Behind a pooler in transaction mode ([`Pooler::Transaction`]) a connection is not a session:
//! every call opens a transaction that reads its backend pid, and every statement is unnamed
//! (`pool`, "Behind a transaction pooler").
//!
//! What hand-written SQL can leave on a session and how it is handled, in the same message
//! that ends the transaction (no extra round trip): settings (`set_config(.., false)`, `SET`,
//! `SET ROLE`), `WITH HOLD` cursors, `LISTEN`, advisory locks and temporary objects are reset;
//! prepared statements are checked instead (resetting them would drop sqlx's statement cache),
//! and a session holding one that sqlx did not make (which could stand in for a generated
//! statement in the next tenant's transaction) is closed instead of pooled. Transactions that
//! ran only generated statements skip all of this. A guard dropped without an end is rolled
//! back and cleaned the same way by a spawned task before its connection is reused.
//!
//! ## Files
//! By role, the way sqlx splits its pool: `options.rs` ([`DbOptions`]), `db.rs` ([`Db`]: the
//! ways in, and `connect`'s start-up checks), `tx.rs` ([`TenantTx`]), `run.rs` (where a
//! generated statement runs: the gate), `pool.rs` (connections), `context.rs` (signing),
//! `store.rs` (the generated stores' operations), `admin.rs`, `audit.rs` and `behind.rs` (the
//! checks at connect), `migrate.rs` and `evolve/` (migrations), `keys.rs`, `data_migration.rs`, `native.rs` (the
//! opt-in check in C).

mod admin;
pub(crate) mod audit;
mod behind;
mod column;
pub mod context;
pub mod data_migration;
mod db;
pub mod evolve;
pub mod keys;
pub mod migrate;
pub mod native;
mod options;
mod pool;
mod replica;
pub mod run;
pub(crate) mod store;
mod tx;

use sqlx::Postgres;
use sqlx::postgres::PgArguments;

/// Registers the admin scope's audit table for the migrations:
/// `tenant_store::postgres::admin_audit!();` (see [`Db::admin`]).
pub use crate::__pg_admin_audit as admin_audit;
/// Allows the next migration to drop a table no entity declares any more, with its rows:
/// `tenant_store::postgres::drop_table!("public", "episodes");` (see [`evolve`]).
pub use crate::__pg_drop_table as drop_table;
pub use admin::{AdminTx, MoveTable, Moved, audit_table_sql, move_tenant};
pub use audit::audit;
use audit::findings as audit_findings;
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

pub use db::{Db, PoolStatus, RawConn, audit_report};
pub use options::{DbOptions, Pooler, ReadConsistency};
#[cfg(feature = "cli")]
pub(crate) use pool::endpoint as pool_endpoint;
pub use tx::TenantTx;

/// A plain sqlx query with arguments, as the generated code builds them.
pub type PgQuery<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

/// Binds one column value (bounded by [`PgColumn`], so a bad type names that trait).
pub(crate) fn bind_value<T: PgColumn>(q: PgQuery<'_>, value: T) -> PgQuery<'_> {
    q.bind(value)
}
