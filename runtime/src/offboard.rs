//! Offboarding: removing one tenant's data from several stores, across backends, with a report
//! per store. Built on the [`TenantStore`] contract; the contract knows nothing of it.

use std::future::Future;

use crate::contract::TenantStore;
use crate::{Principal, Result};

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
