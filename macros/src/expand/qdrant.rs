//! Qdrant expansion: the shared document core plus the `EmbeddingEntity` impl (model, size,
//! distance). The store is the runtime's `tenant_store::qdrant::Store<E>`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::document;
use crate::model::{Model, Qdrant};

pub fn expand(m: &Model, qd: &Qdrant) -> TokenStream {
    let q = quote!(::tenant_store::__private::qdrant);
    let entity = m.ident();
    let (model, dims) = (&qd.model, qd.dims as usize);
    let distance = format_ident!("{}", qd.distance);
    let scope_name = Model::column_name(&m.fields[m.scope]);
    let core = document::expand(
        m,
        document::Backend {
            module: "qdrant",
            new_doc: format!(
                "A new `{entity}` for `{entity}Store::upsert`: the payload beside the vector. The scope field is absent: it comes from the tenant handle."
            ),
            store_doc: format!(
                "The tenant-scoped Qdrant store of `{entity}` (collection `embeddings_{model}`, {dims} dimensions, tenant index on `{scope_name}`)."
            ),
        },
    );
    // A payload index per `filter` field, typed from the field's Rust type.
    let filters = m.data_fields().filter(|f| f.filter).map(|f| {
        let (name, ty) = (Model::column_name(f), &f.ty);
        quote_spanned!(ty.span()=> (#name, <#ty as #q::PayloadField>::INDEX))
    });
    quote! {
        #core

        #[automatically_derived]
        impl #q::EmbeddingEntity for #entity {
            const MODEL: &'static str = #model;
            const DIMS: usize = #dims;
            const DISTANCE: #q::Distance = #q::Distance::#distance;
            const FILTERS: &'static [(&'static str, #q::FieldType)] = &[#(#filters),*];
        }
    }
}
