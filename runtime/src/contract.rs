//! The contract every generated store keeps, whatever its backend: [`TenantStore`].
//!
//! Each backend has its own, richer API (transactions and filters on PostgreSQL, sessions on
//! Valkey, vectors on Qdrant, ...). This trait is the common part, in the shape a caller that
//! holds a connection and a principal sees it: every call makes its tenant context from the
//! principal (a transaction on PostgreSQL, a scoped handle elsewhere) and ends it. The macro
//! implements it for every generated store except append-only ones (which have no update).
//!
//! ## The contract
//! - `get` of an id the tenant does not have is `Ok(None)`, also when another tenant has it;
//! - `list` of a tenant with nothing is an empty `Vec`, and never holds another tenant's data;
//! - `update` and `delete` of an id the tenant does not have are `Err(Error::NotFound)`;
//! - deletes are idempotent: repeating one changes nothing and answers `NotFound` again;
//! - `insert` of an id the tenant already has is `Err(Error::Duplicate)`, except on stores whose
//!   writes are upserts ([`TenantStore::UPSERTS`]: Valkey and Qdrant), where it replaces;
//! - the same fault gives the same [`Error`](crate::Error) variant on every backend;
//! - `delete_tenant` removes everything of the tenant in this store and returns the count.
//!
//! `tests/tests/contract.rs` runs one test body per behaviour against every backend.

use std::future::Future;

use crate::{Principal, Result};

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

    /// Up to `limit` of the tenant's entities.
    fn list<'a>(
        &'a self,
        conn: &'a Self::Conn,
        who: &'a Principal,
        limit: usize,
    ) -> Boxed<'a, Vec<Self::Entity>>;

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

/// The future a [`TenantStore`] method returns: boxed and `Send`, so generic code can spawn it,
/// and so its `Send`-ness is proven once in the runtime rather than once per generated entity
/// (which made check time grow with the entity count). One allocation per call, next to at
/// least one network round trip.
pub type Boxed<'a, T> = std::pin::Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// Removes one tenant's data from several stores, across backends, and reports the count per
/// store: the building block of offboarding.
///
/// Each step is a store's [`TenantStore::delete_tenant`] (or any other counted deletion, added
/// with [`Offboarding::step`]). Steps run in the order added; every step runs even when an
/// earlier one failed, and the report holds each step's own result. Every step is idempotent,
/// so a run that failed or was cut short is finished by running it again.
#[must_use = "an offboarding does nothing until `run`"]
pub struct Offboarding<'a> {
    steps: Vec<(&'static str, Step<'a>)>,
}

type Step<'a> = std::pin::Pin<Box<dyn Future<Output = Result<u64>> + Send + 'a>>;

/// What a run over several stores did (an [`Offboarding`], or a move of a tenant): each store's
/// name and how many entities it deleted or moved, or why it could not.
#[derive(Debug)]
pub struct TenantReport {
    /// (store name, count or the error), in the order the steps ran.
    pub stores: Vec<(&'static str, Result<u64>)>,
}

impl TenantReport {
    /// Whether every step succeeded.
    pub fn is_complete(&self) -> bool {
        self.stores.iter().all(|(_, r)| r.is_ok())
    }

    /// The count of one store, if its step succeeded.
    pub fn count(&self, store: &str) -> Option<u64> {
        self.stores
            .iter()
            .find(|(name, _)| *name == store)
            .and_then(|(_, r)| r.as_ref().ok().copied())
    }
}

impl Default for Offboarding<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> Offboarding<'a> {
    /// An offboarding with no steps.
    pub fn new() -> Self {
        Self { steps: Vec::new() }
    }

    /// Adds `store.delete_tenant(conn, who)` under `name`.
    pub fn store<S: TenantStore>(
        self,
        name: &'static str,
        store: &'a S,
        conn: &'a S::Conn,
        who: &'a Principal,
    ) -> Self {
        self.step(name, store.delete_tenant(conn, who))
    }

    /// Adds any counted deletion under `name` (for example several PostgreSQL stores deleted in
    /// one admin transaction).
    pub fn step(
        mut self,
        name: &'static str,
        deletion: impl Future<Output = Result<u64>> + Send + 'a,
    ) -> Self {
        self.steps.push((name, Box::pin(deletion)));
        self
    }

    /// Runs every step in order and reports each one's result.
    pub async fn run(self) -> TenantReport {
        let mut stores = Vec::with_capacity(self.steps.len());
        for (name, step) in self.steps {
            stores.push((name, step.await));
        }
        TenantReport { stores }
    }
}
