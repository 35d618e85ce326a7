//! OpenSearch expansion: the `New` type, the store whose methods take a tenant-scoped handle,
//! the `SearchEntity` impl (mapping, text fields), and compile-time type assertions. The
//! operations live in the runtime (`tenant_store::opensearch`), generic over the entity.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::model::{Model, OpenSearch};

pub fn expand(m: &Model, os: &OpenSearch) -> TokenStream {
    let ts = quote!(::tenant_store::__private);
    let o = quote!(::tenant_store::__private::opensearch);
    let entity = m.ident();
    let entity_name = entity.to_string();
    let new_ty = format_ident!("New{}", entity);
    let store_ty = format_ident!("{}Store", entity);
    let index = &os.index;
    let scope_variant = super::scope_variant(m);
    let id_f = &m.fields[m.id];
    let (id_ident, id_ty) = (&id_f.ident, &id_f.ty);
    let scope_ident = &m.fields[m.scope].ident;
    let (id_name, scope_name) = (
        Model::column_name(id_f),
        Model::column_name(&m.fields[m.scope]),
    );
    let text_names = os.text.iter().map(|i| Model::column_name(&m.fields[*i]));
    let field_entries = m.fields.iter().map(|f| {
        let (name, ty) = (Model::column_name(f), &f.ty);
        quote_spanned!(ty.span()=> (#name, <#ty as #o::SearchField>::MAPPING))
    });
    let assertions = super::document_assertions(m);
    let text_assertions = os.text.iter().map(|i| {
        let ty = &m.fields[*i].ty;
        quote_spanned!(ty.span()=> #o::assert_text::<#ty>();)
    });

    let new_doc = format!(
        "A new `{entity_name}` for `{store_ty}::create` and `index`. The scope field is absent: it comes from the tenant handle."
    );
    let store_doc = format!(
        "The tenant-scoped OpenSearch store of `{entity_name}` (shared index `{index}`, alias `{index}_tenant_<tenant>`). Every data method takes a `Scoped` handle and acts only inside its tenant."
    );
    let build = super::document_from_new(m);

    let new_struct = super::new_struct(m, &new_doc);
    let store_struct = super::store_struct(m, &store_doc);

    let contract = super::contract_impl(
        m,
        super::Contract {
            backend: "opensearch",
            upserts: false,
            conn: quote!(#o::Client),
            new: quote!(#new_ty),
            id: quote!(#id_ty),
            id_of: quote!(::core::clone::Clone::clone(&entity.#id_ident)),
            // The tenant's alias is made on its first write; before it, the tenant has nothing.
            insert: quote! {
                self.create_tenant_alias(&kv).await?;
                self.create(&kv, new).await
            },
            get: quote! {
                match self.get(&kv, id).await {
                    ::core::result::Result::Err(#ts::Error::NotFound) => ::core::result::Result::Ok(::core::option::Option::None),
                    other => other,
                }
            },
            list: quote! {
                if limit == 0 {
                    return ::core::result::Result::Ok(::std::vec::Vec::new());
                }
                match self.search(&kv, "", limit, ::core::option::Option::None).await {
                    ::core::result::Result::Ok(page) => ::core::result::Result::Ok(page.hits),
                    ::core::result::Result::Err(#ts::Error::NotFound) => ::core::result::Result::Ok(::std::vec::Vec::new()),
                    ::core::result::Result::Err(e) => ::core::result::Result::Err(e),
                }
            },
            update: quote! {
                let ::core::option::Option::Some((_, version)) = self.get_versioned(&kv, id).await? else {
                    return ::core::result::Result::Err(#ts::Error::NotFound);
                };
                let mut new = new;
                new.#id_ident = ::core::option::Option::Some(::core::clone::Clone::clone(id));
                let doc = #build;
                self.update(&kv, &doc, version).await?;
                ::core::result::Result::Ok(doc)
            },
            delete: quote!(self.delete(&kv, id).await),
            delete_tenant: quote! {
                match self.delete_tenant(&kv).await {
                    ::core::result::Result::Err(#ts::Error::NotFound) => ::core::result::Result::Ok(0),
                    other => other,
                }
            },
        },
    );

    quote! {
        #contract
        #new_struct
        #store_struct

        const _: () = {
            #assertions
            #( #text_assertions )*
        };

        #[automatically_derived]
        impl #o::SearchEntity for #entity {
            const ENTITY: &'static str = #entity_name;
            const INDEX: &'static str = #index;
            const SCOPE: #ts::Scope = #ts::Scope::#scope_variant;
            const SCOPE_FIELD: &'static str = #scope_name;
            const ID_FIELD: &'static str = #id_name;
            const TEXT_FIELDS: &'static [&'static str] = &[#(#text_names),*];
            const FIELDS: &'static [(&'static str, &'static str)] = &[#(#field_entries),*];
            fn doc_id(&self) -> ::std::string::String {
                #ts::DocumentId::to_id(&self.#id_ident)
            }
            fn tenant_of(&self) -> #ts::Uuid {
                self.#scope_ident
            }
        }

        impl #store_ty {
            /// Creates the shared index with this entity's mapping unless it exists.
            pub async fn ensure_index(&self, client: &#o::Client) -> #ts::Result<()> {
                #o::ensure_index::<#entity>(client).await
            }

            /// Creates the tenant's filtered, routed alias (idempotent).
            pub async fn create_tenant_alias(&self, kv: &#o::Scoped<'_>) -> #ts::Result<()> {
                #o::create_tenant_alias::<#entity>(kv).await
            }

            /// Indexes (inserts or replaces) a document in the caller's tenant and returns it.
            pub async fn index(&self, kv: &#o::Scoped<'_>, new: #new_ty) -> #ts::Result<#entity> {
                let doc = #build;
                #o::index(kv, &doc).await?;
                ::core::result::Result::Ok(doc)
            }

            /// Inserts a document; `Error::Duplicate` when the tenant has one with this id.
            pub async fn create(&self, kv: &#o::Scoped<'_>, new: #new_ty) -> #ts::Result<#entity> {
                let doc = #build;
                #o::create(kv, &doc).await?;
                ::core::result::Result::Ok(doc)
            }

            /// Replaces a document only if it is still at `version`; `Error::Conflict` otherwise.
            pub async fn update(
                &self,
                kv: &#o::Scoped<'_>,
                doc: &#entity,
                version: #o::DocVersion,
            ) -> #ts::Result<#o::DocVersion> {
                #o::update(kv, doc, version).await
            }

            /// The document with this id, or `None` (also when it is another tenant's).
            pub async fn get(&self, kv: &#o::Scoped<'_>, id: &#id_ty) -> #ts::Result<::core::option::Option<#entity>> {
                #o::get(kv, &#ts::DocumentId::to_id(id)).await
            }

            /// The document with this id and its version, for `update`.
            pub async fn get_versioned(
                &self,
                kv: &#o::Scoped<'_>,
                id: &#id_ty,
            ) -> #ts::Result<::core::option::Option<(#entity, #o::DocVersion)>> {
                #o::get_versioned(kv, &#ts::DocumentId::to_id(id)).await
            }

            /// Full-text search over the text fields, a page at a time.
            pub async fn search(
                &self,
                kv: &#o::Scoped<'_>,
                text: &str,
                size: usize,
                after: ::core::option::Option<#o::SearchCursor>,
            ) -> #ts::Result<#o::SearchPage<#entity>> {
                #o::search(kv, text, size, after).await
            }

            /// Search with a Lucene query string; a malformed one is `Error::InvalidInput`.
            pub async fn search_query_string(
                &self,
                kv: &#o::Scoped<'_>,
                query: &str,
                size: usize,
                after: ::core::option::Option<#o::SearchCursor>,
            ) -> #ts::Result<#o::SearchPage<#entity>> {
                #o::search_query_string(kv, query, size, after).await
            }

            /// Deletes the document; `Error::NotFound` when the tenant has none with this id.
            pub async fn delete(&self, kv: &#o::Scoped<'_>, id: &#id_ty) -> #ts::Result<()> {
                #o::delete::<#entity>(kv, &#ts::DocumentId::to_id(id)).await
            }

            /// The tenant's document count.
            pub async fn count(&self, kv: &#o::Scoped<'_>) -> #ts::Result<u64> {
                #o::count::<#entity>(kv).await
            }

            /// Moves every one of `from`'s tenant's documents to `to`'s tenant and returns how
            /// many. Not atomic; safe to re-run after a crash (see the runtime's `move_tenant`).
            pub async fn move_tenant(&self, from: &#o::Scoped<'_>, to: &#o::Scoped<'_>) -> #ts::Result<u64> {
                #o::move_tenant::<#entity>(from, to).await
            }

            /// Deletes all of the tenant's documents and its alias; returns how many were deleted.
            pub async fn delete_tenant(&self, kv: &#o::Scoped<'_>) -> #ts::Result<u64> {
                #o::delete_tenant::<#entity>(kv).await
            }

            /// Moves the tenant to a dedicated index with one atomic alias swap.
            pub async fn promote_tenant(&self, kv: &#o::Scoped<'_>) -> #ts::Result<#o::Promotion> {
                #o::promote::<#entity>(kv).await
            }
        }
    }
}
