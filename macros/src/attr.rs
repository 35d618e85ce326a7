//! The attribute keys, as darling parses them. Nothing else lives here.

use darling::util::{Flag, PathList, SpannedValue};
use darling::{FromField, FromMeta};

use crate::model::OnDelete;
use crate::validate::values::{
    Backend, Dims, Distance, DropColumn, Index, Label, Model, Prefix, RenamedFrom, Schema, Scope,
    SqlDefault, Table, Token, Ttl,
};

/// `#[tenant_store(...)]` on the struct. Which backend owns each key is in
/// `validate::keys::KEYS` (a unit test keeps the two equal); values are checked by their types.
#[derive(FromMeta)]
pub struct StructArgs {
    /// Required; `Option` so the "missing" error is ours.
    pub backend: Option<SpannedValue<Backend>>,
    /// Required; `Option` for the same reason.
    pub scope: Option<SpannedValue<Scope>>,
    /// postgres: the table name.
    pub table: Option<Token<Table>>,
    /// postgres: the schema the table lives in.
    pub schema: Option<Token<Schema>>,
    /// Derives for the generated `New{Entity}`.
    pub new_derive: Option<PathList>,
    /// postgres: rows are inserted and read, never updated (no `update`/`delete`, no UPDATE grant).
    #[darling(default)]
    pub append_only: Flag,
    /// postgres: a unique key over these fields (the scope column is prepended). Repeatable.
    #[darling(multiple)]
    pub unique: Vec<PathList>,
    /// postgres: a column older versions had, which the next migration drops. Repeatable.
    #[darling(multiple)]
    pub drop_column: Vec<Token<DropColumn>>,
    /// valkey: default time to live.
    pub ttl: Option<Ttl>,
    /// valkey: key prefix.
    pub prefix: Option<Token<Prefix>>,
    /// neo4j: node label.
    pub label: Option<Token<Label>>,
    /// qdrant: embedding model.
    pub model: Option<Token<Model>>,
    /// qdrant: vector size.
    pub dims: Option<Dims>,
    /// qdrant: how vectors are compared.
    pub distance: Option<Distance>,
    /// opensearch: shared index.
    pub index: Option<Token<Index>>,
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
    /// postgres: what deleting the referenced row does to this one.
    pub on_delete: Option<OnDelete>,
    /// postgres: the SQL value existing rows get when the column is added.
    pub default: Option<SqlDefault>,
    /// postgres: the column's name in earlier versions of the entity.
    pub renamed_from: Option<Token<RenamedFrom>>,
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
    /// A listing can be ordered by this field (an index `(scope, field, id)` serves it).
    #[darling(default)]
    pub order_by: Flag,
}
