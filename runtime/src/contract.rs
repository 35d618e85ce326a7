//! The contract every generated store keeps, whatever its backend: [`TenantStore`].
//!
//! Each backend has its own, richer API (transactions and filters on PostgreSQL, sessions on
//! Valkey, vectors on Qdrant, ...). This trait is the common part, in the shape a caller that
//! holds a connection and a principal sees it: every call makes its tenant context from the
//! principal (a transaction on PostgreSQL, a scoped handle elsewhere) and ends it. Each backend
//! implements it once, for its generic `Store<E>` (in its own `store` module), so every
//! generated store keeps it except append-only ones (which have no update). Offboarding across
//! stores is built on it in [`crate::offboard`].
//!
//! ## The contract
//! - `get` of an id the tenant does not have is `Ok(None)`, also when another tenant has it;
//! - `list` pages through the tenant's entities in id order ([`Page`] in, [`Listing`] out, the
//!   same cursor semantics everywhere: every entity present throughout is listed once, a cursor
//!   made for another tenant, entity or order is `InvalidInput`); a tenant with nothing has an
//!   empty listing with no next page, and a listing never holds another tenant's data;
//! - `count` is the number of entities `list` pages through;
//! - `update` and `delete` of an id the tenant does not have are `Err(Error::NotFound)`;
//! - deletes are idempotent: repeating one changes nothing and answers `NotFound` again;
//! - `insert` of an id the tenant already has is `Err(Error::Duplicate)`, except on stores whose
//!   writes are upserts ([`TenantStore::UPSERTS`]: Valkey and Qdrant), where it replaces;
//! - the same fault gives the same [`Error`](crate::Error) variant on every backend;
//! - `delete_tenant` removes everything of the tenant in this store and returns the count.
//!
//! `tests/tests/contract.rs` runs one test body per behaviour against every backend.

use std::future::Future;

#[cfg(feature = "document")]
use crate::Scoped;
use crate::{Listing, Page, Principal, Result};

/// The operations every generated (non-append-only) store offers, on every backend.
pub trait TenantStore: Sync {
    /// The connection the store works through (`postgres::Db`, or a backend's `Client`).
    type Conn: Sync;
    /// The entity.
    type Entity: Send;
    /// What `insert` and `update` take: the generated `New{Entity}` (with its vector on Qdrant).
    type New: Send;
    /// How an entity is addressed in its tenant (the id; `(session, id)` on Valkey).
    type Id: Send + Sync + Clone;
    /// The backend's name, for reports.
    const BACKEND: &'static str;
    /// Whether `insert` of an existing id replaces the entity instead of failing `Duplicate`.
    const UPSERTS: bool;

    /// The id of an entity.
    fn id_of(entity: &Self::Entity) -> Self::Id;

    /// Creates the entity in the principal's tenant.
    fn insert<'a>(
        &'a self,
        conn: &'a Self::Conn,
        who: &'a Principal,
        new: Self::New,
    ) -> Boxed<'a, Self::Entity>;

    /// The tenant's entity with this id, or `None`.
    fn get<'a>(
        &'a self,
        conn: &'a Self::Conn,
        who: &'a Principal,
        id: &'a Self::Id,
    ) -> Boxed<'a, Option<Self::Entity>>;

    /// One page of the tenant's entities, in id order.
    fn list<'a>(
        &'a self,
        conn: &'a Self::Conn,
        who: &'a Principal,
        page: Page,
    ) -> Boxed<'a, Listing<Self::Entity>>;

    /// How many entities the tenant has.
    fn count<'a>(&'a self, conn: &'a Self::Conn, who: &'a Principal) -> Boxed<'a, u64>;

    /// Replaces the data of the tenant's entity `id` with `new`'s (the id stays); `NotFound`
    /// when the tenant has none.
    fn update<'a>(
        &'a self,
        conn: &'a Self::Conn,
        who: &'a Principal,
        id: &'a Self::Id,
        new: Self::New,
    ) -> Boxed<'a, Self::Entity>;

    /// Deletes the tenant's entity `id`; `NotFound` when the tenant has none.
    fn delete<'a>(
        &'a self,
        conn: &'a Self::Conn,
        who: &'a Principal,
        id: &'a Self::Id,
    ) -> Boxed<'a, ()>;

    /// Deletes everything of the tenant in this store; returns how many entities there were.
    fn delete_tenant<'a>(&'a self, conn: &'a Self::Conn, who: &'a Principal) -> Boxed<'a, u64>;
}

/// A document backend's generic store as [`TenantStore`] uses it: each operation on the
/// backend's handle scoped to one tenant. A backend implements this, one line per method, and
/// the contract comes with it: the one `impl<S: DocumentStore> TenantStore for S` makes the
/// scoped handle from the principal for every call. (PostgreSQL implements [`TenantStore`]
/// itself: its calls run in a transaction or a gated statement, not on a scoped handle.)
#[cfg(feature = "document")]
pub trait DocumentStore: Sync {
    /// The backend's client.
    type Client: Sync;
    /// The entity.
    type Entity: Send;
    /// What `insert` and `update` take.
    type New: Send;
    /// How an entity is addressed in its tenant.
    type Id: Send + Sync + Clone;
    /// The backend's name, for reports.
    const BACKEND: &'static str;
    /// Whether `insert` of an existing id replaces the entity ([`TenantStore::UPSERTS`]).
    const UPSERTS: bool;

    /// The id of an entity.
    fn id_of(entity: &Self::Entity) -> Self::Id;
    /// [`TenantStore::insert`] on a scoped handle.
    fn insert(
        &self,
        scoped: &Scoped<'_, Self::Client>,
        new: Self::New,
    ) -> impl Future<Output = Result<Self::Entity>> + Send;
    /// [`TenantStore::get`] on a scoped handle.
    fn get(
        &self,
        scoped: &Scoped<'_, Self::Client>,
        id: &Self::Id,
    ) -> impl Future<Output = Result<Option<Self::Entity>>> + Send;
    /// [`TenantStore::list`] on a scoped handle.
    fn list(
        &self,
        scoped: &Scoped<'_, Self::Client>,
        page: Page,
    ) -> impl Future<Output = Result<Listing<Self::Entity>>> + Send;
    /// [`TenantStore::count`] on a scoped handle.
    fn count(&self, scoped: &Scoped<'_, Self::Client>) -> impl Future<Output = Result<u64>> + Send;
    /// [`TenantStore::update`] on a scoped handle.
    fn update(
        &self,
        scoped: &Scoped<'_, Self::Client>,
        id: &Self::Id,
        new: Self::New,
    ) -> impl Future<Output = Result<Self::Entity>> + Send;
    /// [`TenantStore::delete`] on a scoped handle.
    fn delete(
        &self,
        scoped: &Scoped<'_, Self::Client>,
        id: &Self::Id,
    ) -> impl Future<Output = Result<()>> + Send;
    /// [`TenantStore::delete_tenant`] on a scoped handle.
    fn delete_tenant(
        &self,
        scoped: &Scoped<'_, Self::Client>,
    ) -> impl Future<Output = Result<u64>> + Send;
}

#[cfg(feature = "document")]
impl<S: DocumentStore> TenantStore for S {
    type Conn = S::Client;
    type Entity = S::Entity;
    type New = S::New;
    type Id = S::Id;
    const BACKEND: &'static str = S::BACKEND;
    const UPSERTS: bool = S::UPSERTS;

    fn id_of(entity: &S::Entity) -> S::Id {
        S::id_of(entity)
    }

    fn insert<'a>(
        &'a self,
        conn: &'a S::Client,
        who: &'a Principal,
        new: S::New,
    ) -> Boxed<'a, S::Entity> {
        Box::pin(async move { DocumentStore::insert(self, &Scoped::new(conn, who), new).await })
    }

    fn get<'a>(
        &'a self,
        conn: &'a S::Client,
        who: &'a Principal,
        id: &'a S::Id,
    ) -> Boxed<'a, Option<S::Entity>> {
        Box::pin(async move { DocumentStore::get(self, &Scoped::new(conn, who), id).await })
    }

    fn list<'a>(
        &'a self,
        conn: &'a S::Client,
        who: &'a Principal,
        page: Page,
    ) -> Boxed<'a, Listing<S::Entity>> {
        Box::pin(async move { DocumentStore::list(self, &Scoped::new(conn, who), page).await })
    }

    fn count<'a>(&'a self, conn: &'a S::Client, who: &'a Principal) -> Boxed<'a, u64> {
        Box::pin(async move { DocumentStore::count(self, &Scoped::new(conn, who)).await })
    }

    fn update<'a>(
        &'a self,
        conn: &'a S::Client,
        who: &'a Principal,
        id: &'a S::Id,
        new: S::New,
    ) -> Boxed<'a, S::Entity> {
        Box::pin(async move { DocumentStore::update(self, &Scoped::new(conn, who), id, new).await })
    }

    fn delete<'a>(
        &'a self,
        conn: &'a S::Client,
        who: &'a Principal,
        id: &'a S::Id,
    ) -> Boxed<'a, ()> {
        Box::pin(async move { DocumentStore::delete(self, &Scoped::new(conn, who), id).await })
    }

    fn delete_tenant<'a>(&'a self, conn: &'a S::Client, who: &'a Principal) -> Boxed<'a, u64> {
        Box::pin(async move { DocumentStore::delete_tenant(self, &Scoped::new(conn, who)).await })
    }
}

/// The future a [`TenantStore`] method returns: boxed and `Send`, so generic code can spawn it,
/// and so its `Send`-ness is proven once in the runtime rather than once per generated entity
/// (which made check time grow with the entity count). One allocation per call, next to at
/// least one network round trip.
pub type Boxed<'a, T> = std::pin::Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;
