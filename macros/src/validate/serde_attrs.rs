//! The serde attributes a document entity (Valkey, OpenSearch, Neo4j, Qdrant) may carry.
//!
//! The document stores find the scope, the id and the mapped fields in the JSON by their Rust
//! names: the tenant filters, `retenant`, the OpenSearch mapping, the Neo4j properties. A serde
//! attribute that changes a name, the shape or a field's presence would make the JSON and the
//! stores disagree, silently. The worst case is a data field renamed to the scope's name: its
//! caller-set value then lands beside (and, in the parsed JSON, over) the real scope, planting the
//! record in another tenant. So only attributes that change neither names nor shape pass:
//! `default`, `bound`, `crate`, `expecting`, `deny_unknown_fields` on the struct; `default`,
//! `bound` and `skip_serializing_if` on a data field; none on the scope and id fields.

use darling::ast::NestedMeta;

use crate::model::Role;

const ON_STRUCT: &[&str] = &[
    "default",
    "bound",
    "crate",
    "expecting",
    "deny_unknown_fields",
];
const ON_DATA_FIELD: &[&str] = &["default", "bound", "skip_serializing_if"];

/// Reports every serde attribute key of `attrs` not in `allowed`, at the key.
fn check(
    attrs: &[syn::Attribute],
    allowed: &[&str],
    what: &str,
    errors: &mut darling::error::Accumulator,
) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let metas = match attr.parse_args_with(
            syn::punctuated::Punctuated::<NestedMeta, syn::Token![,]>::parse_terminated,
        ) {
            Ok(metas) => metas,
            Err(_) => continue, // serde's own derive reports malformed attributes
        };
        for meta in metas {
            let NestedMeta::Meta(meta) = meta else {
                continue;
            };
            let path = meta.path();
            let key = quote::ToTokens::to_token_stream(path).to_string();
            if !allowed.contains(&key.as_str()) {
                let allowed = if allowed.is_empty() {
                    "none".to_owned()
                } else {
                    allowed
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                errors.push(
                    darling::Error::custom(format!(
                        "`#[serde({key})]` is not supported on {what} of a document entity: the \
                         stores find fields by their Rust names, so the JSON and the tenant \
                         filters would disagree; allowed there: {allowed}"
                    ))
                    .with_span(path),
                );
            }
        }
    }
}

/// Checks the struct's and every field's serde attributes; `roles` are the fields' roles, in
/// order.
pub fn check_document(
    item: &syn::ItemStruct,
    roles: &[Role],
    errors: &mut darling::error::Accumulator,
) {
    check(&item.attrs, ON_STRUCT, "the struct", errors);
    for (field, role) in item.fields.iter().zip(roles) {
        match role {
            Role::Scope => check(&field.attrs, &[], "the scope field", errors),
            Role::Id => check(&field.attrs, &[], "the id field", errors),
            _ => check(&field.attrs, ON_DATA_FIELD, "a field", errors),
        }
    }
}
