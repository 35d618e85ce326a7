//! The Qdrant kit: [`isolation`] checks the collection's tenant index and runs the contract's
//! attacks on your entity ([`super::isolation`]).
//!
//! | check | passes when |
//! | --- | --- |
//! | the tenant payload index | the collection has the keyword index on the scope field marked `is_tenant` that `ensure_collection` makes (without it every search of one tenant scans every tenant's points) |
//!
//! The entity must derive `Debug`.

use std::fmt::Debug;

use super::Report;
use crate::contract::TenantStore;
use crate::qdrant::{Client, EmbeddingEntity, Store, collection_name};

/// Runs every Qdrant check on `E` through `client`. `new(n, id)` makes the `New` value and the
/// vector of the `n`th seeded entity, with the id `id` when it is given.
pub async fn isolation<E>(
    client: &Client,
    new: impl Fn(u32, Option<E::Id>) -> (E::New, Vec<f32>),
) -> Report
where
    E: EmbeddingEntity + Debug,
    Store<E>: TenantStore<Conn = Client, Entity = E, New = (E::New, Vec<f32>), Id = E::Id>,
    E::Id: Debug + Ord,
{
    let store = Store::<E>::new();
    let failure = match store.has_tenant_index(client).await {
        Ok(true) => None,
        Ok(false) => Some(format!(
            "collection `{}` has no keyword payload index on `{}` marked `is_tenant`: each \
             tenant's search scans every tenant's points; fix: run `ensure_collection`",
            collection_name::<E>(),
            E::SCOPE.as_str()
        )),
        Err(e) => Some(format!("the collection cannot be read: {e}")),
    };
    let mut report = super::isolation(&store, client, new).await;
    report.check("the collection's tenant payload index", failure);
    report
}
