//! Migration SQL generated from the entities, written in sqlx's migration format.
//!
//! Every entity registers itself; [`evolve`](super::evolve) compares them with the folder's
//! snapshot and writes only new files (the application's `tenant_store::cli::main()` binary
//! runs it: `generate`, `check`, `status`, `apply`). The files are applied with sqlx's
//! `Migrator` by the tables' owner role.
//!
//! Files: `0001_tenant_store_base.sql` (the private schema with the key table, the table
//! registry and the functions that verify signed tenant contexts and write admin audit rows),
//! then `NNNN_create_<table>.sql` per entity and, as entities change, the files that evolve
//! them. Output is byte-identical on every run: no timestamps, no hash-map ordering.
//!
//! ## Operator set-up, once per database, as a superuser
//! ```sql
//! CREATE ROLE tenant_store_app NOLOGIN;                 -- what the migrations grant to
//! CREATE ROLE tenant_store_definer NOLOGIN;             -- owns the keys and the verifying functions
//! GRANT tenant_store_definer TO <owner>;                -- the role that applies the migrations
//! GRANT tenant_store_app TO <application login role>;   -- NOSUPERUSER NOBYPASSRLS NOCREATEROLE
//! REVOKE CREATE ON SCHEMA public FROM PUBLIC;           -- the application creates nothing:
//! REVOKE TEMPORARY ON DATABASE <db> FROM PUBLIC;        -- no objects, no temporary tables,
//! REVOKE EXECUTE ON FUNCTION pg_catalog.lo_creat(integer), pg_catalog.lo_create(oid),
//!     pg_catalog.lo_from_bytea(oid, bytea) FROM PUBLIC;  -- no large objects (shared state),
//! REVOKE EXECUTE ON FUNCTION pg_catalog.pg_terminate_backend(integer, bigint),
//!     pg_catalog.pg_cancel_backend(integer) FROM PUBLIC; -- no signals to other backends
//! ```
//! Then the owner applies the migrations and installs a signing key
//! ([`keys`](super::keys), or the migration command's `keys install`). `pgcrypto` must be available
//! (Debian's PostgreSQL ships it) and not installed in another schema of the database: the
//! base migration installs it into `tenant_store_private`. The start-up audit checks every
//! step of this from the application's side.
//!
//! The migrations grant table access to [`APP_ROLE`] only, so the application role never owns
//! a table, and nothing at all on the key table or the admin audit table.

pub use crate::migrations::MigrationFile;

/// The functions the operator set-up revokes from `PUBLIC` in every database, which the
/// start-up audit checks: signals to other backends (ending a pool's connections steers the next
/// transaction onto a chosen one) and large objects (state every session of a role shares).
/// Function privileges belong to each database, so a new database needs
/// [`operator_revokes`] again.
pub const OPERATOR_REVOKED: [&str; 5] = [
    "pg_catalog.pg_terminate_backend(integer, bigint)",
    "pg_catalog.pg_cancel_backend(integer)",
    "pg_catalog.lo_creat(integer)",
    "pg_catalog.lo_create(oid)",
    "pg_catalog.lo_from_bytea(oid, bytea)",
];

/// The statement of the operator set-up that revokes [`OPERATOR_REVOKED`], for a superuser to
/// run in each database.
pub fn operator_revokes() -> String {
    format!(
        "REVOKE EXECUTE ON FUNCTION {} FROM PUBLIC;",
        OPERATOR_REVOKED.join(", ")
    )
}

/// The group role the generated migrations grant table access to.
pub const APP_ROLE: &str = "tenant_store_app";

/// The body of `tenant_store_private.current_tenant(scope text)`, which every policy calls.
///
/// It verifies the signed context ([`context`](super::context)) and returns the tenant of
/// `scope`, or NULL (so: no rows, no error) for a context that is unset, empty, malformed,
/// signed with an unknown or retired key, forged, or bound to other transactions (another
/// transaction's start, or expired before this one started). Nothing is cast before the MAC
/// is checked, so no input can raise an error; the fields of a verified context are
/// well-formed because we wrote them.
///
/// A *genuine* context made for another backend pid raises [`WRONG_BACKEND`] instead: the
/// client signed for one server session and its statement reached another, which is what a
/// pooler in transaction mode does to a `Db` without [`Pooler::Transaction`](super::Pooler)
/// (or a context copied into another session). Either way it claims nothing, and the first
/// would otherwise read as an empty tenant. The check comes after the MAC, so only a context
/// our key signed can raise it. The start-up audit compares the installed body with this one.
pub const CURRENT_TENANT_BODY: &str = "
DECLARE
    v text := current_setting('tenant_store.ctx', true);
    p text[];
    k bytea;
    started_us bigint;
BEGIN
    IF v IS NULL OR length(v) > 256 THEN
        RETURN NULL;
    END IF;
    p := string_to_array(v, '.');
    IF cardinality(p) <> 7 OR p[1] <> 'v2' THEN
        RETURN NULL;
    END IF;
    SELECT secret INTO k FROM tenant_store_private.keys WHERE id = p[2] AND retired_at IS NULL;
    IF k IS NULL
        OR encode(hmac(convert_to(left(v, length(v) - length(p[7]) - 1), 'UTF8'), k, 'sha256'), 'hex') <> p[7]
    THEN
        RETURN NULL;
    END IF;
    IF p[3] <> pg_backend_pid()::text THEN
        RAISE EXCEPTION 'a tenant context signed for backend % reached backend %', p[3], pg_backend_pid()
            USING ERRCODE = 'TS001',
            HINT = 'behind a pooler in transaction mode, connect with DbOptions::pooler(Pooler::Transaction)';
    END IF;
    started_us := (extract(epoch FROM transaction_timestamp()) * 1000000)::bigint;
    IF (left(p[4], 1) = 't' AND substr(p[4], 2)::bigint = started_us)
        OR (left(p[4], 1) = 'e' AND substr(p[4], 2)::bigint * 1000 >= started_us)
    THEN
        RETURN CASE scope WHEN 'user_id' THEN p[5]::uuid WHEN 'org_id' THEN p[6]::uuid END;
    END IF;
    RETURN NULL;
END
";

/// The SQLSTATE `current_tenant` raises for a genuine context on another backend; the client
/// reads it as [`Error::Audit`](crate::Error::Audit), with the server's hint.
pub const WRONG_BACKEND: &str = "TS001";

/// The expression `current_tenant` compares a transaction-bound token with (`Bound::Transaction`
/// in [`context`](super::context)); [`Db::begin`](super::Db::begin) reads it back in the
/// message that opens the transaction.
pub(crate) const TRANSACTION_START_US: &str =
    "(extract(epoch FROM pg_catalog.transaction_timestamp()) * 1000000)::bigint";

/// The body of `tenant_store_private.admin_audit(...)`: writes one admin audit row if its
/// signature verifies, so the application role cannot write a false one. Called on a
/// connection of its own, so the row is committed whatever the admin transaction does.
pub const ADMIN_AUDIT_BODY: &str = "
DECLARE
    k bytea;
BEGIN
    SELECT secret INTO k FROM tenant_store_private.keys WHERE id = key_id AND retired_at IS NULL;
    IF k IS NULL OR encode(hmac(convert_to(concat_ws('|', 'audit.v1', session_id, actor_user_id,
            actor_org_id, coalesce(user_id::text, ''), coalesce(org_id::text, ''), issued_ms, reason),
            'UTF8'), k, 'sha256'), 'hex') IS DISTINCT FROM signature
    THEN
        RAISE EXCEPTION 'tenant-store: admin audit row rejected: bad signature' USING ERRCODE = '42501';
    END IF;
    IF abs(issued_ms - extract(epoch FROM clock_timestamp()) * 1000) > 60000 THEN
        RAISE EXCEPTION 'tenant-store: admin audit row rejected: stale' USING ERRCODE = '42501';
    END IF;
    INSERT INTO public.tenant_store_admin_audit (session_id, actor_user_id, actor_org_id, reason, user_id, org_id)
    VALUES (session_id, actor_user_id, actor_org_id, reason, user_id, org_id);
END
";

/// The body of `tenant_store_private.reset_session()`: returns a session to the state a fresh
/// connection has, short of closing it, and counts the prepared statements made by SQL
/// `PREPARE` and by the protocol (sqlx's), which it cannot reset without dropping sqlx's
/// statement cache. It runs as the caller (it resets the caller's session) and names everything
/// with its schema. One function call costs the server a fraction of the same statements sent
/// one by one.
pub const RESET_SESSION_BODY: &str = "
BEGIN
    RESET ALL;
    RESET ROLE;
    RESET SESSION AUTHORIZATION;
    EXECUTE 'CLOSE ALL';
    UNLISTEN *;
    PERFORM pg_catalog.pg_advisory_unlock_all();
    DISCARD TEMP;
    DISCARD SEQUENCES;
    SELECT pg_catalog.count(*) FILTER (WHERE s.from_sql), pg_catalog.count(*) FILTER (WHERE NOT s.from_sql)
        INTO by_sql, by_protocol
        FROM pg_catalog.pg_prepared_statements s;
END
";

/// The `search_path` both functions run with: fixed, with `pg_temp` last so no temporary
/// object can stand in for anything they name.
pub const DEFINER_SEARCH_PATH: &str = "pg_catalog, tenant_store_private, pg_temp";

/// The SQL of the base migration: the private schema, the key table, the table registry, the
/// two `SECURITY DEFINER` functions and the session reset, all owned by the definer role.
///
/// Needs, before it runs (the operator's set-up; `scripts/services.sh` does it): the roles
/// [`DEFINER_ROLE`](super::context::DEFINER_ROLE) (`NOLOGIN`) and [`APP_ROLE`], the migrating
/// role a member of the definer role, and `pgcrypto` available and not yet installed in the
/// database (it is installed into `tenant_store_private`).
pub fn base_sql() -> String {
    format!(
        "{HEADER}\
-- The signed tenant context: see tenant_store::postgres::context.
CREATE SCHEMA tenant_store_private AUTHORIZATION tenant_store_definer;
CREATE EXTENSION pgcrypto WITH SCHEMA tenant_store_private;
SET LOCAL ROLE tenant_store_definer;
-- The keys contexts are signed with. Nobody but the definer role reads them.
CREATE TABLE tenant_store_private.keys (
    id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{{1,32}}$'),
    secret bytea NOT NULL CHECK (length(secret) >= 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz
);
REVOKE ALL ON tenant_store_private.keys FROM PUBLIC;
-- Every tenant table the migrations created, for the start-up audit.
CREATE TABLE tenant_store_private.tenant_tables (
    table_schema text NOT NULL,
    table_name text NOT NULL,
    scope text NOT NULL CHECK (scope IN ('user_id', 'org_id')),
    PRIMARY KEY (table_schema, table_name)
);
REVOKE ALL ON tenant_store_private.tenant_tables FROM PUBLIC;
{functions}REVOKE ALL ON FUNCTION tenant_store_private.current_tenant(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION tenant_store_private.reset_session() FROM PUBLIC;
REVOKE ALL ON FUNCTION tenant_store_private.admin_audit(uuid, uuid, uuid, text, uuid, uuid, bigint, text, text) FROM PUBLIC;
GRANT USAGE ON SCHEMA tenant_store_private TO {APP_ROLE};
GRANT EXECUTE ON FUNCTION tenant_store_private.current_tenant(text) TO {APP_ROLE};
GRANT EXECUTE ON FUNCTION tenant_store_private.admin_audit(uuid, uuid, uuid, text, uuid, uuid, bigint, text, text) TO {APP_ROLE};
GRANT EXECUTE ON FUNCTION tenant_store_private.reset_session() TO {APP_ROLE};
GRANT SELECT ON tenant_store_private.tenant_tables TO {APP_ROLE};
RESET ROLE;
",
        functions = FUNCTIONS.iter().map(|f| f.create()).collect::<String>()
    )
}

/// One `SECURITY DEFINER` or helper function of the base migration. The snapshot records a hash
/// of each one's definition, so a changed body reaches databases that have the old one as a
/// `CREATE OR REPLACE FUNCTION` migration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Function {
    pub name: &'static str,
    /// Everything from the name to the body's opening `$$`.
    head: &'static str,
    body: &'static str,
}

impl Function {
    /// The `CREATE FUNCTION` statement, newline-terminated.
    pub fn create(&self) -> String {
        format!("CREATE FUNCTION {}$${}$$;\n", self.head, self.body)
    }

    /// The `CREATE OR REPLACE FUNCTION` statement, newline-terminated: how a later migration
    /// (or [`native`](super::native)) puts this definition in place of another.
    pub fn replace(&self) -> String {
        format!(
            "CREATE OR REPLACE FUNCTION {}$${}$$;\n",
            self.head, self.body
        )
    }
}

/// The check of the signed context, which every policy calls (see [`native`](super::native) for
/// its opt-in form in C).
pub(crate) const CURRENT_TENANT: Function = Function {
    name: "current_tenant",
    head: "tenant_store_private.current_tenant(scope text) RETURNS uuid
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, tenant_store_private, pg_temp
    AS ",
    body: CURRENT_TENANT_BODY,
};

/// The base migration's functions, in the order it creates them.
pub(crate) const FUNCTIONS: [Function; 3] = [
    CURRENT_TENANT,
    Function {
        name: "admin_audit",
        head: "tenant_store_private.admin_audit(session_id uuid, actor_user_id uuid,
        actor_org_id uuid, reason text, user_id uuid, org_id uuid, issued_ms bigint,
        key_id text, signature text) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, tenant_store_private, pg_temp
    AS ",
        body: ADMIN_AUDIT_BODY,
    },
    Function {
        name: "reset_session",
        head: "tenant_store_private.reset_session(OUT by_sql bigint, OUT by_protocol bigint)
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER
    AS ",
        body: RESET_SESSION_BODY,
    },
];

/// The trigger function that keeps a renamed column and its old name equal while two releases
/// run side by side (see [`evolve`](super::evolve)'s "Two releases side by side"). It is
/// attached as `BEFORE INSERT OR UPDATE ... FOR EACH ROW EXECUTE FUNCTION
/// tenant_store_private.sync_renamed('old', 'new')` and only rewrites the row being written:
/// - on `INSERT`, the side the statement left NULL takes the other side's value (each release
///   names only its own column, and neither column has a default while the trigger exists);
/// - on `UPDATE`, the side whose value changed is copied to the other (the old name first).
///
/// The value travels through `jsonb`, so a rename may also change the type where the cast
/// exists both ways (a value the old type cannot hold fails the write). It runs as the caller
/// (not `SECURITY DEFINER`), with a fixed `search_path`; the start-up audit accepts a trigger on
/// a tenant table only when it calls this function, with this body.
pub(crate) const SYNC_RENAMED: Function = Function {
    name: "sync_renamed",
    head: "tenant_store_private.sync_renamed() RETURNS trigger
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER
    SET search_path = pg_catalog, pg_temp
    AS ",
    body: SYNC_RENAMED_BODY,
};

/// The body of `tenant_store_private.sync_renamed()`, the trigger function of a rename (see
/// [`evolve`](super::evolve)).
pub const SYNC_RENAMED_BODY: &str = "
DECLARE
    old_name text := TG_ARGV[0];
    new_name text := TG_ARGV[1];
    row_now jsonb := pg_catalog.to_jsonb(NEW);
    source text := new_name;
    target text := old_name;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF row_now -> new_name = 'null'::jsonb THEN
            source := old_name;
            target := new_name;
        END IF;
    ELSIF row_now -> old_name IS DISTINCT FROM pg_catalog.to_jsonb(OLD) -> old_name THEN
        source := old_name;
        target := new_name;
    END IF;
    RETURN pg_catalog.jsonb_populate_record(NEW, pg_catalog.jsonb_build_object(target, row_now -> source));
END
";

pub(crate) const HEADER: &str =
    "-- Generated by tenant-store. Do not edit: regenerate from the entities.\n";

/// One column, as the generated code describes it to
/// [`table_sql`](super::evolve::table_sql).
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct ColumnDef {
    pub name: &'static str,
    pub sql_type: &'static str,
    pub nullable: bool,
    /// The column's SQL default: `now()` for `created_at` and `updated_at`, the field's
    /// `default = "..."` otherwise.
    pub default: Option<&'static str>,
    /// The column's previous name (`renamed_from = "..."`), for the evolution of older tables.
    pub renamed_from: Option<&'static str>,
}

impl ColumnDef {
    /// The column `name`, of the SQL type and nullability of `T`. One call per column in
    /// generated code, instead of two trait projections each.
    pub const fn of<T: super::PgColumn>(
        name: &'static str,
        default: Option<&'static str>,
        renamed_from: Option<&'static str>,
    ) -> Self {
        Self {
            name,
            sql_type: T::SQL_TYPE,
            nullable: T::NULLABLE,
            default,
            renamed_from,
        }
    }
}

/// A column that references another entity of the same tenant.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct ReferenceDef {
    pub column: &'static str,
    pub parent_schema: &'static str,
    pub parent_table: &'static str,
    pub parent_id: &'static str,
    pub on_delete: OnDelete,
}

/// What deleting a parent row does to the rows that reference it: the field's
/// `#[tenant_store(references = Parent, on_delete = "...")]`. It acts when the parent's row is
/// deleted (`delete`, `delete_tenant`); a soft delete only marks the parent and leaves its
/// children as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDelete {
    /// `"cascade"`: the referencing rows are deleted with the parent. The default of a required
    /// reference (a child that cannot exist without its parent). Snapshots written before the
    /// key existed hold only this rule, so it is also what a missing one reads as.
    #[default]
    Cascade,
    /// `"set_null"`: the reference is set to `NULL` (`ON DELETE SET NULL (column)`, which
    /// keeps the tenant column), the row kept. The default of an optional reference: deleting
    /// a parent never deletes a row the caller did not delete. Only on an optional field.
    SetNull,
    /// `"restrict"`: the parent's delete is refused while rows reference it, with
    /// [`Error::Referenced`](crate::Error::Referenced).
    Restrict,
}

impl OnDelete {
    /// The rule of a reference that names none: [`SetNull`](Self::SetNull) for an optional
    /// field, [`Cascade`](Self::Cascade) for a required one.
    #[doc(hidden)]
    pub const fn default_for(nullable: bool) -> Self {
        if nullable {
            Self::SetNull
        } else {
            Self::Cascade
        }
    }

    /// The `ON DELETE` clause of a foreign key on `column`.
    pub(crate) fn clause(self, column: &str) -> String {
        match self {
            Self::Cascade => "ON DELETE CASCADE".to_owned(),
            Self::SetNull => format!("ON DELETE SET NULL (\"{column}\")"),
            Self::Restrict => "ON DELETE RESTRICT".to_owned(),
        }
    }

    pub(crate) fn is_cascade(&self) -> bool {
        *self == Self::Cascade
    }
}

/// Everything [`table_sql`](super::evolve::table_sql) renders, as the generated code describes it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct TableDef<'a> {
    pub entity: &'static str,
    pub schema: &'static str,
    pub table: &'static str,
    pub scope: crate::Scope,
    pub id: &'static str,
    pub columns: &'a [ColumnDef],
    pub filters: &'a [&'static str],
    /// Columns a listing can be ordered by (`order_by`).
    pub orders: &'a [&'static str],
    /// Unique keys; each is prefixed with the scope column.
    pub uniques: &'a [&'a [&'static str]],
    pub references: &'a [ReferenceDef],
    /// Append-only entities are never updated: the application role gets no UPDATE.
    pub append_only: bool,
    /// Columns older versions had, which the next migration drops with their data
    /// (`drop_column = "..."`, the user's explicit opt-in).
    pub drop_columns: &'a [&'static str],
}

/// The generated policy's `USING` and `WITH CHECK` expression for a scope column. The
/// sub-select makes the tenant an InitPlan: verified once per statement, and the comparison
/// stays an index condition on the scope column.
pub fn policy_expression(scope: &str) -> String {
    format!("(\"{scope}\" = (SELECT tenant_store_private.current_tenant('{scope}')))")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generated_sql_file_carries_the_marker() {
        use crate::migrations::is_generated;
        assert!(is_generated(HEADER));
        assert!(is_generated(&format!("-- no-transaction\n{HEADER}")));
        assert!(!is_generated(
            "-- no-transaction\nCREATE INDEX x ON t (a);\n"
        ));
    }
}
