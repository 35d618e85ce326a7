//! How Rust field types map to PostgreSQL columns, and what every generated entity exposes.

use sqlx::Postgres;
use sqlx::postgres::PgHasArrayType;

use crate::Scope;

/// A Rust type that can be a column of a generated table.
///
/// Implemented for the common scalar types; implement it for your own types (for example an
/// enum derived with `#[derive(sqlx::Type)] #[sqlx(type_name = "text")]`). `Option<T>` makes the
/// column nullable.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a column of a tenant-store PostgreSQL entity",
    label = "no PostgreSQL column type for this field",
    note = "implement `tenant_store::postgres::PgColumn` for it, naming its SQL type"
)]
pub trait PgColumn:
    for<'r> sqlx::Decode<'r, Postgres>
    + for<'q> sqlx::Encode<'q, Postgres>
    + sqlx::Type<Postgres>
    + PgHasArrayType
    + Send
    + Sync
    + 'static
{
    /// The column's SQL type, as written in the generated migration.
    const SQL_TYPE: &'static str;
    /// Whether the column accepts NULL (only `Option<T>`).
    const NULLABLE: bool = false;
}

macro_rules! columns {
    ($($ty:ty => $sql:literal),* $(,)?) => {
        $(impl PgColumn for $ty { const SQL_TYPE: &'static str = $sql; })*
    };
}

columns! {
    bool => "boolean",
    i16 => "smallint",
    i32 => "integer",
    i64 => "bigint",
    f32 => "real",
    f64 => "double precision",
    String => "text",
    Vec<u8> => "bytea",
    uuid::Uuid => "uuid",
    serde_json::Value => "jsonb",
    chrono::DateTime<chrono::Utc> => "timestamptz",
    chrono::NaiveDate => "date",
    chrono::NaiveDateTime => "timestamp",
}

impl<T: PgColumn> PgColumn for Option<T> {
    const SQL_TYPE: &'static str = T::SQL_TYPE;
    const NULLABLE: bool = true;
}

/// What `#[tenant_store(backend = "postgres")]` implements for an entity.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tenant-store PostgreSQL entity",
    label = "`references` must name a struct with `#[tenant_store(backend = \"postgres\", ...)]`"
)]
pub trait PgEntity {
    /// The struct's name.
    const ENTITY: &'static str;
    /// The schema the table lives in (`schema = "..."`, `public` by default).
    const SCHEMA: &'static str;
    /// The table.
    const TABLE: &'static str;
    /// The principal attribute that partitions the table; also the scope column's name.
    const SCOPE: Scope;
    /// The id column's name.
    const ID_COLUMN: &'static str;
    /// The table as the generated code describes it: what the migrations create and evolve.
    #[doc(hidden)]
    const DEF: super::migrate::TableDef<'static>;
    /// [`DEF`](Self::DEF), behind a function: registering it costs no constant evaluation at
    /// compile time.
    #[doc(hidden)]
    fn table_def() -> &'static super::migrate::TableDef<'static> {
        const { &Self::DEF }
    }
    /// The entity's create migration (table, indexes, RLS, policy, grants), deterministic.
    fn migration_sql() -> String {
        super::evolve::table_sql(&Self::DEF)
    }
    /// Decodes a row holding every column in declaration order (`SELECT <all fields> ...`), for
    /// hand-written queries run through `TenantTx`.
    fn from_row(row: &sqlx::postgres::PgRow) -> Result<Self, sqlx::Error>
    where
        Self: Sized;
}
