//! The `#[tenant_store]` attribute. Implementation detail of the `tenant-store` crate, which
//! re-exports it and documents every key; depend on that crate, not this one.
//!
//! Pipeline: `attr` (darling structs for the keys) -> `validate` (checks across fields and
//! backends, every error accumulated and spanned) -> `model::Model` -> `expand` (cannot fail).

mod attr;
mod expand;
mod model;
mod validate;

use proc_macro::TokenStream;

/// Generates a tenant-scoped store for the struct. See the `tenant-store` crate for the keys.
#[proc_macro_attribute]
pub fn tenant_store(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::tenant_store(attr.into(), item.into()).into()
}
