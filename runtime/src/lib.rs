//! # tenant-store
//!
//! One attribute on an entity struct generates a tenant-scoped store:
//!
//! ```no_run
//! use tenant_store::{Principal, Uuid, tenant_store};
//!
//! #[tenant_store(backend = "postgres", scope = "user_id", table = "memories", new_derive(Default))]
//! pub struct Memory {
//!     #[tenant_store(id)] pub id: Uuid,
//!     pub user_id: Uuid,                       // the tenant: filled from the principal
//!     #[tenant_store(filter)] pub app_id: Uuid,
//!     pub content: String,
//!     #[tenant_store(version)] pub version: i64,
//! }
//!
//! async fn remember(url: &str, principal: &Principal, app_id: Uuid) -> tenant_store::Result<Memory> {
//!     let key = tenant_store::postgres::SigningKey::from_env()?;   // TENANT_STORE_PG_KEY
//!     let db = tenant_store::postgres::Db::connect(url, key).await?; // audits the role first
//!     let mut tenant = db.tenant(principal);                       // the tenant; sends nothing
//!     let content = "hello".to_owned();
//!     let new = NewMemory { app_id, content, ..Default::default() };
//!     Memory::store().create(&mut tenant, new).await               // one round trip, committed
//! }
//! ```
//!
//! Each call on a `TenantDb` (`Db::tenant`) is one statement that carries the signed tenant
//! context: one round trip, committed on its own. Work that must commit together takes a
//! `TenantTx` (`Db::begin`) instead; the store methods take either.
//!
//! ## Data flow
//! authentication -> [`Principal`] -> tenant context (`postgres::TenantDb` or `TenantTx`) -> generated store
//! method -> backend. A tenant context can only be made from a `&Principal`, and every generated
//! method takes one, so a query without a tenant does not compile. The scope field of the entity
//! (`user_id` or `org_id`) is always filled from the context, never from caller input.
//!
//! ## Across backends
//! Every generated store (except append-only ones) implements [`contract::TenantStore`], the
//! common shape of all backends: the same `None`/empty/`NotFound`/`Duplicate` answers to the same
//! situations. The one way to act across tenants is the audited admin scope,
//! `postgres::Db::admin`; `postgres::move_tenant` moves a tenant's rows atomically inside it.
//!
//! ## Queries
//! `list` and `count` take the generated `{Entity}Filter` ([`query`] has the vocabulary): per
//! `filter` field a value (equality) or a [`Cond`] (a set, a range, a null test, a prefix, as the
//! field's type allows: a range on a `bool` or a null test on a required field does not
//! compile), ANDed; and `order_by` one of the id or the `order_by` fields, either direction,
//! the id breaking ties. `list` returns a [`Listing`]: the page and, when there is more, the
//! [`Page`] that continues it, with an opaque cursor sealed to the tenant, the entity and the
//! order. On the feedback example's entity (`#[tenant_store(filter, order_by)] score: f64`,
//! `#[tenant_store(filter, order_by)] occurred_at`, `#[tenant_store(filter)] comment:
//! Option<String>`, `#[tenant_store(filter)] query_type: String`):
//!
//! ```no_run
//! # use tenant_store::{Cond, Direction, Page, Principal, Uuid, tenant_store};
//! # use tenant_store::postgres::TenantTx;
//! # use chrono::{DateTime, Utc};
//! # #[tenant_store(backend = "postgres", scope = "org_id", table = "feedback_events", append_only)]
//! # pub struct FeedbackEvent {
//! #     #[tenant_store(id)] pub id: Uuid,
//! #     pub org_id: Uuid,
//! #     #[tenant_store(filter)] pub query_type: String,
//! #     #[tenant_store(filter, order_by)] pub score: f64,
//! #     #[tenant_store(filter, order_by)] pub occurred_at: DateTime<Utc>,
//! #     #[tenant_store(filter)] pub comment: Option<String>,
//! # }
//! async fn report(tx: &mut TenantTx<'_>, from: DateTime<Utc>, to: DateTime<Utc>) -> tenant_store::Result<()> {
//!     let store = FeedbackEvent::store();
//!     // Commented search feedback between two dates, oldest first, 50 at a time.
//!     let filter = || {
//!         FeedbackEventFilter::new()
//!             .query_type(Cond::starts_with("search"))
//!             .occurred_at(Cond::range(from..to))
//!             .comment(Cond::is_not_null())
//!             .order_by(FeedbackEventOrder::OccurredAt, Direction::Asc)
//!     };
//!     let total = store.count(tx, filter()).await?;
//!     let mut page = Page::first(50);
//!     loop {
//!         let listing = store.list(tx, filter(), page).await?;
//!         for event in &listing.items { /* ... */ }
//!         // Across HTTP: `next.cursor().map(|c| c.to_string())`, back with `str::parse`.
//!         match listing.next {
//!             Some(next) => page = next,
//!             None => break,
//!         }
//!     }
//!     // The ten best-scored events.
//!     let best = store
//!         .list(tx, FeedbackEventFilter::new().order_by(FeedbackEventOrder::Score, Direction::Desc), Page::first(10))
//!         .await?;
//!     // Hand-written SQL, typed with sqlx's `FromRow`, still under the tenant's RLS.
//!     let by_type: Vec<(String, i64)> = tx
//!         .fetch_all_as(tenant_store::postgres::sqlx::query(
//!             "SELECT query_type, count(*) FROM public.feedback_events GROUP BY 1",
//!         ))
//!         .await?;
//!     # let _ = (total, best, by_type);
//!     Ok(())
//! }
//! ```
//!
//! The document backends take the same `{Entity}Filter` and `Page`: `list(scoped, filter, page)`
//! and `count(scoped, filter)` on Neo4j, OpenSearch and Qdrant, `list_tenant(scoped, filter, page)` on
//! Valkey; for instance `Symbol::store().list(&scoped, SymbolFilter::new().kind("fn")
//! .order_by(SymbolOrder::Line, Direction::Asc), Page::first(20))` (the examples' code graph).
//! [`query`] says what each backend cannot do.
//!
//! ## The attribute, every key in one place
//! On the struct, `#[tenant_store(...)]`:
//! - `backend = "postgres" | "valkey" | "opensearch" | "neo4j" | "qdrant"` (required).
//! - `scope = "user_id" | "org_id"` (required): the principal attribute that partitions the
//!   entity. The struct must have a field of that name, of type `Uuid`.
//! - `new_derive(Trait, ...)` (optional): derives added to the generated `New{Entity}` struct,
//!   e.g. `new_derive(Default, Debug, Clone)`.
//! - postgres: `table = "name"` (defaults to the struct name in snake case); `schema = "name"`
//!   (the table's schema, `public` by default; every statement names it); `append_only` (no
//!   `update`/`delete` generated, no UPDATE grant: rows are inserted, read, and purged by
//!   hand-written deletes); `unique(field, ...)`, repeatable: a unique key, led by the scope column;
//!   `drop_column = "name"`, repeatable: this column of an older version is retired by the
//!   next migration and dropped, with its data, by a later `generate --contract` (without it
//!   the generator refuses; see [`postgres::evolve`]).
//! - valkey: `prefix = "name"` (first key segment, then `{tenant}` and the struct name; defaults
//!   to the struct name in snake case; entities may share a prefix);
//!   `ttl = seconds` (default time to live; none means items do not expire).
//! - opensearch: `index = "name"` (the shared index; defaults to the struct name in snake case;
//!   tenant aliases are `<index>.<entity>.t.<tenant>`, the entity's name with each upper-case
//!   letter written `-` and its lower case; entities may share an index).
//! - neo4j: `label = "CODE_SYMBOL"` (the node label, upper case; defaults to the struct name in
//!   upper snake case).
//! - qdrant: `model = "name"` (required; the collection is `embeddings_{model}`), `dims = N`
//!   (required; the vector size, 1 to 65536), `distance = "cosine" | "dot" | "euclid" |
//!   "manhattan"` (optional, cosine by default).
//!
//! On fields, `#[tenant_store(...)]`:
//! - `id` (every backend): the key within the tenant, exactly one. PostgreSQL: a `Uuid`; Valkey:
//!   a `String` or `Uuid`.
//! - postgres: `version` (optimistic-locking counter, an integer; `update` checks and bumps it);
//!   `filter` (`list` and `count` can filter on it, see [Queries](#queries); an index leading
//!   with the scope column is created; also on `created_at`/`updated_at`; on every backend);
//!   `order_by` (`list` can be ordered by it; a `(scope, field, id)` index is created; a number,
//!   text, date, time or UUID that is never null; also on OpenSearch and Neo4j);
//!   `soft_delete = Path::To::Value` (`delete` sets the field to the value; rows holding it look
//!   absent); `created_at`, `updated_at` (timestamps the database sets); `references = Entity`
//!   (the field holds the id of another entity of the same tenant: a composite foreign key on
//!   (scope, field), so a row can never point into another tenant; an `Option<Uuid>` field is an
//!   optional reference); `default = "SQL expression"` (the value rows that exist get when the
//!   column is added, or made required); `renamed_from = "old"` (the column's earlier name: the
//!   next migration adds the new column with the old one's values and keeps the two equal
//!   while the release before still runs; a later `generate --contract` drops the old one).
//! - valkey: `session` (the session id, a `String`, exactly one); `weight` (the item's initial
//!   recency weight, an `f64`; 1.0 when absent).
//! - opensearch: `text` (a full-text field, a `String`; other fields map to `keyword`, numbers,
//!   `boolean` or `date` by type). Documents derive `Serialize`/`Deserialize`.
//! - qdrant: the struct is the point's payload (derive `Serialize`/`Deserialize`); the vector is
//!   passed to `upsert` beside it. Ids are `String` or `Uuid`. `filter`: a payload index on the
//!   field, typed from it (keyword, integer, float, bool, datetime), made by `ensure_collection`.
//! - neo4j: `indexed` (an indexed property with a generated `find_by_<field>`, on the generated
//!   `{Entity}StoreExt` trait). Nodes derive `Serialize`/`Deserialize`. Hand-written Cypher
//!   goes through `cypher!(Entity, ...; "...")`, which checks at compile time (and the runtime
//!   again) that every node pattern carries the tenant predicate; `tenant-store-cypher`'s docs
//!   list the accepted subset.
//! - Every document backend (valkey, opensearch, neo4j, qdrant) stores the struct's JSON and finds
//!   its fields by their Rust names, so serde attributes that rename or reshape fields
//!   (`rename`, `rename_all`, `flatten`, `skip`, `with`, ...) are a compile error there. A data
//!   field serialized under the scope's name would otherwise plant its record in the tenant
//!   its caller-set value names. `default`, `bound`, `crate`, `expecting` and
//!   `deny_unknown_fields` pass on the struct; `default`, `bound` and `skip_serializing_if` on
//!   a data field; nothing on the scope and id fields.
//!
//! ## Threat model
//! The application is trusted to take the principal from real authentication and to keep the
//! signing key secret. Everything else on the data path is treated as hostile. For PostgreSQL
//! the framework stops:
//! - a query that forgot its tenant filter: it does not compile, and RLS filters it anyway;
//! - a hand-written query with a bug, **including an injected one**, run through `TenantTx`
//!   or on any connection of the application role: the tenant a transaction speaks for is a
//!   signed context (`postgres::context`) verified inside the database by a `SECURITY DEFINER`
//!   function that reads the key from a table the application role cannot read, so
//!   `set_config` of a forged, copied (another session's: bound to the backend pid), replayed
//!   (a transaction's context verifies in that transaction only), or expired value claims
//!   nothing, and an unsigned or malformed one sees zero rows;
//! - another session of the same role: no context and no tenant id is ever sent in SQL text
//!   (they are bound parameters; `pg_stat_activity` shows placeholders), and the operator
//!   set-up takes away signalling other backends (`pg_terminate_backend`, `pg_cancel_backend`,
//!   `pg_signal_backend`), with which a session could end the pool's connections until its
//!   next transaction landed on a chosen backend;
//! - state left on a pooled connection: the context is transaction-local; a connection that
//!   ran hand-written SQL is reset (settings, cursors, `LISTEN`, advisory locks, temporary
//!   objects) in the message that ends its transaction, and closed instead of pooled when it
//!   holds prepared statements sqlx did not make or is still inside a transaction (open,
//!   failed, a savepoint, a `COPY`) on every path that hands out a connection, `Db::raw`
//!   included: an acknowledged write is never undone by the next user of its connection;
//! - a temporary table shadowing a tenant table: every generated and runtime statement names
//!   its schema, and the application role may create nothing (no `TEMPORARY`, no `CREATE`);
//! - an id guessed across tenants: it looks absent;
//! - a database drifted from the generated migrations: the start-up audit
//!   (`postgres::audit`) refuses a role that can bypass RLS, create roles, signal other
//!   backends or make large objects (state every session of the role shares), a widened or
//!   rewritten policy, views that read past RLS or read the private schema, rules and triggers
//!   on tenant tables (none is generated; they could copy or notify rows), `SECURITY DEFINER`
//!   functions whose owner may read the keys or owns a tenant table, a changed verifying
//!   function, a key the database does not hold; and lists every finding with the statement
//!   that removes it;
//! - `Store::explain_list` as an oracle: it prints the generic plan (made with the values
//!   unknown; the estimates, and the shape they choose, would tell whether another tenant
//!   holds a value), without estimates;
//! - an admin who reads a tenant and rolls back to hide it: admin audit rows are signed and
//!   committed on a connection of their own before the admin acts.
//!
//! For Neo4j, which has no row-level security, the framework stops hand-written Cypher that
//! escapes its tenant: every query runs as a `neo4j::CheckedCypher`, whose only constructors run
//! the tenant check on a real openCypher parse tree (`tenant-store-cypher`: failing closed on
//! anything outside a documented subset: `UNION` parts, `WITH` scoping, comments, writes of the
//! scope, procedures, label expressions, unguarded variable-length paths); generated queries are
//! built by the runtime from the entity's identifiers; and a node of another tenant in a result
//! is dropped before decoding. The catalogue of escapes it refuses is
//! `cypher/tests/escapes.cypher`, each run live in `tests/tests/cypher_escapes.rs`.
//!
//! Out of scope, and why:
//! - Code that holds the signing key, or runs as a role that bypasses RLS: it *is* trusted.
//! - Replaying a single operation's context (a `TenantDb` call's) on the backend it was made
//!   for, before it expires (5 s by default, `DbOptions::token_ttl`): its statement runs in
//!   an implicit transaction whose start the client cannot know in advance, so it carries a
//!   lifetime instead of a transaction. It is only ever a bound parameter of a statement that
//!   sets it transaction-locally and ends, so no other session can read it; a leak needs the
//!   server's own logs (`log_statement = 'all'` logs bound parameters: keep such logs as
//!   secret as the key). Transactions' contexts (`Db::begin`, the admin scope) verify in their
//!   own transaction only.
//! - PostgreSQL's statistics, which RLS does not filter (what PostgreSQL leaves open):
//!   `EXPLAIN` of hand-written SQL estimates rows from statistics over every tenant's rows, so
//!   an estimate (or a plan's shape) can tell whether another tenant holds a value in a
//!   column. Every statement, generated or not, is planned for its values as PostgreSQL's
//!   default chooses (`postgres::pool`'s "Plans"), so the shape of a generated listing's plan
//!   can differ in the same way, which only its speed shows (see timing, below);
//!   `pg_stat_user_tables` and the `pg_stat_get_*` functions count every tenant's
//!   inserts, updates and deletes per table. They reveal existence and volume, never a row.
//!   An operator who must close them can set `ALTER TABLE .. ALTER COLUMN .. SET STATISTICS
//!   0` on sensitive columns (no value statistics, at some cost to plans) and revoke the
//!   statistics views and functions from `PUBLIC` (monitoring then needs a role of its own).
//!   `pg_stats` itself already hides the columns of tables with RLS.
//! - Denial of service by the application role on its own connections (`pg_sleep`, locks,
//!   `statement_timeout`): these slow the application down but reveal nothing; settings are
//!   reset before the next user.
//! - Side channels in timing (the MAC comparison in SQL is not constant-time; the database
//!   does not expose its per-call timing to a remote caller at that resolution).
//! - Valkey, OpenSearch and Qdrant have no RLS: their isolation is the tenant *and the entity*
//!   in every key and filter the generated code sends (Valkey keys `prefix:{tenant}:Entity:...`;
//!   Qdrant points and OpenSearch documents carry `__tenant_store_entity`, matched by every
//!   filter, and their ids include the entity), so entities may share a model, prefix or index.
//!   The entity is known by its struct name: two structs of the same name sharing a namespace
//!   are one entity to the store.
//! - Neo4j: relationships a hand-written query creates between two of the tenant's nodes are
//!   the tenant's; a partial `move_tenant` (one label of several) deletes, in its statement,
//!   every relationship between a moved node and a node left outside the new tenant, so no
//!   edge crosses tenants (they are the tenant's relationships to nodes it no longer shares).
//! - Hand-written entity trait impls (`GraphEntity`, `SearchEntity`, ...) instead of the macro's:
//!   they are the application's own code, which is trusted. They cannot smuggle a query (the
//!   traits hold identifiers, checked before use, and `cypher!`'s `Entities` is sealed), but one
//!   that claims another entity's name or label reads that entity's records of the caller's
//!   own tenant.
//! - Cost: pages are capped and searches carry the call timeout server-side, but a query within
//!   the caps can still be expensive; the per-tenant breaker bounds how often one tenant's slow
//!   queries reach the server, and the server's own timeout (Neo4j's `db.transaction.timeout`)
//!   how long each runs.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// The crate README's example, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub mod contract;
mod error;
#[cfg(any(feature = "postgres", feature = "neo4j"))]
pub mod migrations;
pub mod offboard;
mod principal;
pub mod query;

pub use error::{Error, Result};

/// rustls needs one process-wide crypto provider, and cannot pick one when the build enables
/// two (other crates of an application often do): the Valkey and Neo4j clients would panic.
/// Installs `ring` unless the application installed a provider first: then theirs stays.
#[cfg(any(feature = "valkey", feature = "neo4j"))]
pub(crate) fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
pub use principal::{Principal, PrincipalError, Scope};
pub use query::{Cond, Cursor, Direction, Listing, Page};
#[cfg(feature = "neo4j")]
pub use tenant_store_macros::cypher;
pub use tenant_store_macros::tenant_store;
pub use uuid::Uuid;

#[cfg(feature = "postgres")]
pub mod postgres;

#[cfg(feature = "cli")]
pub mod cli;

#[cfg(feature = "axum")]
pub mod axum;

#[cfg(feature = "testing")]
pub mod testing;

#[cfg(feature = "resilience")]
mod resilience;
#[cfg(feature = "resilience")]
pub use resilience::Resilience;

#[cfg(feature = "document")]
mod document;
#[cfg(feature = "document")]
pub use document::{Document, DocumentEntity, DocumentId, Scoped};

#[cfg(feature = "valkey")]
pub mod valkey;

#[cfg(feature = "opensearch")]
pub mod opensearch;

#[cfg(feature = "neo4j")]
pub mod neo4j;

#[cfg(feature = "qdrant")]
pub mod qdrant;

#[doc(hidden)]
pub mod __private;
