//! Qdrant expansion: the `New` type, the store whose methods take a tenant-scoped handle, the
//! `EmbeddingEntity` impl (model, size, distance) and compile-time type assertions. The
//! operations live in the runtime (`tenant_store::qdrant`), generic over the entity.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::{Model, Qdrant};

pub fn expand(m: &Model, qd: &Qdrant) -> TokenStream {
    let ts = quote!(::tenant_store::__private);
    let q = quote!(::tenant_store::__private::qdrant);
    let entity = m.ident();
    let entity_name = entity.to_string();
    let new_ty = format_ident!("New{}", entity);
    let store_ty = format_ident!("{}Store", entity);
    let (model, dims) = (&qd.model, qd.dims as usize);
    let distance = format_ident!("{}", qd.distance);
    let scope_variant = super::scope_variant(m);
    let id_f = &m.fields[m.id];
    let (id_ident, id_ty) = (&id_f.ident, &id_f.ty);
    let scope_ident = &m.fields[m.scope].ident;
    let scope_name = Model::column_name(&m.fields[m.scope]);
    let assertions = super::document_assertions(m);
    let build = super::document_from_new(m);

    let new_doc = format!(
        "A new `{entity_name}` for `{store_ty}::upsert`: the payload beside the vector. The scope field is absent: it comes from the tenant handle."
    );
    let store_doc = format!(
        "The tenant-scoped Qdrant store of `{entity_name}` (collection `embeddings_{model}`, {dims} dimensions, tenant index on `{scope_name}`). Every data method takes a `Scoped` handle and acts only inside its tenant."
    );
    let new_struct = super::new_struct(m, &new_doc);
    let store_struct = super::store_struct(m, &store_doc);

    let contract = super::contract_impl(
        m,
        super::Contract {
            backend: "qdrant",
            upserts: true,
            conn: quote!(#q::Client),
            new: quote!((#new_ty, ::std::vec::Vec<f32>)),
            id: quote!(#id_ty),
            id_of: quote!(::core::clone::Clone::clone(&entity.#id_ident)),
            insert: quote! {
                let (new, vector) = new;
                self.upsert(&kv, new, &vector).await
            },
            get: quote!(self.get(&kv, id).await),
            list: quote!(self.list(&kv, limit).await),
            update: quote! {
                if self.get(&kv, id).await?.is_none() {
                    return ::core::result::Result::Err(#ts::Error::NotFound);
                }
                let (mut new, vector) = new;
                new.#id_ident = ::core::option::Option::Some(::core::clone::Clone::clone(id));
                self.upsert(&kv, new, &vector).await
            },
            delete: quote!(self.delete(&kv, id).await),
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
        impl #q::EmbeddingEntity for #entity {
            const ENTITY: &'static str = #entity_name;
            const MODEL: &'static str = #model;
            const DIMS: usize = #dims;
            const DISTANCE: #q::Distance = #q::Distance::#distance;
            const SCOPE: #ts::Scope = #ts::Scope::#scope_variant;
            const SCOPE_FIELD: &'static str = #scope_name;
            fn entity_id(&self) -> ::std::string::String {
                #ts::DocumentId::to_id(&self.#id_ident)
            }
            fn tenant_of(&self) -> #ts::Uuid {
                self.#scope_ident
            }
        }

        impl #store_ty {
            /// The vector size of this entity's model.
            pub const DIMS: usize = #dims;

            /// Creates the collection `embeddings_<model>` (size, distance) and the tenant payload
            /// index unless they exist; an existing collection of another size is an error.
            pub async fn ensure_collection(&self, client: &#q::Client) -> #ts::Result<()> {
                #q::ensure_collection::<#entity>(client).await
            }

            /// Inserts or replaces the point `new.id` (generated when `None`) of the caller's
            /// tenant. A vector of the wrong size is `Error::InvalidInput`, before any request.
            pub async fn upsert(
                &self,
                kv: &#q::Scoped<'_>,
                new: #new_ty,
                vector: &[f32],
            ) -> #ts::Result<#entity> {
                let doc = #build;
                #q::upsert(kv, &doc, vector).await?;
                ::core::result::Result::Ok(doc)
            }

            /// The `limit` nearest points of the caller's tenant; `filter` can only narrow them.
            pub async fn search(
                &self,
                kv: &#q::Scoped<'_>,
                vector: &[f32],
                limit: u64,
                filter: ::core::option::Option<#q::Filter>,
            ) -> #ts::Result<::std::vec::Vec<#q::Scored<#entity>>> {
                #q::search(kv, vector, limit, filter).await
            }

            /// The point with this id, or `None` (also when it is another tenant's).
            pub async fn get(&self, kv: &#q::Scoped<'_>, id: &#id_ty) -> #ts::Result<::core::option::Option<#entity>> {
                #q::get(kv, &#ts::DocumentId::to_id(id)).await
            }

            /// Deletes the point; `Error::NotFound` when the tenant has none with this id.
            pub async fn delete(&self, kv: &#q::Scoped<'_>, id: &#id_ty) -> #ts::Result<()> {
                #q::delete::<#entity>(kv, &#ts::DocumentId::to_id(id)).await
            }

            /// Up to `limit` of the tenant's points, in point-id order.
            pub async fn list(&self, kv: &#q::Scoped<'_>, limit: usize) -> #ts::Result<::std::vec::Vec<#entity>> {
                #q::list::<#entity>(kv, limit).await
            }

            /// The tenant's point count.
            pub async fn count(&self, kv: &#q::Scoped<'_>) -> #ts::Result<u64> {
                #q::count::<#entity>(kv).await
            }

            /// Moves every one of `from`'s tenant's points to `to`'s tenant and returns how
            /// many. Not atomic; safe to re-run after a crash (see the runtime's `move_tenant`).
            pub async fn move_tenant(&self, from: &#q::Scoped<'_>, to: &#q::Scoped<'_>) -> #ts::Result<u64> {
                #q::move_tenant::<#entity>(from, to).await
            }

            /// Deletes all of the tenant's points; returns how many there were.
            pub async fn delete_tenant(&self, kv: &#q::Scoped<'_>) -> #ts::Result<u64> {
                #q::delete_tenant::<#entity>(kv).await
            }
        }
    }
}
