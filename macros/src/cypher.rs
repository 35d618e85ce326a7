//! `cypher!(Entity, ...; "query")`: hand-written Cypher, checked at compile time by the same
//! checker the runtime runs (crate `tenant-store-cypher`; its docs list the accepted subset).
//!
//! The expansion (1) asserts at compile time that every label the query names belongs to one of
//! the listed entities and that they all have the query's scope, and (2) builds the runtime's
//! `CheckedCypher` through its checking constructor, cached per call site.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{LitStr, Token, Type};

struct Input {
    entities: Punctuated<Type, Token![,]>,
    query: LitStr,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(LitStr) {
            return Err(input.error(
                "name the entities the query reads or writes before it: `cypher!(Symbol, Repo; \"MATCH ...\")`",
            ));
        }
        let entities = Punctuated::parse_separated_nonempty(input)?;
        input.parse::<Token![;]>()?;
        let query = input.parse()?;
        Ok(Self { entities, query })
    }
}

pub fn expand(input: TokenStream) -> TokenStream {
    let Input { entities, query } = match syn::parse2::<Input>(input) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    let g = quote!(::tenant_store::__private::neo4j);
    let list = entities.iter();
    let tuple = quote!((#(#list,)*));
    let checked = match tenant_store_cypher::check(&query.value()) {
        Ok(c) => c,
        Err(violations) => {
            let errors = violations
                .iter()
                .map(|v| syn::Error::new(query.span(), &v.message).to_compile_error());
            // The errors fail the build; `unreachable!()` only gives the block its type, so no
            // knock-on error buries them.
            return quote!({ #(#errors)* ::core::unreachable!() });
        }
    };
    let names = entities
        .iter()
        .map(|t| format!("`{}`", quote!(#t).to_string().replace(' ', "")))
        .collect::<Vec<_>>()
        .join(", ");
    let labels = checked.labels.iter().map(|l| {
        let msg = format!("label `{l}` in the query is not the label of any of {names}");
        quote_spanned!(query.span()=> ::core::assert!(#g::__declares_label::<#tuple>(#l), #msg);)
    });
    let scope = if checked.scope == "user_id" {
        quote!(UserId)
    } else {
        quote!(OrgId)
    };
    let scope_msg = format!(
        "the query is scoped by `{}`; every entity it is declared for ({names}) must be too",
        checked.scope
    );
    let first = entities.first().map(syn::spanned::Spanned::span);
    let scope_assert = quote_spanned!(first.unwrap_or_else(proc_macro2::Span::call_site)=>
        ::core::assert!(#g::__all_scoped::<#tuple>(::tenant_store::__private::Scope::#scope), #scope_msg);
    );
    quote!({
        const _: () = {
            #scope_assert
            #(#labels)*
        };
        static CELL: ::std::sync::OnceLock<::tenant_store::neo4j::CheckedCypher> =
            ::std::sync::OnceLock::new();
        ::tenant_store::neo4j::CheckedCypher::__cached::<#tuple>(&CELL, #query)
    })
}
