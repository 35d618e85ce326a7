//! Valkey expansion: the `New` type, the store whose methods take a tenant-scoped handle, the
//! `ValkeyEntity` impl, and compile-time type assertions. The operations themselves live in the
//! runtime (`tenant_store::valkey`), generic over the entity.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::model::{Model, Valkey};

pub fn expand(m: &Model, vk: &Valkey) -> TokenStream {
    let ts = quote!(::tenant_store::__private);
    let v = quote!(::tenant_store::__private::valkey);
    let entity = m.ident();
    let entity_name = entity.to_string();
    let new_ty = format_ident!("New{}", entity);
    let store_ty = format_ident!("{}Store", entity);
    let prefix = &vk.prefix;
    let scope_variant = super::scope_variant(m);
    let id_f = &m.fields[m.id];
    let (id_ident, id_ty) = (&id_f.ident, &id_f.ty);
    let scope_ident = &m.fields[m.scope].ident;
    let session_ident = &m.fields[vk.session].ident;
    let session_span = m.fields[vk.session].ty.span();
    let session_expr =
        quote_spanned!(session_span=> #v::SessionType::as_session(&self.#session_ident));
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

    let assertions = super::document_assertions(m);
    let build = super::document_from_new(m);

    let new_doc = format!(
        "A new `{entity_name}` for `{store_ty}::set`. The scope field is absent: it comes from the tenant handle."
    );
    let store_doc = format!(
        "The tenant-scoped Valkey store of `{entity_name}` (keys `{prefix}:{{tenant}}:{entity_name}:<session>:<id>`). Every method takes a `Scoped` handle and acts only inside its tenant."
    );
    let set_doc = format!(
        "Stores a `{entity_name}` in the caller's tenant, newest in its session, and returns it. `ttl` overrides the entity's default time to live."
    );

    let new_struct = super::new_struct(m, &new_doc);
    let store_struct = super::store_struct(m, &store_doc);

    let id_field = id_ident;
    let new_session =
        quote_spanned!(session_span=> #v::SessionType::as_session(&new.#session_ident));
    let contract = super::contract_impl(
        m,
        super::Contract {
            backend: "valkey",
            upserts: true,
            conn: quote!(#v::Client),
            new: quote!(#new_ty),
            id: quote!((::std::string::String, #id_ty)),
            // Through `SessionType`, so a wrong session type yields its one diagnostic only.
            id_of: {
                let session = quote_spanned!(session_span=> #v::SessionType::as_session(&entity.#session_ident));
                quote!((::std::string::ToString::to_string(#session), ::core::clone::Clone::clone(&entity.#id_field)))
            },
            insert: quote!(self.set(&kv, new, ::core::option::Option::None).await),
            get: quote!(self.get(&kv, &id.0, &id.1).await),
            list: quote!(if limit == 0 {
                ::core::result::Result::Ok(::std::vec::Vec::new())
            } else {
                self.list_tenant(&kv, limit).await
            }),
            update: quote! {
                if self.get(&kv, &id.0, &id.1).await?.is_none() {
                    return ::core::result::Result::Err(#ts::Error::NotFound);
                }
                if #new_session != id.0 {
                    return ::core::result::Result::Err(#ts::Error::InvalidInput(
                        ::std::string::ToString::to_string("an update cannot move an item to another session"),
                    ));
                }
                let mut new = new;
                new.#id_field = ::core::option::Option::Some(::core::clone::Clone::clone(&id.1));
                self.set(&kv, new, ::core::option::Option::None).await
            },
            delete: quote!(self.delete(&kv, &id.0, &id.1).await),
            delete_tenant: quote!(self.delete_tenant(&kv).await),
        },
    );

    quote! {
        #contract
        #new_struct
        #store_struct

        const _: () = {
            #assertions
        };

        #[automatically_derived]
        impl #v::ValkeyEntity for #entity {
            const ENTITY: &'static str = #entity_name;
            const PREFIX: &'static str = #prefix;
            const SCOPE: #ts::Scope = #ts::Scope::#scope_variant;
            const DEFAULT_TTL: ::core::option::Option<::core::time::Duration> = #ttl;
            fn session(&self) -> &str {
                #session_expr
            }
            fn item_id(&self) -> ::std::string::String {
                #ts::DocumentId::to_id(&self.#id_ident)
            }
            fn weight(&self) -> f64 {
                #weight
            }
            fn tenant_of(&self) -> #ts::Uuid {
                self.#scope_ident
            }
        }

        impl #store_ty {
            #[doc = #set_doc]
            pub async fn set(
                &self,
                kv: &#v::Scoped<'_>,
                new: #new_ty,
                ttl: ::core::option::Option<::core::time::Duration>,
            ) -> #ts::Result<#entity> {
                let entity = #build;
                #v::set(kv, &entity, ttl).await?;
                ::core::result::Result::Ok(entity)
            }

            /// The item, or `None` when it is missing, expired, or another tenant's.
            pub async fn get(
                &self,
                kv: &#v::Scoped<'_>,
                session: &str,
                id: &#id_ty,
            ) -> #ts::Result<::core::option::Option<#entity>> {
                #v::get(kv, session, &#ts::DocumentId::to_id(id)).await
            }

            /// Up to `limit` live items of the session, most recently set first.
            pub async fn list_session(
                &self,
                kv: &#v::Scoped<'_>,
                session: &str,
                limit: usize,
            ) -> #ts::Result<::std::vec::Vec<#entity>> {
                #v::list_session(kv, session, limit).await
            }

            /// Up to `limit` live items of the tenant across its sessions.
            pub async fn list_tenant(
                &self,
                kv: &#v::Scoped<'_>,
                limit: usize,
            ) -> #ts::Result<::std::vec::Vec<#entity>> {
                #v::list_tenant(kv, limit).await
            }

            /// Moves every one of `from`'s tenant's items to `to`'s tenant and returns how
            /// many. Not atomic; safe to re-run after a crash (see the runtime's `move_tenant`).
            pub async fn move_tenant(&self, from: &#v::Scoped<'_>, to: &#v::Scoped<'_>) -> #ts::Result<u64> {
                #v::move_tenant::<#entity>(from, to).await
            }

            /// Deletes every item of the tenant and its indexes; returns how many items there were.
            pub async fn delete_tenant(&self, kv: &#v::Scoped<'_>) -> #ts::Result<u64> {
                #v::delete_tenant::<#entity>(kv).await
            }

            /// Up to `limit` live items of the session with their current weights, heaviest first.
            pub async fn ranked(
                &self,
                kv: &#v::Scoped<'_>,
                session: &str,
                limit: usize,
            ) -> #ts::Result<::std::vec::Vec<(#entity, f64)>> {
                #v::ranked(kv, session, limit).await
            }

            /// Multiplies every weight in the session by `factor` (in `(0, 1]`) and deletes the
            /// items that fall below `floor`; returns how many were deleted.
            pub async fn decay(
                &self,
                kv: &#v::Scoped<'_>,
                session: &str,
                factor: f64,
                floor: f64,
            ) -> #ts::Result<u64> {
                #v::decay::<#entity>(kv, session, factor, floor).await
            }

            /// Deletes the item; `Error::NotFound` when it is missing, expired, or another tenant's.
            pub async fn delete(
                &self,
                kv: &#v::Scoped<'_>,
                session: &str,
                id: &#id_ty,
            ) -> #ts::Result<()> {
                #v::delete::<#entity>(kv, session, &#ts::DocumentId::to_id(id)).await
            }
        }
    }
}
