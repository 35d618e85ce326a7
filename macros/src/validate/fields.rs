//! The field rules: which role each field plays (id, scope, version, ...), at most one field per
//! role, one role per field, and the data-field keys (`filter`, `text`, `indexed`, `references`,
//! `soft_delete`) only on fields the caller sets. Which backend takes a key was checked before
//! (`keys::screen`), so nothing here looks at the backend.

use darling::util::Flag;

use crate::attr::FieldArgs;
use crate::model::{Field, Model, Reference, Role};

/// What the field rules produce, as indices into `fields`.
#[derive(Default)]
pub struct Fields {
    pub fields: Vec<Field>,
    pub soft_delete: Option<(usize, syn::Expr)>,
    pub references: Vec<Reference>,
    pub text: Vec<usize>,
    pub indexed: Vec<usize>,
}

impl Fields {
    pub fn position(&self, role: Role) -> Option<usize> {
        self.fields.iter().position(|f| f.role == role)
    }
}

/// The role keys: each names a role at most one field holds.
fn role_keys(a: &FieldArgs) -> [(&'static str, &Flag, Role); 6] {
    [
        ("id", &a.id, Role::Id),
        ("version", &a.version, Role::Version),
        ("created_at", &a.created_at, Role::CreatedAt),
        ("updated_at", &a.updated_at, Role::UpdatedAt),
        ("session", &a.session, Role::Session),
        ("weight", &a.weight, Role::Weight),
    ]
}

pub fn check(
    item: &syn::ItemStruct,
    args: &[FieldArgs],
    scope_name: Option<&str>,
    errors: &mut darling::error::Accumulator,
) -> Fields {
    let mut out = Fields::default();
    for (i, (f, a)) in item.fields.iter().zip(args).enumerate() {
        let ident = a.ident.clone().expect("named fields have identifiers");
        let name = Model::column_name_of(&ident);
        let role = role(&name, a, scope_name, &out.fields, errors);
        let managed = |what: &str| {
            darling::Error::custom(format!("{what}; `{name}` is managed by tenant-store"))
        };
        if let Some(expr) = &a.soft_delete {
            if role != Role::Data {
                errors.push(
                    managed("`soft_delete` marks a state field the caller sets").with_span(expr),
                );
            } else if let Some((j, _)) = &out.soft_delete {
                errors.push(
                    darling::Error::custom(format!(
                        "duplicate `soft_delete` field: `{}` is already the `soft_delete` field",
                        out.fields[*j].ident
                    ))
                    .with_span(expr),
                );
            } else {
                out.soft_delete = Some((i, expr.clone()));
            }
        }
        let mut order_by = a.order_by.is_present() && queryable(role);
        if order_by && let Some(why) = unorderable(&a.ty) {
            errors.push(
                darling::Error::custom(format!("`order_by` needs a field that {why}"))
                    .with_span(&a.order_by.span()),
            );
            order_by = false;
        }
        for (key, flag) in [("filter", &a.filter), ("order_by", &a.order_by)] {
            if flag.is_present() && !queryable(role) {
                let e = match role {
                    Role::Scope => darling::Error::custom(format!(
                        "`{key}` applies to data fields and timestamps; every query is already filtered by the scope field"
                    )),
                    Role::Id if key == "order_by" => darling::Error::custom(
                        "`order_by` is not needed on the id: every listing can be ordered by it",
                    ),
                    _ => managed(&format!("`{key}` applies to data fields and timestamps")),
                };
                errors.push(e.with_span(&flag.span()));
            }
        }
        if a.text.is_present() {
            if role == Role::Data {
                out.text.push(i);
            } else {
                errors
                    .push(managed("`text` marks a full-text data field").with_span(&a.text.span()));
            }
        }
        if a.indexed.is_present() {
            if role == Role::Data {
                out.indexed.push(i);
            } else {
                errors.push(
                    darling::Error::custom(format!(
                        "`indexed` marks a data property; `{name}` is indexed already"
                    ))
                    .with_span(&a.indexed.span()),
                );
            }
        }
        if let (Some(_), false) = (&a.default, role == Role::Data) {
            errors.push(managed("`default` applies to data fields").with_span(&a.ident));
        }
        match (&a.references, &a.on_delete) {
            (Some(path), _) if role != Role::Data => {
                errors.push(managed("`references` applies to data fields").with_span(path));
            }
            (Some(path), on_delete) => out.references.push(Reference {
                field: i,
                parent: path.clone(),
                on_delete: on_delete.clone(),
            }),
            (None, Some(on_delete)) => errors.push(
                darling::Error::custom(
                    "`on_delete` says what deleting the referenced entity does; it goes with \
                     `references = Entity` on the same field",
                )
                .with_span(&on_delete.span),
            ),
            (None, None) => {}
        }
        out.fields.push(Field {
            ident,
            ty: a.ty.clone(),
            docs: f
                .attrs
                .iter()
                .filter(|a| a.path().is_ident("doc"))
                .cloned()
                .collect(),
            role,
            filter: a.filter.is_present() && queryable(role),
            order_by,
            default: a.default.as_ref().map(|d| d.0.clone()),
            renamed_from: a.renamed_from.as_ref().map(|r| r.0.clone()),
        });
    }
    out
}

/// Why a field of type `ty` cannot order a listing, when its syntax tells (one clear error
/// instead of the trait errors of every generated use); other types are checked by the
/// `SortKey` bound.
fn unorderable(ty: &syn::Type) -> Option<&'static str> {
    let syn::Type::Path(p) = ty else {
        return None;
    };
    match p.path.segments.last()?.ident.to_string().as_str() {
        "Option" => {
            Some("is never null: a keyset cannot page through nulls (filter on it instead)")
        }
        "bool" => Some("has an order: a `bool` has two values (filter on it instead)"),
        "Vec" => Some("holds one value, not a list"),
        _ => None,
    }
}

/// Whether `filter` and `order_by` apply: data fields and the timestamps.
fn queryable(role: Role) -> bool {
    matches!(role, Role::Data | Role::CreatedAt | Role::UpdatedAt)
}

/// The field's role: the scope field by its name, else the one role key it carries, else data.
fn role(
    name: &str,
    a: &FieldArgs,
    scope_name: Option<&str>,
    earlier: &[Field],
    errors: &mut darling::error::Accumulator,
) -> Role {
    let mut role = if Some(name) == scope_name {
        Role::Scope
    } else {
        Role::Data
    };
    let mut role_key: Option<&str> = None;
    for (key, flag, r) in role_keys(a) {
        if !flag.is_present() {
            continue;
        }
        let error = if role == Role::Scope {
            format!(
                "the scope field `{name}` is filled from the principal; it cannot also be `{key}`"
            )
        } else if let Some(prev) = role_key {
            format!("field `{name}` is already `{prev}`; it cannot also be `{key}`")
        } else if let Some(other) = earlier.iter().find(|f| f.role == r) {
            format!(
                "duplicate `{key}` field: `{}` is already the `{key}` field",
                other.ident
            )
        } else {
            role = r;
            role_key = Some(key);
            continue;
        };
        errors.push(darling::Error::custom(error).with_span(&flag.span()));
    }
    role
}
