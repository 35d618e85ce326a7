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

/// Hand-written Cypher, checked at compile time: every node pattern must carry the tenant
/// predicate (`org_id: $org_id`, or `user_id: $user_id` with `cypher!(user_id, "...")`), and
/// values must be parameters. See the `tenant-store` crate's `neo4j` module.
#[proc_macro]
pub fn cypher(input: TokenStream) -> TokenStream {
    cypher::expand(input.into()).into()
}
