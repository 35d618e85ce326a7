//! Turns the raw attribute and item into a [`Model`], collecting every error at its token.

use darling::ast::NestedMeta;
use darling::util::{Flag, SpannedValue};
use darling::{FromField, FromMeta};
use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned;

use crate::attr::{FieldArgs, StructArgs};
use crate::model::{
    Backend, Field, Model, Neo4j, OpenSearch, Postgres, Qdrant, Role, ScopeKind, Valkey,
};

const BACKENDS: [&str; 5] = ["postgres", "valkey", "neo4j", "qdrant", "opensearch"];
/// Every key `#[tenant_store(...)]` takes on the struct, across backends.
const STRUCT_KEYS: [&str; 14] = [
    "backend",
    "scope",
    "table",
    "schema",
    "new_derive",
    "append_only",
    "unique",
    "ttl",
    "prefix",
    "label",
    "model",
    "dims",
    "distance",
    "index",
];

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

    let mut key_errors = Vec::new();
    let parsed = NestedMeta::parse_meta_list(attr)
        .map_err(darling::Error::from)
        .and_then(|metas| {
            // Unknown keys are reported here, listing the allowed ones, and left out of darling's parse.
            let (known, unknown): (Vec<_>, Vec<_>) = metas.into_iter().partition(|m| match m {
                NestedMeta::Meta(meta) => meta
                    .path()
                    .get_ident()
                    .is_some_and(|i| STRUCT_KEYS.contains(&i.to_string().as_str())),
                NestedMeta::Lit(_) => true,
            });
            for m in &unknown {
                let NestedMeta::Meta(meta) = m else { continue };
                let key = quote::ToTokens::to_token_stream(meta.path()).to_string();
                let closest = STRUCT_KEYS
                    .iter()
                    .map(|k| (strsim::jaro_winkler(k, &key), *k))
                    .max_by(|a, b| a.0.total_cmp(&b.0))
                    .filter(|(similarity, _)| *similarity >= 0.8)
                    .map(|(_, k)| format!("; did you mean `{k}`?"))
                    .unwrap_or_default();
                let allowed = STRUCT_KEYS
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                key_errors.push(
                    darling::Error::custom(format!(
                        "unknown key `{key}`; expected one of {allowed}{closest}"
                    ))
                    .with_span(meta.path()),
                );
            }
            StructArgs::from_list(&known)
        });
    for e in key_errors {
        errors.push(e);
    }
    let args = errors.handle(parsed);

    if !item.generics.params.is_empty() {
        errors.push(
            darling::Error::custom("generic entities are not supported; use a concrete struct")
                .with_span(&item.generics),
        );
    }
    let named = match &item.fields {
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
    };

    let field_args: Vec<FieldArgs> = if named {
        item.fields
            .iter()
            .filter_map(|f| errors.handle(FieldArgs::from_field(f)))
            .collect()
    } else {
        Vec::new()
    };
    // Our field attributes must not reach the compiler: nothing else registers them.
    for f in item.fields.iter_mut() {
        f.attrs.retain(|a| !a.path().is_ident("tenant_store"));
    }

    let Some(args) = args else {
        return Err((
            errors.finish().expect_err("an error was recorded"),
            Some(Box::new(item)),
        ));
    };
    if field_args.len() != item.fields.len() {
        return Err((
            errors.finish().expect_err("an error was recorded"),
            Some(Box::new(item)),
        ));
    }

    let backend_name = match &args.backend {
        None => {
            errors.push(darling::Error::custom(
                "missing `backend`; expected `backend = \"postgres\"` (one of `postgres`, `valkey`, `neo4j`, `qdrant`, `opensearch`)",
            ).with_span(&Span::call_site()));
            None
        }
        Some(b) => check_backend(b).map_err(|e| errors.push(e)).ok(),
    };
    let scope_kind = match &args.scope {
        None => {
            errors.push(
                darling::Error::custom(
                    "missing `scope`; expected `scope = \"user_id\"` or `scope = \"org_id\"`",
                )
                .with_span(&Span::call_site()),
            );
            None
        }
        Some(s) => match s.as_str() {
            "user_id" => Some(ScopeKind::UserId),
            "org_id" => Some(ScopeKind::OrgId),
            other => {
                errors.push(
                    darling::Error::custom(format!(
                        "unknown scope `{other}`; expected `user_id` or `org_id`"
                    ))
                    .with_span(&s.span()),
                );
                None
            }
        },
    };

    // Keys that belong to other backends.
    if let Some(backend) = backend_name {
        let keys: [(&str, &str, Option<Span>); 8] = [
            ("table", "postgres", args.table.as_ref().map(|v| v.span())),
            ("schema", "postgres", args.schema.as_ref().map(|v| v.span())),
            ("ttl", "valkey", args.ttl.as_ref().map(|v| v.span())),
            ("prefix", "valkey", args.prefix.as_ref().map(|v| v.span())),
            ("label", "neo4j", args.label.as_ref().map(|v| v.span())),
            ("model", "qdrant", args.model.as_ref().map(|v| v.span())),
            ("dims", "qdrant", args.dims.as_ref().map(|v| v.span())),
            (
                "distance",
                "qdrant",
                args.distance.as_ref().map(|v| v.span()),
            ),
        ];
        let index = ("index", "opensearch", args.index.as_ref().map(|v| v.span()));
        for (key, owner, span) in keys.into_iter().chain([index]) {
            if let Some(span) = span
                && owner != backend
            {
                errors.push(key_elsewhere(key, backend, owner).with_span(&span));
            }
        }
    }

    let postgres = backend_name == Some("postgres");
    let valkey = backend_name == Some("valkey");

    let table = match &args.table {
        Some(t) => {
            if let Err(e) = check_identifier("table", t) {
                errors.push(e);
            }
            t.as_str().to_owned()
        }
        None => snake_case(&item.ident.to_string()),
    };
    let schema = match &args.schema {
        Some(s) => {
            if let Err(e) = check_identifier("schema", s) {
                errors.push(e);
            }
            s.as_str().to_owned()
        }
        None => "public".to_owned(),
    };
    let prefix = match &args.prefix {
        Some(p) if valkey => errors.handle(check_token(p, &PREFIX)).unwrap_or_default(),
        _ => snake_case(&item.ident.to_string()),
    };
    let opensearch = backend_name == Some("opensearch");
    let index = match &args.index {
        Some(i) if opensearch => errors.handle(check_token(i, &INDEX)).unwrap_or_default(),
        _ => snake_case(&item.ident.to_string()),
    };
    let neo4j = backend_name == Some("neo4j");
    let label = match &args.label {
        Some(l) if neo4j => errors.handle(check_token(l, &LABEL)).unwrap_or_default(),
        _ => snake_case(&item.ident.to_string()).to_ascii_uppercase(),
    };
    let qdrant = (backend_name == Some("qdrant")).then(|| {
        let model = match &args.model {
            Some(m) => errors.handle(check_token(m, &MODEL)),
            None => {
                errors.push(
                    darling::Error::custom(
                        "missing `model`; a qdrant entity names its embedding model, e.g. `model = \"minilm\"` (collection `embeddings_minilm`)",
                    )
                    .with_span(&Span::call_site()),
                );
                None
            }
        };
        let dims = match &args.dims {
            Some(d) => errors.handle(check_dims(d)),
            None => {
                errors.push(
                    darling::Error::custom(
                        "missing `dims`; a qdrant entity gives its vector size, e.g. `dims = 384`",
                    )
                    .with_span(&Span::call_site()),
                );
                None
            }
        };
        let distance = match &args.distance {
            Some(d) => errors.handle(check_distance(d)),
            None => Some("Cosine"),
        };
        (model, dims, distance)
    });
    let ttl = match &args.ttl {
        Some(t) if valkey => errors.handle(check_ttl(t)),
        _ => None,
    };

    // Fields and their roles.
    let scope_name = scope_kind.map(|k| match k {
        ScopeKind::UserId => "user_id",
        ScopeKind::OrgId => "org_id",
    });
    let mut fields = Vec::new();
    // The field already holding each role, for the "duplicate" errors.
    let mut holder: Vec<(Role, String)> = Vec::new();
    let mut soft_delete = None;
    let mut references = Vec::new();
    let mut text_fields = Vec::new();
    let mut indexed = Vec::new();
    for (i, (f, a)) in item.fields.iter().zip(&field_args).enumerate() {
        let ident = a.ident.clone().expect("named fields have identifiers");
        let name = Model::column_name_of(&ident);
        // (key, flag, role, the backend it belongs to; `None`: every backend)
        let flags: [(&'static str, &Flag, Role, Option<&str>); 6] = [
            ("id", &a.id, Role::Id, None),
            ("version", &a.version, Role::Version, Some("postgres")),
            (
                "created_at",
                &a.created_at,
                Role::CreatedAt,
                Some("postgres"),
            ),
            (
                "updated_at",
                &a.updated_at,
                Role::UpdatedAt,
                Some("postgres"),
            ),
            ("session", &a.session, Role::Session, Some("valkey")),
            ("weight", &a.weight, Role::Weight, Some("valkey")),
        ];
        let mut role = if Some(name.as_str()) == scope_name {
            Role::Scope
        } else {
            Role::Data
        };
        let mut role_key: Option<&str> = None;
        for (key, flag, r, owner) in flags {
            if !flag.is_present() {
                continue;
            }
            if let (Some(owner), Some(backend)) = (owner, backend_name)
                && owner != backend
            {
                errors.push(key_elsewhere(key, backend, owner).with_span(&flag.span()));
                continue;
            }
            if role == Role::Scope {
                errors.push(darling::Error::custom(format!(
                    "the scope field `{name}` is filled from the principal; it cannot also be `{key}`"
                )).with_span(&flag.span()));
                continue;
            }
            if let Some(prev) = role_key {
                errors.push(
                    darling::Error::custom(format!(
                        "field `{name}` is already `{prev}`; it cannot also be `{key}`"
                    ))
                    .with_span(&flag.span()),
                );
                continue;
            }
            if let Some((_, other)) = holder.iter().find(|(held, _)| *held == r) {
                errors.push(
                    darling::Error::custom(format!(
                        "duplicate `{key}` field: `{other}` is already the `{key}` field"
                    ))
                    .with_span(&flag.span()),
                );
                continue;
            }
            holder.push((r, name.clone()));
            role = r;
            role_key = Some(key);
        }
        if let Some(expr) = &a.soft_delete {
            if let Some(backend) = backend_name.filter(|b| *b != "postgres") {
                errors.push(key_elsewhere("soft_delete", backend, "postgres").with_span(expr));
            } else if role != Role::Data {
                errors.push(darling::Error::custom(format!(
                    "`soft_delete` marks a state field the caller sets; `{name}` is managed by tenant-store"
                )).with_span(expr));
            } else if let Some((j, _)) = &soft_delete {
                let other: &Field = &fields[*j];
                errors.push(
                    darling::Error::custom(format!(
                        "duplicate `soft_delete` field: `{}` is already the `soft_delete` field",
                        other.ident
                    ))
                    .with_span(expr),
                );
            } else {
                soft_delete = Some((i, expr.clone()));
            }
        }
        if a.filter.is_present() {
            if let Some(backend) = backend_name.filter(|b| *b != "postgres") {
                errors
                    .push(key_elsewhere("filter", backend, "postgres").with_span(&a.filter.span()));
            } else if role != Role::Data {
                let what = if role == Role::Scope {
                    "every query is already filtered by the scope field".to_owned()
                } else {
                    format!("`{name}` is managed by tenant-store")
                };
                errors.push(
                    darling::Error::custom(format!("`filter` applies to data fields; {what}"))
                        .with_span(&a.filter.span()),
                );
            }
        }
        if a.text.is_present() {
            if let Some(backend) = backend_name.filter(|b| *b != "opensearch") {
                errors.push(key_elsewhere("text", backend, "opensearch").with_span(&a.text.span()));
            } else if role != Role::Data {
                errors.push(
                    darling::Error::custom(format!(
                        "`text` marks a full-text data field; `{name}` is managed by tenant-store"
                    ))
                    .with_span(&a.text.span()),
                );
            } else {
                text_fields.push(i);
            }
        }
        if a.indexed.is_present() {
            if let Some(backend) = backend_name.filter(|b| *b != "neo4j") {
                errors
                    .push(key_elsewhere("indexed", backend, "neo4j").with_span(&a.indexed.span()));
            } else if role != Role::Data {
                errors.push(
                    darling::Error::custom(format!(
                        "`indexed` marks a data property; `{name}` is indexed already"
                    ))
                    .with_span(&a.indexed.span()),
                );
            } else {
                indexed.push(i);
            }
        }
        if let Some(path) = &a.references {
            if let Some(backend) = backend_name.filter(|b| *b != "postgres") {
                errors.push(key_elsewhere("references", backend, "postgres").with_span(path));
            } else if role != Role::Data {
                errors.push(
                    darling::Error::custom(format!(
                        "`references` applies to data fields; `{name}` is managed by tenant-store"
                    ))
                    .with_span(path),
                );
            } else {
                references.push((i, path.clone()));
            }
        }
        fields.push(Field {
            ident,
            ty: a.ty.clone(),
            docs: f
                .attrs
                .iter()
                .filter(|a| a.path().is_ident("doc"))
                .cloned()
                .collect(),
            role,
            filter: a.filter.is_present() && role == Role::Data && postgres,
        });
    }

    let scope = match (&args.scope, scope_name) {
        (Some(lit), Some(name)) if named => match fields.iter().position(|f| f.role == Role::Scope)
        {
            Some(i) => Some(i),
            None => {
                errors.push(
                    darling::Error::custom(format!(
                        "scope `{name}` names no field of `{}`; add `pub {name}: Uuid`",
                        item.ident
                    ))
                    .with_span(&lit.span()),
                );
                None
            }
        },
        _ => None,
    };
    let position = |role| fields.iter().position(|f: &Field| f.role == role);
    let id = position(Role::Id);
    if id.is_none() && named {
        errors.push(
            darling::Error::custom(
                "no `id` field; mark the primary key with `#[tenant_store(id)]`",
            )
            .with_span(&item.ident),
        );
    }
    let session = position(Role::Session);
    if valkey && session.is_none() && named {
        errors.push(
            darling::Error::custom(
                "no `session` field; a valkey entity marks its session id with `#[tenant_store(session)]`",
            )
            .with_span(&item.ident),
        );
    }
    let (version, updated_at) = (position(Role::Version), position(Role::UpdatedAt));

    let append_only = args.append_only.is_present();
    if append_only {
        if let Some(backend) = backend_name.filter(|b| *b != "postgres") {
            errors.push(
                key_elsewhere("append_only", backend, "postgres")
                    .with_span(&args.append_only.span()),
            );
        } else {
            if let Some(v) = version {
                errors.push(
                    darling::Error::custom(
                        "append-only entities are never updated; remove `version`",
                    )
                    .with_span(&field_args[v].version.span()),
                );
            }
            if let Some((_, expr)) = &soft_delete {
                errors.push(
                    darling::Error::custom(
                        "append-only entities are never soft-deleted; remove `soft_delete`",
                    )
                    .with_span(expr),
                );
            }
            if let Some(u) = updated_at {
                errors.push(
                    darling::Error::custom(
                        "append-only entities are never updated; remove `updated_at`",
                    )
                    .with_span(&field_args[u].updated_at.span()),
                );
            }
        }
    }
    let mut uniques = Vec::new();
    for list in &args.unique {
        if let Some(backend) = backend_name.filter(|b| *b != "postgres") {
            if let Some(first) = list.first() {
                errors.push(key_elsewhere("unique", backend, "postgres").with_span(first));
            }
            continue;
        }
        if list.is_empty() {
            errors.push(
                darling::Error::custom("`unique` needs at least one field, e.g. `unique(email)`")
                    .with_span(&Span::call_site()),
            );
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

    let backend = match backend_name {
        Some("postgres") => Some(Backend::Postgres(Postgres {
            schema,
            table,
            append_only,
            uniques,
            references,
        })),
        Some("opensearch") => Some(Backend::OpenSearch(OpenSearch {
            index,
            text: text_fields,
        })),
        Some("neo4j") => Some(Backend::Neo4j(Neo4j { label, indexed })),
        Some("qdrant") => match qdrant {
            Some((Some(model), Some(dims), Some(distance))) => Some(Backend::Qdrant(Qdrant {
                model,
                dims,
                distance,
            })),
            _ => None,
        },
        Some("valkey") => session.map(|session| {
            Backend::Valkey(Valkey {
                prefix,
                ttl,
                session,
                weight: position(Role::Weight),
            })
        }),
        _ => None,
    };

    let result = errors.finish();
    match (result, scope, scope_kind, id, backend) {
        (Ok(()), Some(scope), Some(scope_kind), Some(id), Some(backend)) => Ok(Model {
            item,
            fields,
            scope,
            scope_kind,
            id,
            version,
            soft_delete,
            updated_at,
            new_derive: args.new_derive.map(|p| p.to_vec()).unwrap_or_default(),
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

fn key_elsewhere(key: &str, backend: &str, owner: &str) -> darling::Error {
    darling::Error::custom(format!(
        "`{key}` does not apply to backend `{backend}`; only `{owner}` takes it"
    ))
}

/// A string key whose value is spliced into keys, URLs or query text, so only a plain token passes.
struct Token {
    key: &'static str,
    example: &'static str,
    max: usize,
    first: fn(char) -> bool,
    rest: fn(char) -> bool,
    /// What the message says is allowed.
    allowed: &'static str,
}

fn lower_token(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'
}

/// Valkey key prefixes start every key: a plain token keeps the layout unambiguous.
const PREFIX: Token = Token {
    key: "prefix",
    example: "episodic",
    max: 64,
    first: lower_token,
    rest: lower_token,
    allowed: "`a-z`, `0-9`, `_` and `-`",
};

/// OpenSearch index names become URL segments and alias prefixes.
const INDEX: Token = Token {
    key: "index",
    example: "search",
    max: 100,
    first: |c| c.is_ascii_lowercase() || c.is_ascii_digit(),
    rest: lower_token,
    allowed: "`a-z`, `0-9`, `_` and `-`, starting with a letter or digit",
};

/// Neo4j labels are spliced into Cypher text: an upper-case identifier cannot break out of it.
const LABEL: Token = Token {
    key: "label",
    example: "CODE_SYMBOL",
    max: 64,
    first: |c| c.is_ascii_uppercase(),
    rest: |c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_',
    allowed: "`A-Z`, `0-9` and `_`, starting with a letter",
};

fn check_token(lit: &SpannedValue<syn::Lit>, t: &Token) -> darling::Result<String> {
    let syn::Lit::Str(s) = &**lit else {
        return Err(darling::Error::custom(format!(
            "`{}` must be a string, e.g. `{} = \"{}\"`",
            t.key, t.key, t.example
        ))
        .with_span(&lit.span()));
    };
    let v = s.value();
    if !v.is_empty() && v.len() <= t.max && v.starts_with(t.first) && v.chars().all(t.rest) {
        Ok(v)
    } else {
        Err(darling::Error::custom(format!(
            "invalid `{}` `{v}`; expected 1 to {} characters of {}",
            t.key, t.max, t.allowed
        ))
        .with_span(&lit.span()))
    }
}

/// Qdrant collection names are `embeddings_{model}`.
const MODEL: Token = Token {
    key: "model",
    example: "minilm",
    max: 64,
    first: |c| c.is_ascii_lowercase() || c.is_ascii_digit(),
    rest: lower_token,
    allowed: "`a-z`, `0-9`, `_` and `-`, starting with a letter or digit",
};

/// Qdrant's limit on a dense vector's size.
const MAX_DIMS: u32 = 65_536;

fn check_dims(d: &SpannedValue<syn::Lit>) -> darling::Result<u32> {
    let message = format!(
        "`dims` must be the vector size, an integer from 1 to {MAX_DIMS}, e.g. `dims = 384`"
    );
    match &**d {
        syn::Lit::Int(i) => match i.base10_parse::<u32>() {
            Ok(n) if (1..=MAX_DIMS).contains(&n) => Ok(n),
            _ => Err(darling::Error::custom(message).with_span(&d.span())),
        },
        _ => Err(darling::Error::custom(message).with_span(&d.span())),
    }
}

fn check_distance(d: &SpannedValue<syn::Lit>) -> darling::Result<&'static str> {
    const DISTANCES: [(&str, &str); 4] = [
        ("cosine", "Cosine"),
        ("dot", "Dot"),
        ("euclid", "Euclid"),
        ("manhattan", "Manhattan"),
    ];
    let found = match &**d {
        syn::Lit::Str(s) => DISTANCES.iter().find(|(k, _)| *k == s.value()),
        _ => None,
    };
    found.map(|(_, variant)| *variant).ok_or_else(|| {
        darling::Error::custom(
            "`distance` must be one of `\"cosine\"`, `\"dot\"`, `\"euclid\"`, `\"manhattan\"`",
        )
        .with_span(&d.span())
    })
}

fn check_ttl(t: &SpannedValue<syn::Lit>) -> darling::Result<u64> {
    match &**t {
        syn::Lit::Int(i) => match i.base10_parse::<u64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(
                darling::Error::custom("`ttl` must be a positive number of seconds")
                    .with_span(&t.span()),
            ),
        },
        _ => Err(darling::Error::custom(
            "`ttl` must be a positive number of seconds, e.g. `ttl = 3600`",
        )
        .with_span(&t.span())),
    }
}

fn check_backend(b: &SpannedValue<String>) -> darling::Result<&'static str> {
    if let Some(known) = BACKENDS.iter().find(|s| **s == b.as_str()) {
        return Ok(known);
    }
    let msg = {
        let closest = BACKENDS
            .iter()
            .map(|c| (strsim::levenshtein(c, &b.to_lowercase()), *c))
            .min()
            .filter(|(d, _)| *d <= 3)
            .map(|(_, c)| format!("; did you mean `{c}`?"))
            .unwrap_or_default();
        format!(
            "unknown backend `{}`; expected one of `postgres`, `valkey`, `neo4j`, `qdrant`, `opensearch`{closest}",
            b.as_str()
        )
    };
    Err(darling::Error::custom(msg).with_span(&b.span()))
}

/// Table names are spliced into SQL (quoted), so only plain lowercase identifiers pass.
fn check_identifier(key: &str, t: &SpannedValue<String>) -> darling::Result<()> {
    let s = t.as_str();
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(darling::Error::custom(format!(
            "invalid `{key}` name `{s}`; expected 1 to 63 characters of `a-z`, `0-9` and `_`, not starting with a digit"
        ))
        .with_span(&t.span()))
    }
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

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn snake_case_splits_words() {
        assert_eq!(snake_case("Memory"), "memory");
        assert_eq!(snake_case("FeedbackEvent"), "feedback_event");
    }
}
