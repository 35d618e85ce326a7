//! The part of the expansion the four document backends (Valkey, OpenSearch, Neo4j, Qdrant)
//! share: `New{Entity}`, the `DocumentEntity` impl (name, scope, id, tenant of a value, the
//! value built from a `New` and a tenant), the `{Entity}Store` alias of the backend's generic
//! store, and the type assertions on the id and scope fields. Each backend adds its own trait's
//! impl beside it.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::common;
use crate::model::Model;

/// What one document backend tells the shared expansion.
pub struct Backend<'a> {
    /// The runtime module under `__private` (`valkey`, `opensearch`, ...).
    pub module: &'a str,
    /// The doc comment of `New{Entity}`.
    pub new_doc: String,
    /// The doc comment of `{Entity}Store`.
    pub store_doc: String,
}

pub fn expand(m: &Model, b: Backend<'_>) -> TokenStream {
    let ts = common::ts();
    let module = format_ident!("{}", b.module);
    let entity = m.ident();
    let entity_name = entity.to_string();
    let new_ty = format_ident!("New{}", entity);
    let scope = common::scope(m);
    let id_f = &m.fields[m.id];
    let (id_ident, id_ty) = (&id_f.ident, &id_f.ty);
    let id_name = Model::column_name(id_f);
    let scope_f = &m.fields[m.scope];
    let scope_ident = &scope_f.ident;
    let data = m.data_fields().map(|f| &f.ident);
    // Spanned at the field types, so a wrong type is reported there, once: the id's through the
    // bound on `DocumentEntity::Id`, the scope's through an assertion.
    let id_assoc = quote_spanned!(id_ty.span()=> type Id = #id_ty;);
    let scope_ty = &scope_f.ty;
    let scope_assert = quote_spanned!(scope_ty.span()=> #ts::assert_tenant_id::<#scope_ty>(););

    let new_struct = common::new_struct(m, &b.new_doc);
    let alias = common::store_alias(m, quote!(#ts::#module::Store<#entity>), &b.store_doc);
    let vis = &m.item.vis;
    let filter_ty = format_ident!("{}Filter", entity);
    let order_ty = format_ident!("{}Order", entity);
    let filters: Vec<_> = m.fields.iter().filter(|f| f.filter).collect();
    let filter_idents: Vec<_> = filters.iter().map(|f| &f.ident).collect();
    let filter_tys: Vec<_> = filters.iter().map(|f| &f.ty).collect();
    let filter_names: Vec<_> = filters.iter().map(|f| Model::column_name(f)).collect();
    let filter_docs = filters.iter().map(|f| {
        format!(
            "Keeps only entities whose `{}` meets `cond`: a value (equality) or a \
             [`Cond`](::tenant_store::Cond) (`is_in`, a range, a null test, a prefix, as the \
             field's type and the backend allow).",
            f.ident
        )
    });
    let filter_doc = format!(
        "Conditions (ANDed) and the order for `{entity}Store::list` and `count`; the empty \
         filter matches every entity, in id order."
    );
    let order_enum = common::order_enum(m);
    quote! {
        #new_struct
        #alias

        #[doc = #filter_doc]
        #[derive(Clone, Default)]
        #vis struct #filter_ty(#ts::DocQuery);

        impl #filter_ty {
            /// The empty filter.
            pub fn new() -> Self {
                ::core::default::Default::default()
            }
            #(
                #[doc = #filter_docs]
                pub fn #filter_idents(mut self, cond: impl ::core::convert::Into<#ts::Cond<#filter_tys>>) -> Self {
                    self.0.push(#filter_names, cond.into());
                    self
                }
            )*
            /// Orders the listing by `field` in `direction`, the id breaking ties in the same
            /// direction (by the id ascending when this is not called).
            pub fn order_by(mut self, field: #order_ty, direction: #ts::Direction) -> Self {
                self.0.order_by(field, direction);
                self
            }
        }

        #[automatically_derived]
        impl ::core::convert::From<#filter_ty> for #ts::DocQuery {
            fn from(filter: #filter_ty) -> Self {
                filter.0
            }
        }

        #order_enum

        const _: () = {
            #scope_assert
        };

        #[automatically_derived]
        impl #ts::DocumentEntity for #entity {
            const ENTITY: &'static str = #entity_name;
            const SCOPE: #ts::Scope = #scope;
            const ID_FIELD: &'static str = #id_name;
            #id_assoc
            type New = #new_ty;
            type Filter = #filter_ty;
            fn id(&self) -> &#id_ty {
                &self.#id_ident
            }
            fn tenant_of(&self) -> #ts::Uuid {
                self.#scope_ident
            }
            fn from_new(new: #new_ty, id: ::core::option::Option<#id_ty>, tenant: #ts::Uuid) -> Self {
                Self {
                    #id_ident: id.or(new.#id_ident).unwrap_or_else(#ts::generate_id::<Self>),
                    #scope_ident: tenant,
                    #( #data: new.#data, )*
                }
            }
        }
    }
}
