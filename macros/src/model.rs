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
}

pub struct Postgres {
    pub table: String,
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
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    Id,
    Scope,
    Version,
    CreatedAt,
    UpdatedAt,
    /// Supplied by the caller on create, changeable by update.
    Data,
}

impl Model {
    pub fn ident(&self) -> &syn::Ident {
        &self.item.ident
    }

    pub fn data_fields(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.role == Role::Data)
    }

    pub fn column_name(field: &Field) -> String {
        Self::column_name_of(&field.ident)
    }

    pub fn column_name_of(ident: &syn::Ident) -> String {
        ident.unraw().to_string()
    }
}

use syn::ext::IdentExt as _;
