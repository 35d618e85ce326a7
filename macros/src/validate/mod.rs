//! Turns the raw attribute and item into a [`Model`], collecting every error at its token.
//!
//! Split by rule, as serde's `check.rs` is:
//! - `keys`: the one table of attribute keys; screens the keys (unknown, another backend's)
//!   before darling parses them, so each mistake is reported once;
//! - `values`: darling `FromMeta` types that check each struct key's value;
//! - `fields`: the roles of the fields and the data-field keys;
//! - `serde_attrs`: the serde attributes a document entity may carry (names must stay the Rust names);
//! - this file: the item's shape, the keys a backend requires, the rules across keys
//!   (`append_only`, `unique`), and the [`Model`] built from it all.

mod fields;
pub mod keys;
mod serde_attrs;
pub mod values;

use darling::ast::NestedMeta;
use darling::{FromField, FromMeta};
use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned;

use crate::attr::{FieldArgs, StructArgs};
use crate::model::{
    Backend, Field, Model, Neo4j, OpenSearch, Postgres, Qdrant, Role, ScopeKind, Valkey,
};
use keys::{BackendKind, Place};

/// Parses and checks. On failure returns the errors and, when the item was a struct, that
/// struct with our attributes removed so the caller can still emit it (no knock-on errors).
pub fn validate(
    attr: TokenStream,
    item: TokenStream,
) -> Result<Model, (darling::Error, Option<Box<syn::ItemStruct>>)> {
    let mut item = match syn::parse2::<syn::Item>(item) {
        Ok(syn::Item::Struct(s)) => s,
        Ok(other) => return Err((unsupported_item(&other), None)),
        Err(e) => return Err((e.into(), None)),
    };
    let mut errors = darling::Error::accumulator();

    let metas = errors
        .handle(NestedMeta::parse_meta_list(attr).map_err(darling::Error::from))
        .unwrap_or_default();
    // The backend and scope as far as they are valid, for the checks that need them even when
    // another key's error fails the whole parse.
    let backend = keys::peek::<values::Backend>(&metas, "backend").map(|b| b.0);
    let scope_kind = keys::peek::<values::Scope>(&metas, "scope").map(|s| s.0);
    let metas = keys::screen(metas, Place::Struct, backend, &mut errors);
    let parsed = StructArgs::from_list(&metas);
    let args = errors.handle(parsed);
    let named = check_shape(&item, &mut errors);
    let field_args = field_args(&mut item, named, backend, &mut errors);
    let scope_name = scope_kind.map(|k| match k {
        ScopeKind::UserId => "user_id",
        ScopeKind::OrgId => "org_id",
    });
    let f = fields::check(&item, &field_args, scope_name, &mut errors);
    let scope = match scope_name {
        Some(name) if named => scope_field(&item, &f, name, args.as_ref(), &mut errors),
        _ => None,
    };
    let id = f.position(Role::Id);
    if id.is_none() && named {
        errors.push(
            darling::Error::custom(
                "no `id` field; mark the primary key with `#[tenant_store(id)]`",
            )
            .with_span(&item.ident),
        );
    }
    let (Some(args), true) = (args, field_args.len() == item.fields.len()) else {
        return Err((
            errors.finish().expect_err("an error was recorded"),
            Some(Box::new(item)),
        ));
    };
    required_keys(&args, &mut errors);
    if backend.is_some_and(BackendKind::is_document) {
        let roles: Vec<Role> = f.fields.iter().map(|f| f.role).collect();
        serde_attrs::check_document(&item, &roles, &mut errors);
    }
    let (version, updated_at) = (f.position(Role::Version), f.position(Role::UpdatedAt));
    let new_derive = args
        .new_derive
        .as_ref()
        .map(|p| p.to_vec())
        .unwrap_or_default();
    let backend =
        backend.and_then(|kind| backend_model(kind, args, &item, &field_args, &f, &mut errors));

    let result = errors.finish();
    match (result, scope, scope_kind, id, backend) {
        (Ok(()), Some(scope), Some(scope_kind), Some(id), Some(backend)) => Ok(Model {
            item,
            fields: f.fields,
            scope,
            scope_kind,
            id,
            version,
            soft_delete: f.soft_delete,
            updated_at,
            new_derive,
            backend,
        }),
        (Err(e), ..) => Err((e, Some(Box::new(item)))),
        // Every `None` above pushed an error, so `errors.finish()` was `Err`.
        _ => Err((
            darling::Error::custom("invalid `tenant_store` attribute"),
            Some(Box::new(item)),
        )),
    }
}

/// Each field's keys, screened and parsed (none when the struct has no named fields); our
/// field attributes are then removed from the item: nothing else registers them, so they must
/// not reach the compiler.
fn field_args(
    item: &mut syn::ItemStruct,
    named: bool,
    backend: Option<BackendKind>,
    errors: &mut darling::error::Accumulator,
) -> Vec<FieldArgs> {
    let parsed = match named {
        true => item
            .fields
            .iter()
            .filter_map(|f| {
                let parsed = screened_field(f, backend, errors);
                errors.handle(parsed)
            })
            .collect(),
        false => Vec::new(),
    };
    for f in item.fields.iter_mut() {
        f.attrs.retain(|a| !a.path().is_ident("tenant_store"));
    }
    parsed
}

/// The field the scope names (`user_id` or `org_id`), or an error at the `scope` key.
fn scope_field(
    item: &syn::ItemStruct,
    f: &fields::Fields,
    name: &str,
    args: Option<&StructArgs>,
    errors: &mut darling::error::Accumulator,
) -> Option<usize> {
    let found = f.position(Role::Scope);
    if found.is_none() {
        let at = args
            .and_then(|a| a.scope.as_ref())
            .map_or_else(Span::call_site, |s| s.span());
        errors.push(
            darling::Error::custom(format!(
                "scope `{name}` names no field of `{}`; add `pub {name}: Uuid`",
                item.ident
            ))
            .with_span(&at),
        );
    }
    found
}

/// `backend` and `scope`, which every entity needs.
fn required_keys(args: &StructArgs, errors: &mut darling::error::Accumulator) {
    if args.backend.is_none() {
        errors.push(missing(format!(
            "missing `backend`; expected `backend = \"postgres\"` (one of {})",
            BackendKind::listed()
        )));
    }
    if args.scope.is_none() {
        errors.push(missing(
            "missing `scope`; expected `scope = \"user_id\"` or `scope = \"org_id\"`".into(),
        ));
    }
}

/// The backend's part of the model, with the keys it requires; `None` after an error.
fn backend_model(
    kind: BackendKind,
    args: StructArgs,
    item: &syn::ItemStruct,
    field_args: &[FieldArgs],
    f: &fields::Fields,
    errors: &mut darling::error::Accumulator,
) -> Option<Backend> {
    let default_name = snake_case(&item.ident.to_string());
    match kind {
        BackendKind::Postgres => Some(postgres(args, item, field_args, f, default_name, errors)),
        BackendKind::Valkey => valkey(args, item, f, default_name, errors),
        BackendKind::OpenSearch => Some(Backend::OpenSearch(OpenSearch {
            index: args.index.map_or(default_name, |i| i.0),
            text: f.text.clone(),
        })),
        BackendKind::Neo4j => Some(Backend::Neo4j(Neo4j {
            label: args
                .label
                .map_or_else(|| default_name.to_ascii_uppercase(), |l| l.0),
            indexed: f.indexed.clone(),
        })),
        BackendKind::Qdrant => qdrant(args, errors),
    }
}

fn postgres(
    args: StructArgs,
    item: &syn::ItemStruct,
    field_args: &[FieldArgs],
    f: &fields::Fields,
    default_name: String,
    errors: &mut darling::error::Accumulator,
) -> Backend {
    check_append_only(&args, field_args, f, errors);
    let uniques = uniques(&args, item, &f.fields, errors);
    let drop_columns = drop_columns(&args, &f.fields, errors);
    Backend::Postgres(Postgres {
        schema: args.schema.map_or_else(|| "public".to_owned(), |s| s.0),
        table: args.table.map_or(default_name, |t| t.0),
        append_only: args.append_only.is_present(),
        uniques,
        references: f.references.clone(),
        drop_columns,
    })
}

fn valkey(
    args: StructArgs,
    item: &syn::ItemStruct,
    f: &fields::Fields,
    default_name: String,
    errors: &mut darling::error::Accumulator,
) -> Option<Backend> {
    let session = f.position(Role::Session);
    if session.is_none() {
        errors.push(
            darling::Error::custom(
                "no `session` field; a valkey entity marks its session id with `#[tenant_store(session)]`",
            )
            .with_span(&item.ident),
        );
    }
    session.map(|session| {
        Backend::Valkey(Valkey {
            prefix: args.prefix.map_or(default_name, |p| p.0),
            ttl: args.ttl.map(|t| t.0),
            session,
            weight: f.position(Role::Weight),
        })
    })
}

fn qdrant(args: StructArgs, errors: &mut darling::error::Accumulator) -> Option<Backend> {
    if args.model.is_none() {
        errors.push(missing(
            "missing `model`; a qdrant entity names its embedding model, e.g. `model = \"minilm\"` (collection `embeddings_minilm`)".into(),
        ));
    }
    if args.dims.is_none() {
        errors.push(missing(
            "missing `dims`; a qdrant entity gives its vector size, e.g. `dims = 384`".into(),
        ));
    }
    match (args.model, args.dims) {
        (Some(model), Some(dims)) => Some(Backend::Qdrant(Qdrant {
            model: model.0,
            dims: dims.0,
            distance: args.distance.map_or("Cosine", |d| d.0),
        })),
        _ => None,
    }
}

/// An error about the attribute as a whole (a missing key), at the call site.
fn missing(message: String) -> darling::Error {
    darling::Error::custom(message).with_span(&Span::call_site())
}

/// Whether the struct has named fields (the only shape an entity can have); errors otherwise,
/// and for generics.
fn check_shape(item: &syn::ItemStruct, errors: &mut darling::error::Accumulator) -> bool {
    if !item.generics.params.is_empty() {
        errors.push(
            darling::Error::custom("generic entities are not supported; use a concrete struct")
                .with_span(&item.generics),
        );
    }
    match &item.fields {
        syn::Fields::Named(_) => true,
        syn::Fields::Unnamed(f) => {
            errors.push(
                darling::Error::custom("tuple structs are not supported; name the fields")
                    .with_span(f),
            );
            false
        }
        syn::Fields::Unit => {
            errors.push(
                darling::Error::custom("unit structs are not supported; an entity needs fields")
                    .with_span(&item.ident),
            );
            false
        }
    }
}

/// The field's keys, screened like the struct's (unknown keys, another backend's), then parsed.
fn screened_field(
    field: &syn::Field,
    backend: Option<BackendKind>,
    errors: &mut darling::error::Accumulator,
) -> darling::Result<FieldArgs> {
    let mut field = field.clone();
    for attr in field
        .attrs
        .iter_mut()
        .filter(|a| a.path().is_ident("tenant_store"))
    {
        let metas = attr
            .parse_args_with(
                syn::punctuated::Punctuated::<NestedMeta, syn::Token![,]>::parse_terminated,
            )
            .map_err(darling::Error::from)?;
        let kept = keys::screen(metas.into_iter().collect(), Place::Field, backend, errors);
        *attr = syn::parse_quote_spanned!(attr.span()=> #[tenant_store(#(#kept),*)]);
    }
    FieldArgs::from_field(&field)
}

/// `append_only` entities are never updated nor deleted: no `version`, `soft_delete` or
/// `updated_at`.
fn check_append_only(
    args: &StructArgs,
    field_args: &[FieldArgs],
    f: &fields::Fields,
    errors: &mut darling::error::Accumulator,
) {
    if !args.append_only.is_present() {
        return;
    }
    if let Some(v) = f.position(Role::Version) {
        errors.push(
            darling::Error::custom("append-only entities are never updated; remove `version`")
                .with_span(&field_args[v].version.span()),
        );
    }
    if let Some((_, expr)) = &f.soft_delete {
        errors.push(
            darling::Error::custom(
                "append-only entities are never soft-deleted; remove `soft_delete`",
            )
            .with_span(expr),
        );
    }
    if let Some(u) = f.position(Role::UpdatedAt) {
        errors.push(
            darling::Error::custom("append-only entities are never updated; remove `updated_at`")
                .with_span(&field_args[u].updated_at.span()),
        );
    }
}

/// The `unique(...)` keys, as indices into `fields`: at least one field each, every one a field
/// of the struct, never the scope (which leads every key anyway).
fn uniques(
    args: &StructArgs,
    item: &syn::ItemStruct,
    fields: &[crate::model::Field],
    errors: &mut darling::error::Accumulator,
) -> Vec<Vec<usize>> {
    let mut uniques = Vec::new();
    for list in &args.unique {
        if list.is_empty() {
            errors.push(missing(
                "`unique` needs at least one field, e.g. `unique(email)`".into(),
            ));
            continue;
        }
        let mut key = Vec::new();
        for path in list.iter() {
            let found = path
                .get_ident()
                .and_then(|id| fields.iter().position(|f| f.ident == *id));
            match found {
                Some(i) if fields[i].role == Role::Scope => errors.push(
                    darling::Error::custom(
                        "the scope column already leads every unique key; leave it out",
                    )
                    .with_span(path),
                ),
                Some(i) => key.push(i),
                None => errors.push(
                    darling::Error::custom(format!(
                        "`unique` names no field `{}` of `{}`",
                        quote::ToTokens::to_token_stream(path),
                        item.ident
                    ))
                    .with_span(path),
                ),
            }
        }
        uniques.push(key);
    }
    uniques
}

fn unsupported_item(item: &syn::Item) -> darling::Error {
    let (what, span) = match item {
        syn::Item::Enum(e) => ("enums", e.enum_token.span),
        syn::Item::Union(u) => ("unions", u.union_token.span),
        syn::Item::Fn(f) => ("functions", f.sig.fn_token.span),
        other => ("this item", other.span()),
    };
    darling::Error::custom(format!(
        "`#[tenant_store]` applies to structs with named fields; {what} are not supported"
    ))
    .with_span(&span)
}

fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The `drop_column` names: each one a column the entity no longer has.
fn drop_columns(
    args: &StructArgs,
    fields: &[Field],
    errors: &mut darling::error::Accumulator,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for d in &args.drop_column {
        if fields.iter().any(|f| Model::column_name(f) == d.0) {
            errors.push(darling::Error::custom(format!(
                "`drop_column = \"{}\"` names a field the entity still has; remove the field, or the key",
                d.0
            )));
        } else if !out.contains(&d.0) {
            out.push(d.0.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn snake_case_splits_words() {
        assert_eq!(snake_case("Memory"), "memory");
        assert_eq!(snake_case("FeedbackEvent"), "feedback_event");
    }
}
