//! The checked model every backend's expansion consumes. Built only by `validate`.

/// A validated entity.
pub struct Model {
    /// The struct as the user wrote it, minus our field attributes.
    pub item: syn::ItemStruct,
    pub fields: Vec<Field>,
    /// Index into `fields` of the scope field.
    pub scope: usize,
    pub scope_kind: ScopeKind,
    /// Index into `fields` of the id field.
    pub id: usize,
    pub version: Option<usize>,
    pub soft_delete: Option<(usize, syn::Expr)>,
    pub updated_at: Option<usize>,
    pub new_derive: Vec<syn::Path>,
    pub backend: Backend,
}

/// Backend-specific options. One variant per backend that ships.
pub enum Backend {
    Postgres(Postgres),
    Valkey(Valkey),
    OpenSearch(OpenSearch),
    Neo4j(Neo4j),
    Qdrant(Qdrant),
}

pub struct Qdrant {
    pub model: String,
    pub dims: u32,
    /// The `qdrant_client` `Distance` variant name.
    pub distance: &'static str,
}

pub struct Neo4j {
    pub label: String,
    /// Indices into `fields` of the indexed properties.
    pub indexed: Vec<usize>,
}

pub struct OpenSearch {
    pub index: String,
    /// Indices into `fields` of the full-text fields.
    pub text: Vec<usize>,
}

pub struct Postgres {
    pub schema: String,
    pub table: String,
    pub append_only: bool,
    /// Unique keys, as indices into `fields` (the scope column is prepended in SQL).
    pub uniques: Vec<Vec<usize>>,
    pub references: Vec<Reference>,
    /// Columns of older versions the next migration drops (`drop_column`).
    pub drop_columns: Vec<String>,
}

/// `on_delete = "..."` of a reference: the runtime's `OnDelete` variant it names, spanned at
/// the value.
#[derive(Debug, Clone)]
pub struct OnDelete {
    pub variant: &'static str,
    pub span: proc_macro2::Span,
}

impl OnDelete {
    pub fn is_set_null(&self) -> bool {
        self.variant == "SetNull"
    }
}

/// A field that holds the id of another entity of the same tenant.
#[derive(Clone)]
pub struct Reference {
    /// Index into `fields`.
    pub field: usize,
    /// The referenced entity type.
    pub parent: syn::Path,
    /// `on_delete = "..."`; `None`: the runtime's default for the field's type.
    pub on_delete: Option<OnDelete>,
}

pub struct Valkey {
    pub prefix: String,
    /// Default TTL in seconds.
    pub ttl: Option<u64>,
    /// Index into `fields` of the session field.
    pub session: usize,
    /// Index into `fields` of the weight field.
    pub weight: Option<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    UserId,
    OrgId,
}

pub struct Field {
    pub ident: syn::Ident,
    pub ty: syn::Type,
    /// The user's doc comments, reused on generated fields.
    pub docs: Vec<syn::Attribute>,
    pub role: Role,
    pub filter: bool,
    /// A listing can be ordered by it (`order_by`).
    pub order_by: bool,
    /// postgres: the SQL default existing rows get (`default = "..."`).
    pub default: Option<String>,
    /// postgres: the column's earlier name (`renamed_from = "..."`).
    pub renamed_from: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    Id,
    Scope,
    Version,
    CreatedAt,
    UpdatedAt,
    /// Valkey: the session an item belongs to (caller-supplied).
    Session,
    /// Valkey: the item's initial recency weight (caller-supplied).
    Weight,
    /// Supplied by the caller on create, changeable by update.
    Data,
}

impl Role {
    /// Whether the caller supplies this field (it appears in `New{Entity}`).
    pub fn caller_set(self) -> bool {
        matches!(self, Role::Data | Role::Session | Role::Weight)
    }
}

impl Model {
    pub fn ident(&self) -> &syn::Ident {
        &self.item.ident
    }

    pub fn data_fields(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.role.caller_set())
    }

    pub fn column_name(field: &Field) -> String {
        Self::column_name_of(&field.ident)
    }

    pub fn column_name_of(ident: &syn::Ident) -> String {
        ident.unraw().to_string()
    }
}

use syn::ext::IdentExt as _;
