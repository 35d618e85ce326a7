//! OpenSearch expansion: the shared document core plus the `SearchEntity` impl (index, text
//! fields, mapping). The store is the runtime's `tenant_store::opensearch::Store<E>`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::document;
use crate::model::{Model, OpenSearch};

pub fn expand(m: &Model, os: &OpenSearch) -> TokenStream {
    let o = quote!(::tenant_store::__private::opensearch);
    let entity = m.ident();
    let index = &os.index;
    let text_names = os.text.iter().map(|i| Model::column_name(&m.fields[*i]));
    let field_entries = m.fields.iter().map(|f| {
        let (name, ty) = (Model::column_name(f), &f.ty);
        quote_spanned!(ty.span()=> (#name, <#ty as #o::SearchField>::MAPPING))
    });
    let text_assertions = os.text.iter().map(|i| {
        let ty = &m.fields[*i].ty;
        quote_spanned!(ty.span()=> #o::assert_text::<#ty>();)
    });
    let lower = entity.to_string().to_ascii_lowercase();
    let core = document::expand(
        m,
        document::Backend {
            module: "opensearch",
            new_doc: format!(
                "A new `{entity}` for `{entity}Store::create` and `index`. The scope field is absent: it comes from the tenant handle."
            ),
            store_doc: format!(
                "The tenant-scoped OpenSearch store of `{entity}` (shared index `{index}`, alias `{index}_{lower}_tenant_<tenant>`)."
            ),
        },
    );
    quote! {
        #core

        const _: () = {
            #( #text_assertions )*
        };

        #[automatically_derived]
        impl #o::SearchEntity for #entity {
            const INDEX: &'static str = #index;
            const TEXT_FIELDS: &'static [&'static str] = &[#(#text_names),*];
            const FIELDS: &'static [(&'static str, &'static str)] = &[#(#field_entries),*];
        }
    }
}
