//! The attribute keys, as darling parses them. Nothing else lives here.

use darling::util::{Flag, PathList, SpannedValue};
use darling::{FromField, FromMeta};

/// `#[tenant_store(...)]` on the struct.
#[derive(Debug, FromMeta)]
pub struct StructArgs {
    /// Required; `Option` so the "missing" error is ours.
    pub backend: Option<SpannedValue<String>>,
    /// Required; `Option` for the same reason.
    pub scope: Option<SpannedValue<String>>,
    /// postgres: the table name.
    pub table: Option<SpannedValue<String>>,
    /// postgres: the schema the table lives in.
    pub schema: Option<SpannedValue<String>>,
    /// Derives for the generated `New{Entity}`.
    pub new_derive: Option<PathList>,
    /// postgres: rows are inserted and read, never updated (no `update`/`delete`, no UPDATE grant).
    #[darling(default)]
    pub append_only: Flag,
    /// postgres: a unique key over these fields (the scope column is prepended). Repeatable.
    #[darling(multiple)]
    pub unique: Vec<PathList>,
    /// valkey: default time to live. Parsed on every backend so the error can say where it belongs.
    pub ttl: Option<SpannedValue<syn::Lit>>,
    /// valkey: key prefix.
    pub prefix: Option<SpannedValue<syn::Lit>>,
    /// neo4j: node label.
    pub label: Option<SpannedValue<syn::Lit>>,
    /// qdrant: embedding model.
    pub model: Option<SpannedValue<syn::Lit>>,
    /// qdrant: vector size.
    pub dims: Option<SpannedValue<syn::Lit>>,
    /// qdrant: how vectors are compared.
    pub distance: Option<SpannedValue<syn::Lit>>,
    /// opensearch: shared index.
    pub index: Option<SpannedValue<syn::Lit>>,
}

/// `#[tenant_store(...)]` on a field.
#[derive(Debug, FromField)]
#[darling(attributes(tenant_store))]
pub struct FieldArgs {
    pub ident: Option<syn::Ident>,
    pub ty: syn::Type,
    #[darling(default)]
    pub id: Flag,
    #[darling(default)]
    pub version: Flag,
    #[darling(default)]
    pub filter: Flag,
    #[darling(default)]
    pub created_at: Flag,
    #[darling(default)]
    pub updated_at: Flag,
    pub soft_delete: Option<syn::Expr>,
    /// postgres: the field holds the id of another entity of the same tenant.
    pub references: Option<syn::Path>,
    #[darling(default)]
    pub session: Flag,
    #[darling(default)]
    pub weight: Flag,
    /// opensearch: a full-text (`text`) field, searched by `search`.
    #[darling(default)]
    pub text: Flag,
    /// neo4j: an indexed property, with a generated `find_by_<field>`.
    #[darling(default)]
    pub indexed: Flag,
}
