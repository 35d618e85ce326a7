//! What generated code names. Not a public API: it changes without notice.

pub use ::core;
pub use ::std;
pub use ::tracing;
pub use ::uuid::Uuid;

pub use crate::contract::{Boxed, TenantStore};
pub use crate::{Error, Page, Principal, Result, Scope};

/// Marks the types a tenant id (the scope field) can have.
#[diagnostic::on_unimplemented(
    message = "the scope field must be a `Uuid`, found `{Self}`",
    label = "a tenant id is a `Uuid`",
    note = "principals carry `user_id` and `org_id` as `uuid::Uuid`"
)]
pub trait TenantIdType {}
impl TenantIdType for ::uuid::Uuid {}

/// Marks the types an `id` field can have.
#[diagnostic::on_unimplemented(
    message = "the `id` field must be a `Uuid`, found `{Self}`",
    label = "ids are `Uuid`s",
    note = "`create` generates a random (v4) id when none is given"
)]
pub trait IdType {
    /// The id as the runtime handles it.
    fn into_uuid(self) -> ::uuid::Uuid;
}
impl IdType for ::uuid::Uuid {
    fn into_uuid(self) -> ::uuid::Uuid {
        self
    }
}

/// Marks the types a `references` field can have: the parent's id type, or `Option` of it for
/// an optional parent (NULL references nothing).
#[diagnostic::on_unimplemented(
    message = "a `references` field holds the parent's id, a `Uuid` or an `Option<Uuid>`; found `{Self}`",
    label = "not a `Uuid`"
)]
pub trait ReferenceType {}
impl ReferenceType for ::uuid::Uuid {}
impl ReferenceType for ::core::option::Option<::uuid::Uuid> {}
/// Compile-time assertion for a `references` field.
pub const fn assert_reference<T: ReferenceType>() {}

/// Marks the types a `version` field can have.
#[diagnostic::on_unimplemented(
    message = "the `version` field must be an integer (`i32` or `i64`), found `{Self}`",
    label = "not an integer type",
    note = "optimistic locking counts versions up from 1"
)]
pub trait VersionType {}
impl VersionType for i32 {}
impl VersionType for i64 {}

/// Compile-time assertion helper: `assert_impl::<T, dyn Trait>` style calls are generated as
/// `fn _f() where T: Trait {}`; this function exists so the generated code has a named target.
pub const fn assert_tenant_id<T: TenantIdType + ?Sized>() {}
/// See [`assert_tenant_id`].
pub const fn assert_id<T: IdType + ?Sized>() {}
/// See [`assert_tenant_id`].
pub const fn assert_version<T: VersionType + ?Sized>() {}
/// A field a listing can be ordered by.
pub const fn assert_sort_key<T: SortKey>() {}
#[cfg(feature = "document")]
pub use crate::query::DocQuery;
pub use crate::query::{Cond, Direction, IdOrder, Kind, OrderField, Sort, SortKey};

#[cfg(any(feature = "postgres", feature = "neo4j"))]
pub use ::inventory;

#[cfg(feature = "postgres")]
pub mod pg {
    //! PostgreSQL items named by generated code.
    pub use crate::postgres::evolve::{Registered, Registration};
    pub use crate::postgres::migrate::{ColumnDef, OnDelete, ReferenceDef, TableDef};
    pub use crate::postgres::store::{default_sort, push_after, push_after_id, push_cond};
    pub use crate::postgres::{
        AppendOnly, Columns, Mutable, PgColumn, PgCrud, PgEntity, PgQuery, Store, Versioned,
    };
    pub use ::chrono::{DateTime, Utc};
    pub use ::futures_util::future::BoxFuture;
    pub use ::sqlx::postgres::PgRow;
    pub use ::sqlx::{Error as SqlxError, Postgres, QueryBuilder, Row, query};

    // Every bind and decode in generated code goes through these, bounded by `PgColumn` alone,
    // so a field type that is not a column yields one error naming `PgColumn` instead of a
    // cascade of sqlx trait errors.

    /// Binds one value.
    pub fn bind<'q, T: PgColumn>(q: PgQuery<'q>, value: T) -> PgQuery<'q> {
        q.bind(value)
    }

    /// Appends `set` (`, "column" = `) and the value's bind parameter when a patch sets the
    /// field. (The `Option` is taken here, not in generated code: an `if let` per field there
    /// made rustc track which of the patch's fields had moved, 3% of an entity's compile time.)
    pub fn push_set<T: PgColumn>(
        qb: &mut QueryBuilder<Postgres>,
        set: &str,
        value: ::core::option::Option<T>,
    ) {
        if let Some(value) = value {
            qb.push(set);
            qb.push_bind(value);
        }
    }

    /// Appends a bind parameter to a dynamic query.
    pub fn push_bind<T: PgColumn>(qb: &mut QueryBuilder<Postgres>, value: T) {
        qb.push_bind(value);
    }

    /// Columns `first..first + N` of a row, decoded into a tuple of N column types. A
    /// generated `from_row` decodes its fields [`DECODED_AT_ONCE`] at a time this way, with one
    /// `?` per chunk: with a `?` per field, rustc elaborated the drops of every field decoded
    /// before each early return, about a sixth of the compile time of an entity (issue #33
    /// item 4).
    pub trait DecodeColumns: Sized {
        /// Decodes the columns from `first` on.
        fn decode(row: &PgRow, first: usize) -> ::core::result::Result<Self, SqlxError>;
    }

    /// The most fields one [`DecodeColumns`] tuple holds.
    pub const DECODED_AT_ONCE: usize = 12;

    macro_rules! decode_columns {
        ($($t:ident $i:tt),+) => {
            impl<$($t: PgColumn),+> DecodeColumns for ($($t,)+) {
                fn decode(row: &PgRow, first: usize) -> ::core::result::Result<Self, SqlxError> {
                    Ok(($(Row::try_get(row, first + $i)?,)+))
                }
            }
        };
    }
    decode_columns!(A 0);
    decode_columns!(A 0, B 1);
    decode_columns!(A 0, B 1, C 2);
    decode_columns!(A 0, B 1, C 2, D 3);
    decode_columns!(A 0, B 1, C 2, D 3, E 4);
    decode_columns!(A 0, B 1, C 2, D 3, E 4, F 5);
    decode_columns!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
    decode_columns!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
    decode_columns!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
    decode_columns!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
    decode_columns!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
    decode_columns!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);

    /// Decodes columns `first..` of `row` as `T` (see [`DecodeColumns`]).
    pub fn decode<T: DecodeColumns>(
        row: &PgRow,
        first: usize,
    ) -> ::core::result::Result<T, SqlxError> {
        T::decode(row, first)
    }

    /// Whether two scopes are the same, in const context (a reference must stay in one tenant).
    pub const fn same_scope(a: crate::Scope, b: crate::Scope) -> bool {
        a as u8 == b as u8
    }

    /// Compile-time assertion that a field type maps to a column.
    pub const fn assert_column<T: PgColumn>() {}
    /// Compile-time assertion that a timestamp field is a `DateTime<Utc>`.
    pub const fn assert_timestamp<T>()
    where
        T: TimestampType + ?Sized,
    {
    }

    /// Marks the types a `created_at`/`updated_at` field can have.
    #[diagnostic::on_unimplemented(
        message = "timestamp fields must be `chrono::DateTime<chrono::Utc>`, found `{Self}`",
        label = "not a `DateTime<Utc>`"
    )]
    pub trait TimestampType {}
    impl TimestampType for ::chrono::DateTime<::chrono::Utc> {}
}

#[cfg(feature = "document")]
pub use crate::document::{DocumentEntity, DocumentId};

#[cfg(feature = "valkey")]
pub mod valkey {
    //! Valkey items named by generated code.
    pub use crate::valkey::{Store, ValkeyEntity};

    /// Marks the types a `session` field can have.
    #[diagnostic::on_unimplemented(
        message = "the `session` field must be a `String`, found `{Self}`",
        label = "not a `String`"
    )]
    pub trait SessionType {
        /// The session id.
        fn as_session(&self) -> &str;
    }
    impl SessionType for ::std::string::String {
        fn as_session(&self) -> &str {
            self
        }
    }

    /// Marks the types a `weight` field can have.
    #[diagnostic::on_unimplemented(
        message = "the `weight` field must be an `f64`, found `{Self}`",
        label = "not an `f64`"
    )]
    pub trait WeightType {
        /// The weight.
        fn as_weight(&self) -> f64;
    }
    impl WeightType for f64 {
        fn as_weight(&self) -> f64 {
            *self
        }
    }
}

#[cfg(feature = "opensearch")]
pub mod opensearch {
    //! OpenSearch items named by generated code.
    pub use crate::opensearch::{SearchEntity, SearchField, Store, TextField};

    /// Compile-time assertion that a `text` field holds text.
    pub const fn assert_text<T: TextField>() {}
}

#[cfg(feature = "neo4j")]
pub mod neo4j {
    //! Neo4j items named by generated code.
    pub use crate::neo4j::evolve::Registration;
    pub use crate::neo4j::{
        __all_scoped, __declares_label, CheckedCypher, GraphEntity, Scoped, Store, to_bolt,
    };
}

#[cfg(feature = "qdrant")]
pub mod qdrant {
    //! Qdrant items named by generated code.
    pub use crate::qdrant::{Distance, EmbeddingEntity, FieldType, PayloadField, Store};
}

/// A fresh id for `E` (what `from_new` uses when the caller gives none). Through `E`, so a
/// wrong id type is reported once, at the field.
#[cfg(feature = "document")]
pub fn generate_id<E: DocumentEntity>() -> E::Id {
    <E::Id as DocumentId>::generate()
}
