//! Expansion: from a checked [`Model`] to tokens. Nothing here can fail or looks at attributes.
//!
//! This file only dispatches. `common` holds the helpers every backend uses, `document` the core
//! the four document backends share; each backend has one file. Imports run one way: a backend
//! file imports `common` (and `document`), never this file or another backend.

mod common;
mod document;
mod neo4j;
mod opensearch;
mod postgres;
mod qdrant;
mod valkey;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::{Backend, Model};

/// The attribute's whole pipeline, on `proc_macro2` tokens so it is unit-testable.
pub fn tenant_store(attr: TokenStream, item: TokenStream) -> TokenStream {
    match crate::validate::validate(attr, item) {
        Ok(model) => expand(&model),
        Err((errors, item)) => {
            let mut out = errors.write_errors();
            out.extend(fallback(item));
            out
        }
    }
}

/// What is emitted beside the errors: the struct itself and placeholders of the items the
/// expansion would have made (`New{Entity}`, `{Entity}Patch`, `{Entity}Filter`, `{Entity}Store`
/// and `Entity::store()`), so code that names them does not fail as well: one mistake, one
/// error. The placeholders implement nothing, so no call on them can succeed by accident; the
/// attribute's own error already fails the build.
fn fallback(item: Option<Box<syn::ItemStruct>>) -> TokenStream {
    let Some(item) = item else {
        return quote!();
    };
    let (ident, vis) = (&item.ident, &item.vis);
    let (impl_generics, ty_generics, where_clause) = item.generics.split_for_impl();
    let [new, patch, filter, store] = ["New{}", "{}Patch", "{}Filter", "{}Store"]
        .map(|pattern| format_ident!("{}", pattern.replace("{}", &ident.to_string())));
    quote! {
        #item
        #vis struct #new {}
        #vis struct #patch {}
        #vis struct #filter {}
        #vis struct #store {}
        impl #impl_generics #ident #ty_generics #where_clause {
            #vis fn store() -> #store {
                #store {}
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
