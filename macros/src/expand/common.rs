//! Helpers every backend's expansion uses. Imported by the backend files; imports nothing from
//! them.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::model::{Field, Model, ScopeKind};

/// `::tenant_store::__private`: the one path generated code names the runtime by.
pub fn ts() -> TokenStream {
    quote!(::tenant_store::__private)
}

/// `Scope::UserId` or `Scope::OrgId`, as a path.
pub fn scope(m: &Model) -> TokenStream {
    let ts = ts();
    match m.scope_kind {
        ScopeKind::UserId => quote!(#ts::Scope::UserId),
        ScopeKind::OrgId => quote!(#ts::Scope::OrgId),
    }
}

/// `created_at` -> `CreatedAt`: the `{Entity}Order` variant of an `order_by` field.
pub fn order_variant(f: &Field) -> syn::Ident {
    let name: String = Model::column_name(f)
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|first| first.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    format_ident!("{}", name, span = f.ident.span())
}

/// `{Entity}Order` (the id and every `order_by` field) with its `OrderField` impl, and the
/// assertion, at each field's type, that it can order a listing.
pub fn order_enum(m: &Model) -> TokenStream {
    let ts = ts();
    let (vis, entity) = (&m.item.vis, m.ident());
    let order_ty = format_ident!("{}Order", entity);
    let fields: Vec<&Field> = m.fields.iter().filter(|f| f.order_by).collect();
    let variants: Vec<_> = fields.iter().map(|f| order_variant(f)).collect();
    let names: Vec<_> = fields.iter().map(|f| Model::column_name(f)).collect();
    let tys: Vec<_> = fields.iter().map(|f| &f.ty).collect();
    let docs = fields.iter().map(|f| format!("By `{}`.", f.ident));
    let asserts = (!tys.is_empty()).then(|| {
        let each = tys
            .iter()
            .map(|ty| quote_spanned!(ty.span()=> #ts::assert_sort_key::<#ty>();));
        quote!(const _: () = { #( #each )* };)
    });
    if fields.is_empty() {
        let doc = format!(
            "The fields a listing of `{entity}` can be ordered by (`{entity}Filter::order_by`): \
             the id alone (`order_by` marks more)."
        );
        return quote! {
            #[doc = #doc]
            #vis type #order_ty = #ts::IdOrder;
        };
    }
    let doc = format!(
        "The fields a listing of `{entity}` can be ordered by (`{entity}Filter::order_by`): the \
         id and every `order_by` field."
    );
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #vis enum #order_ty {
            /// By the id.
            Id,
            #( #[doc = #docs] #variants, )*
        }

        #[automatically_derived]
        impl #ts::OrderField for #order_ty {
            fn name(self) -> ::core::option::Option<&'static str> {
                match self {
                    Self::Id => ::core::option::Option::None,
                    #( Self::#variants => ::core::option::Option::Some(#names), )*
                }
            }
            fn kind(self) -> #ts::Kind {
                match self {
                    Self::Id => #ts::Kind::Text,
                    #( Self::#variants => <#tys as #ts::SortKey>::KIND, )*
                }
            }
        }

        #asserts
    }
}

/// The field's doc comments, or a generated one.
pub fn field_docs(f: &Field, entity: &str) -> TokenStream {
    if f.docs.is_empty() {
        let d = format!("`{}` of the `{entity}`.", f.ident);
        quote!(#[doc = #d])
    } else {
        let docs = &f.docs;
        quote!(#(#docs)*)
    }
}

/// `New{Entity}`: an optional id and every caller-set field; never the scope field.
pub fn new_struct(m: &Model, doc: &str) -> TokenStream {
    let entity = m.ident().to_string();
    let (vis, new_ty) = (&m.item.vis, format_ident!("New{}", m.ident()));
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

/// `{Entity}Store`, an alias of the backend's generic store `store_ty`, and `Entity::store()`.
pub fn store_alias(m: &Model, store_ty: TokenStream, doc: &str) -> TokenStream {
    let (entity, vis) = (m.ident(), &m.item.vis);
    let alias = format_ident!("{}Store", entity);
    let fn_doc = format!("The tenant-scoped store of `{entity}`.");
    quote! {
        #[doc = #doc]
        #vis type #alias = #store_ty;

        impl #entity {
            #[doc = #fn_doc]
            pub const fn store() -> #alias {
                <#alias>::new()
            }
        }
    }
}
