//! The `#[tenant_store]` attribute. Implementation detail of the `tenant-store` crate, which
//! re-exports it and documents every key; depend on that crate, not this one.
//!
//! Pipeline: `attr` (darling structs for the keys) -> `validate` (checks across fields and
//! backends, every error accumulated and spanned) -> `model::Model` -> `expand` (cannot fail).

mod attr;
mod cypher;
mod expand;
mod model;
mod validate;

use proc_macro::TokenStream;

/// Generates a tenant-scoped store for the struct. See the `tenant-store` crate for the keys.
#[proc_macro_attribute]
pub fn tenant_store(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::tenant_store(attr.into(), item.into()).into()
}

/// Hand-written Cypher, checked at compile time and again by the runtime:
/// `cypher!(Symbol, Repo; "MATCH ...")`. Every node pattern carries the tenant predicate
/// (`org_id: $org_id` or `user_id: $user_id`) or re-uses a variable bound by one in scope, the
/// labels belong to the listed entities, which share the query's scope, and values are
/// parameters. See the `tenant-store` crate's `neo4j` module and `tenant-store-cypher`.
#[proc_macro]
pub fn cypher(input: TokenStream) -> TokenStream {
    cypher::expand(input.into()).into()
}
