//! Valkey expansion: the shared document core plus the `ValkeyEntity` impl (prefix, default
//! TTL, session, weight). The store is the runtime's `tenant_store::valkey::Store<E>`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::document;
use crate::model::{Model, Valkey};

pub fn expand(m: &Model, vk: &Valkey) -> TokenStream {
    let v = quote!(::tenant_store::__private::valkey);
    let entity = m.ident();
    let prefix = &vk.prefix;
    // Through `SessionType` / `WeightType`, spanned at the field types: a wrong type yields one
    // diagnostic, there.
    let session = &m.fields[vk.session];
    let session_ident = &session.ident;
    let session_expr =
        quote_spanned!(session.ty.span()=> #v::SessionType::as_session(&self.#session_ident));
    let weight = match vk.weight {
        Some(w) => {
            let (w, span) = (&m.fields[w].ident, m.fields[w].ty.span());
            quote_spanned!(span=> #v::WeightType::as_weight(&self.#w))
        }
        None => quote!(1.0),
    };
    let ttl = match vk.ttl {
        Some(secs) => {
            quote!(::core::option::Option::Some(::core::time::Duration::from_secs(#secs)))
        }
        None => quote!(::core::option::Option::None),
    };
    let core = document::expand(
        m,
        document::Backend {
            module: "valkey",
            new_doc: format!(
                "A new `{entity}` for `{entity}Store::set`. The scope field is absent: it comes from the tenant handle."
            ),
            store_doc: format!(
                "The tenant-scoped Valkey store of `{entity}` (keys `{prefix}:{{tenant}}:{entity}:<session>:<id>`)."
            ),
        },
    );
    quote! {
        #core

        #[automatically_derived]
        impl #v::ValkeyEntity for #entity {
            const PREFIX: &'static str = #prefix;
            const DEFAULT_TTL: ::core::option::Option<::core::time::Duration> = #ttl;
            fn session(&self) -> &str {
                #session_expr
            }
            fn weight(&self) -> f64 {
                #weight
            }
        }
    }
}
