//! The one table of attribute keys: where each is written (struct or field), which backend owns
//! it, and how its value is written. It drives the unknown-key (with did-you-mean), wrong-backend
//! and missing-backend messages, and screens the keys before darling parses them, so a key of
//! another backend is reported once, as such, and its value is not checked as well.
//!
//! Adding a key: one row here, a field in `attr.rs` (the unit test below keeps the two equal),
//! and what it does in the model and the expansion. Adding a backend: one variant of
//! [`BackendKind`] (its name in [`BackendKind::ALL`]), its rows, and its expansion file.

use darling::FromMeta;
use darling::ast::NestedMeta;
use syn::spanned::Spanned;

/// The backends, in the order messages list them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BackendKind {
    Postgres,
    Valkey,
    Neo4j,
    Qdrant,
    OpenSearch,
}

impl BackendKind {
    /// Every backend with the name the attribute spells it with.
    pub const ALL: [(BackendKind, &'static str); 5] = [
        (BackendKind::Postgres, "postgres"),
        (BackendKind::Valkey, "valkey"),
        (BackendKind::Neo4j, "neo4j"),
        (BackendKind::Qdrant, "qdrant"),
        (BackendKind::OpenSearch, "opensearch"),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(b, _)| *b == self)
            .map(|(_, n)| *n)
            .expect("every backend has a name")
    }

    /// Whether entities travel as JSON documents (every backend but PostgreSQL).
    pub fn is_document(self) -> bool {
        self != BackendKind::Postgres
    }

    /// "`postgres`, `valkey`, ..." for messages.
    pub fn listed() -> String {
        listed(Self::ALL.iter().map(|(_, n)| *n))
    }
}

/// Where a key is written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Place {
    /// `#[tenant_store(...)]` on the struct.
    Struct,
    /// `#[tenant_store(...)]` on a field.
    Field,
}

/// One attribute key.
pub struct Key {
    pub name: &'static str,
    pub place: Place,
    /// The backends that take it; empty: every backend.
    pub owners: &'static [BackendKind],
    /// How it is written, for the did-you-mean help.
    pub usage: &'static str,
}

const fn key(
    name: &'static str,
    place: Place,
    owners: &'static [BackendKind],
    usage: &'static str,
) -> Key {
    Key {
        name,
        place,
        owners,
        usage,
    }
}

use BackendKind::{Neo4j, OpenSearch, Postgres, Qdrant, Valkey};
use Place::{Field, Struct};

/// Every key, struct keys first, each group in the order messages list them.
pub const KEYS: &[Key] = &[
    key("backend", Struct, &[], "backend = \"postgres\""),
    key("scope", Struct, &[], "scope = \"user_id\""),
    key("table", Struct, &[Postgres], "table = \"name\""),
    key("schema", Struct, &[Postgres], "schema = \"name\""),
    key("new_derive", Struct, &[], "new_derive(Default, Debug)"),
    key("append_only", Struct, &[Postgres], "append_only"),
    key("unique", Struct, &[Postgres], "unique(field)"),
    key("drop_column", Struct, &[Postgres], "drop_column = \"name\""),
    key("ttl", Struct, &[Valkey], "ttl = 3600"),
    key("prefix", Struct, &[Valkey], "prefix = \"name\""),
    key("label", Struct, &[Neo4j], "label = \"LABEL\""),
    key("model", Struct, &[Qdrant], "model = \"name\""),
    key("dims", Struct, &[Qdrant], "dims = 384"),
    key("distance", Struct, &[Qdrant], "distance = \"cosine\""),
    key("index", Struct, &[OpenSearch], "index = \"name\""),
    key("id", Field, &[], "id"),
    key("version", Field, &[Postgres], "version"),
    key(
        "filter",
        Field,
        &[Postgres, Valkey, OpenSearch, Neo4j, Qdrant],
        "filter",
    ),
    key(
        "order_by",
        Field,
        &[Postgres, OpenSearch, Neo4j],
        "order_by",
    ),
    key("created_at", Field, &[Postgres], "created_at"),
    key("updated_at", Field, &[Postgres], "updated_at"),
    key(
        "soft_delete",
        Field,
        &[Postgres],
        "soft_delete = Enum::Deleted",
    ),
    key("references", Field, &[Postgres], "references = Entity"),
    key("on_delete", Field, &[Postgres], "on_delete = \"set_null\""),
    key("default", Field, &[Postgres], "default = \"0\""),
    key(
        "renamed_from",
        Field,
        &[Postgres],
        "renamed_from = \"old_name\"",
    ),
    key("session", Field, &[Valkey], "session"),
    key("weight", Field, &[Valkey], "weight"),
    key("text", Field, &[OpenSearch], "text"),
    key("indexed", Field, &[Neo4j], "indexed"),
];

fn listed<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn keys_at(place: Place) -> impl Iterator<Item = &'static Key> {
    KEYS.iter().filter(move |k| k.place == place)
}

/// The key `name` written at `place`, if there is one.
pub fn lookup(name: &str, place: Place) -> Option<&'static Key> {
    keys_at(place).find(|k| k.name == name)
}

/// "unknown key `x`; expected one of ...; did you mean `y = ...`?"
pub fn unknown(name: &str, place: Place) -> darling::Error {
    let closest = keys_at(place)
        .map(|k| (strsim::jaro_winkler(k.name, name), k))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .filter(|(similarity, _)| *similarity >= 0.8)
        .map(|(_, k)| format!("; did you mean `{}`?", k.usage))
        .unwrap_or_default();
    let allowed = listed(keys_at(place).map(|k| k.name));
    let on = match place {
        Place::Struct => "",
        Place::Field => " on a field",
    };
    darling::Error::custom(format!(
        "unknown key `{name}`{on}; expected one of {allowed}{closest}"
    ))
}

/// "`x` does not apply to backend `b`; only `o` takes it" (or "only `o` and `p` take it")
pub fn elsewhere(key: &Key, backend: BackendKind) -> darling::Error {
    let owners: Vec<String> = key
        .owners
        .iter()
        .map(|o| format!("`{}`", o.name()))
        .collect();
    let only = match owners.as_slice() {
        [one] => format!("{one} takes it"),
        [init @ .., last] => format!("{} and {last} take it", init.join(", ")),
        [] => unreachable!("a key every backend takes is never elsewhere"),
    };
    darling::Error::custom(format!(
        "`{}` does not apply to backend `{}`; only {only}",
        key.name,
        backend.name(),
    ))
}

/// The value of `key` in the metas, if it is there and valid (its errors are left to the full
/// parse, which reports them once).
pub fn peek<T: FromMeta>(metas: &[NestedMeta], key: &str) -> Option<T> {
    metas.iter().find_map(|m| match m {
        NestedMeta::Meta(meta) if meta.path().is_ident(key) => T::from_meta(meta).ok(),
        _ => None,
    })
}

/// Keeps the metas whose key exists at `place` and applies to `backend` (every key applies when
/// the backend is unknown: its own error is reported); reports the others into `errors`, at
/// their key.
pub fn screen(
    metas: Vec<NestedMeta>,
    place: Place,
    backend: Option<BackendKind>,
    errors: &mut darling::error::Accumulator,
) -> Vec<NestedMeta> {
    metas
        .into_iter()
        .filter(|m| {
            let NestedMeta::Meta(meta) = m else {
                return true; // a bare literal: darling's error
            };
            let path = meta.path();
            let name = quote::ToTokens::to_token_stream(path).to_string();
            match lookup(&name, place) {
                None => {
                    errors.push(unknown(&name, place).with_span(path));
                    false
                }
                Some(k) => match backend {
                    Some(b) if !k.owners.is_empty() && !k.owners.contains(&b) => {
                        errors.push(elsewhere(k, b).with_span(&path.span()));
                        false
                    }
                    _ => true,
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::{FieldArgs, StructArgs};

    /// The names of `StructArgs`'s fields: a pattern without `..`, so adding a field without
    /// listing it here does not compile.
    fn struct_args_fields(a: StructArgs) -> Vec<&'static str> {
        let StructArgs {
            backend: _,
            scope: _,
            table: _,
            schema: _,
            new_derive: _,
            append_only: _,
            unique: _,
            drop_column: _,
            ttl: _,
            prefix: _,
            label: _,
            model: _,
            dims: _,
            distance: _,
            index: _,
        } = a;
        vec![
            "backend",
            "scope",
            "table",
            "schema",
            "new_derive",
            "append_only",
            "unique",
            "drop_column",
            "ttl",
            "prefix",
            "label",
            "model",
            "dims",
            "distance",
            "index",
        ]
    }

    fn field_args_fields(a: FieldArgs) -> Vec<&'static str> {
        let FieldArgs {
            ident: _,
            ty: _,
            id: _,
            version: _,
            filter: _,
            created_at: _,
            updated_at: _,
            soft_delete: _,
            references: _,
            on_delete: _,
            default: _,
            renamed_from: _,
            session: _,
            weight: _,
            text: _,
            indexed: _,
            order_by: _,
        } = a;
        vec![
            "id",
            "version",
            "filter",
            "created_at",
            "updated_at",
            "soft_delete",
            "references",
            "on_delete",
            "default",
            "renamed_from",
            "session",
            "weight",
            "text",
            "indexed",
            "order_by",
        ]
    }

    fn sorted(mut v: Vec<&'static str>) -> Vec<&'static str> {
        v.sort_unstable();
        v
    }

    #[test]
    fn the_table_is_the_attribute_structs() {
        let every_struct_key: Vec<NestedMeta> = keys_at(Place::Struct)
            .map(|k| syn::parse_str(k.usage).expect("usage parses as a meta"))
            .collect();
        // Every struct row parses as `StructArgs` (darling knows each key), and the table has a
        // row for each of its fields.
        let args = StructArgs::from_list(&every_struct_key).expect("every usage parses");
        assert_eq!(
            sorted(struct_args_fields(args)),
            sorted(keys_at(Place::Struct).map(|k| k.name).collect())
        );
        let field: syn::Field = syn::parse_quote!(#[tenant_store(id)] x: u8);
        let args = <FieldArgs as darling::FromField>::from_field(&field).expect("parses");
        assert_eq!(
            sorted(field_args_fields(args)),
            sorted(keys_at(Place::Field).map(|k| k.name).collect())
        );
        for k in keys_at(Place::Field) {
            let field: syn::Field = syn::parse_str::<syn::DeriveInput>(&format!(
                "struct S {{ #[tenant_store({})] x: u8 }}",
                k.usage
            ))
            .map(|d| match d.data {
                syn::Data::Struct(s) => s.fields.into_iter().next().expect("one field"),
                _ => unreachable!(),
            })
            .expect("usage parses in a field attribute");
            <FieldArgs as darling::FromField>::from_field(&field)
                .unwrap_or_else(|e| panic!("field key `{}` does not parse: {e}", k.name));
        }
    }

    #[test]
    fn every_backend_owns_a_name_and_messages_list_them_all() {
        assert_eq!(
            BackendKind::listed(),
            "`postgres`, `valkey`, `neo4j`, `qdrant`, `opensearch`"
        );
        for (b, n) in BackendKind::ALL {
            assert_eq!(b.name(), n);
        }
    }

    #[test]
    fn unknown_keys_suggest_the_closest_usage() {
        let e = unknown("tabel", Place::Struct).to_string();
        assert!(e.contains("did you mean `table = \"name\"`"), "{e}");
        let e = unknown("indxed", Place::Field).to_string();
        assert!(e.contains("did you mean `indexed`"), "{e}");
        assert!(
            !unknown("colour", Place::Struct)
                .to_string()
                .contains("did you mean")
        );
    }
}
