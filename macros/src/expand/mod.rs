//! Expansion: from a checked [`Model`] to tokens. Nothing here can fail or looks at attributes.

mod neo4j;
mod opensearch;
mod postgres;
mod qdrant;
mod valkey;

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::{Backend, Model};

/// The attribute's whole pipeline, on `proc_macro2` tokens so it is unit-testable.
pub fn tenant_store(attr: TokenStream, item: TokenStream) -> TokenStream {
    match crate::validate::validate(attr, item) {
        Ok(model) => expand(&model),
        Err((errors, item)) => {
            // The errors plus the struct itself, so code that names it does not fail as well.
            let mut out = errors.write_errors();
            out.extend(quote!(#item));
            out
        }
    }
}

/// `Scope::UserId` or `Scope::OrgId`, as the variant's name.
fn scope_variant(m: &Model) -> TokenStream {
    match m.scope_kind {
        crate::model::ScopeKind::UserId => quote!(UserId),
        crate::model::ScopeKind::OrgId => quote!(OrgId),
    }
}

/// The field's doc comments, or a generated one.
fn field_docs(f: &crate::model::Field, entity: &str) -> TokenStream {
    if f.docs.is_empty() {
        let d = format!("`{}` of the `{entity}`.", f.ident);
        quote!(#[doc = #d])
    } else {
        let docs = &f.docs;
        quote!(#(#docs)*)
    }
}

/// `New{Entity}`: an optional id and every caller-set field; never the scope field.
fn new_struct(m: &Model, doc: &str) -> TokenStream {
    let entity = m.ident().to_string();
    let (vis, new_ty) = (&m.item.vis, quote::format_ident!("New{}", m.ident()));
    let id = &m.fields[m.id];
    let (id_ident, id_ty) = (&id.ident, &id.ty);
    let data: Vec<_> = m.data_fields().collect();
    let (idents, tys): (Vec<_>, Vec<_>) = data.iter().map(|f| (&f.ident, &f.ty)).unzip();
    let docs = data.iter().map(|f| field_docs(f, &entity));
    let derive = &m.new_derive;
    let derive = if derive.is_empty() {
        quote!()
    } else {
        quote!(#[derive(#(#derive),*)])
    };
    quote! {
        #[doc = #doc]
        #derive
        #vis struct #new_ty {
            /// The id; `None` generates a random one.
            pub #id_ident: ::core::option::Option<#id_ty>,
            #( #docs pub #idents: #tys, )*
        }
    }
}

/// `{Entity}Store` and `Entity::store()`.
fn store_struct(m: &Model, doc: &str) -> TokenStream {
    let (entity, vis) = (m.ident(), &m.item.vis);
    let store_ty = quote::format_ident!("{}Store", entity);
    let fn_doc = format!("The tenant-scoped store of `{entity}`.");
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, Copy, Default)]
        #vis struct #store_ty {
            _private: (),
        }

        impl #entity {
            #[doc = #fn_doc]
            pub fn store() -> #store_ty {
                #store_ty { _private: () }
            }
        }
    }
}

/// The type assertions every document backend (Valkey, OpenSearch, Neo4j) shares: a
/// `DocumentId` id and a `Uuid` scope field, each spanned at its type.
fn document_assertions(m: &Model) -> TokenStream {
    let ts = quote!(::tenant_store::__private);
    let (id, scope) = (&m.fields[m.id].ty, &m.fields[m.scope].ty);
    let id =
        quote::quote_spanned!(syn::spanned::Spanned::span(id)=> #ts::assert_document_id::<#id>(););
    let scope = quote::quote_spanned!(syn::spanned::Spanned::span(scope)=> #ts::assert_tenant_id::<#scope>(););
    quote!(#id #scope)
}

/// The entity built from `new` and the tenant handle `kv`: the id generated when absent, the
/// scope field taken from the handle, never from the caller.
fn document_from_new(m: &Model) -> TokenStream {
    let ts = quote!(::tenant_store::__private);
    let entity = m.ident();
    let id = &m.fields[m.id];
    let (id_ident, id_ty) = (&id.ident, &id.ty);
    let scope_ident = &m.fields[m.scope].ident;
    let scope_variant = scope_variant(m);
    let data = m.data_fields().map(|f| &f.ident);
    quote! {
        #entity {
            #id_ident: new.#id_ident.unwrap_or_else(<#id_ty as #ts::DocumentId>::generate),
            #scope_ident: kv.tenant(#ts::Scope::#scope_variant),
            #( #data: new.#data, )*
        }
    }
}

/// What one backend puts in its `TenantStore` impl: the types, and one body per method. Bodies
/// are expressions over `self`, `conn`, `who` and, per method, `new`, `id`, `limit`.
struct Contract {
    backend: &'static str,
    upserts: bool,
    conn: TokenStream,
    new: TokenStream,
    id: TokenStream,
    id_of: TokenStream,
    insert: TokenStream,
    get: TokenStream,
    list: TokenStream,
    update: TokenStream,
    delete: TokenStream,
    delete_tenant: TokenStream,
}

/// The `TenantStore` impl of a document backend (Valkey, OpenSearch, Neo4j, Qdrant): each
/// call makes the tenant handle from the principal, as `kv`, then runs its body.
fn contract_impl(m: &Model, c: Contract) -> TokenStream {
    let ts = quote!(::tenant_store::__private);
    let entity = m.ident();
    let store_ty = quote::format_ident!("{}Store", entity);
    let Contract {
        backend,
        upserts,
        conn,
        new,
        id,
        id_of,
        insert,
        get,
        list,
        update,
        delete,
        delete_tenant,
    } = c;
    quote! {
        #[automatically_derived]
        impl #ts::TenantStore for #store_ty {
            type Conn = #conn;
            type Entity = #entity;
            type New = #new;
            type Id = #id;
            const BACKEND: &'static str = #backend;
            const UPSERTS: bool = #upserts;
            fn id_of(entity: &#entity) -> #id {
                #id_of
            }
            fn insert<'a>(&'a self, conn: &'a #conn, who: &'a #ts::Principal, new: #new) -> #ts::Boxed<'a, #entity> {
                ::std::boxed::Box::pin(async move {
                    let kv = conn.scoped(who);
                    #insert
                })
            }
            fn get<'a>(&'a self, conn: &'a #conn, who: &'a #ts::Principal, id: &'a #id) -> #ts::Boxed<'a, ::core::option::Option<#entity>> {
                ::std::boxed::Box::pin(async move {
                    let kv = conn.scoped(who);
                    #get
                })
            }
            fn list<'a>(&'a self, conn: &'a #conn, who: &'a #ts::Principal, limit: usize) -> #ts::Boxed<'a, ::std::vec::Vec<#entity>> {
                ::std::boxed::Box::pin(async move {
                    let kv = conn.scoped(who);
                    #list
                })
            }
            fn update<'a>(&'a self, conn: &'a #conn, who: &'a #ts::Principal, id: &'a #id, new: #new) -> #ts::Boxed<'a, #entity> {
                ::std::boxed::Box::pin(async move {
                    let kv = conn.scoped(who);
                    #update
                })
            }
            fn delete<'a>(&'a self, conn: &'a #conn, who: &'a #ts::Principal, id: &'a #id) -> #ts::Boxed<'a, ()> {
                ::std::boxed::Box::pin(async move {
                    let kv = conn.scoped(who);
                    #delete
                })
            }
            fn delete_tenant<'a>(&'a self, conn: &'a #conn, who: &'a #ts::Principal) -> #ts::Boxed<'a, u64> {
                ::std::boxed::Box::pin(async move {
                    let kv = conn.scoped(who);
                    #delete_tenant
                })
            }
        }
    }
}

/// Expands a checked model.
pub fn expand(model: &Model) -> TokenStream {
    let item = &model.item;
    let backend = match &model.backend {
        Backend::Postgres(pg) => postgres::expand(model, pg),
        Backend::Valkey(vk) => valkey::expand(model, vk),
        Backend::OpenSearch(os) => opensearch::expand(model, os),
        Backend::Neo4j(neo) => neo4j::expand(model, neo),
        Backend::Qdrant(qd) => qdrant::expand(model, qd),
    };
    quote! {
        #item
        #backend
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    fn pretty(tokens: proc_macro2::TokenStream) -> String {
        prettyplease::unparse(&syn::parse2(tokens).expect("expansion parses as a file"))
    }

    #[test]
    fn memory_expansion() {
        let out = super::tenant_store(
            quote!(
                backend = "postgres",
                scope = "user_id",
                table = "memories",
                new_derive(Default, Debug)
            ),
            quote! {
                /// A memory.
                #[derive(Debug, Clone)]
                pub struct Memory {
                    #[tenant_store(id)]
                    pub id: Uuid,
                    pub user_id: Uuid,
                    #[tenant_store(filter)]
                    pub app_id: Uuid,
                    pub content: String,
                    #[tenant_store(filter, soft_delete = MemoryState::Deleted)]
                    pub state: MemoryState,
                    #[tenant_store(version)]
                    pub version: i64,
                    #[tenant_store(created_at)]
                    pub created_at: DateTime<Utc>,
                    #[tenant_store(updated_at)]
                    pub updated_at: DateTime<Utc>,
                }
            },
        );
        insta::assert_snapshot!(pretty(out));
    }

    #[test]
    fn minimal_org_scoped_expansion() {
        let out = super::tenant_store(
            quote!(backend = "postgres", scope = "org_id"),
            quote! {
                pub struct Note {
                    #[tenant_store(id)]
                    pub id: Uuid,
                    pub org_id: Uuid,
                    pub body: Option<String>,
                }
            },
        );
        insta::assert_snapshot!(pretty(out));
    }

    #[test]
    fn episode_valkey_expansion() {
        let out = super::tenant_store(
            quote!(
                backend = "valkey",
                scope = "user_id",
                prefix = "episodic",
                ttl = 86400
            ),
            quote! {
                #[derive(Serialize, Deserialize)]
                pub struct Episode {
                    #[tenant_store(id)]
                    pub id: String,
                    pub user_id: Uuid,
                    #[tenant_store(session)]
                    pub session_id: String,
                    pub content: String,
                    #[tenant_store(weight)]
                    pub importance: f64,
                }
            },
        );
        insta::assert_snapshot!(pretty(out));
    }

    #[test]
    fn search_doc_opensearch_expansion() {
        let out = super::tenant_store(
            quote!(backend = "opensearch", scope = "org_id", index = "search"),
            quote! {
                #[derive(Serialize, Deserialize)]
                pub struct SearchDoc {
                    #[tenant_store(id)]
                    pub id: String,
                    pub org_id: Uuid,
                    #[tenant_store(text)]
                    pub title: String,
                    pub tags: Vec<String>,
                }
            },
        );
        insta::assert_snapshot!(pretty(out));
    }

    #[test]
    fn embedding_qdrant_expansion() {
        let out = super::tenant_store(
            quote!(
                backend = "qdrant",
                scope = "org_id",
                model = "minilm",
                dims = 384
            ),
            quote! {
                #[derive(Serialize, Deserialize)]
                pub struct Embedding {
                    #[tenant_store(id)]
                    pub id: Uuid,
                    pub org_id: Uuid,
                    pub text: String,
                }
            },
        );
        insta::assert_snapshot!(pretty(out));
    }

    #[test]
    fn symbol_neo4j_expansion() {
        let out = super::tenant_store(
            quote!(backend = "neo4j", scope = "org_id", label = "CODE_SYMBOL"),
            quote! {
                #[derive(Serialize, Deserialize)]
                pub struct Symbol {
                    #[tenant_store(id)]
                    pub id: String,
                    pub org_id: Uuid,
                    #[tenant_store(indexed)]
                    pub name: String,
                }
            },
        );
        insta::assert_snapshot!(pretty(out));
    }

    #[test]
    fn errors_are_collected_and_the_struct_still_emitted() {
        let out = super::tenant_store(
            quote!(backend = "postgress", scope = "team_id", ttl = 5),
            quote! {
                pub struct Broken {
                    #[tenant_store(id)]
                    pub id: Uuid,
                    #[tenant_store(id)]
                    pub other: Uuid,
                }
            },
        )
        .to_string();
        for needle in [
            "unknown backend `postgress`",
            "did you mean `postgres`",
            "unknown scope `team_id`",
            "duplicate `id` field",
            "pub struct Broken",
        ] {
            assert!(out.contains(needle), "missing {needle:?} in {out}");
        }
    }
}
