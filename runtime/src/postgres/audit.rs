//! The start-up audit: refuse to run unless the database enforces what the generated migrations
//! meant, for the role we connected as.
//!
//! It checks what PostgreSQL enforces (roles, privileges, policies, ownership, function bodies),
//! not names alone, and reports every finding at once. Tenant tables are found both from the
//! registry the migrations fill (`tenant_store_private.tenant_tables`) and from the comment they
//! set, so a drifted database that lost one of them is still audited.

use sqlx::PgConnection;

use super::context::{DEFINER_ROLE, PRIVATE_SCHEMA};
use super::migrate::{
    ADMIN_AUDIT_BODY, APP_ROLE, CURRENT_TENANT_BODY, DEFINER_SEARCH_PATH, OPERATOR_REVOKED,
    RESET_SESSION_BODY, SYNC_RENAMED_BODY,
};
use super::native;
use crate::{Error, Result};

/// Audits the connection's role and every tenant-store table, and refuses with [`Error::Audit`]
/// listing every finding when:
/// - the role is a superuser or has `BYPASSRLS`, `CREATEROLE`, or is a member of a role that is
///   or has (it could `SET ROLE` to it), or is a member of the definer role;
/// - the role may create temporary objects in the database or objects in any schema (either
///   could shadow a table or leave state on a pooled connection);
/// - the role owns a tenant table, or is a member of its owner (an owner can disable RLS or
///   drop the policy);
/// - a tenant table does not have RLS enabled and forced; its `tenant_isolation` policy is
///   missing, not permissive, not for every command and role, or its expressions differ from
///   the generated ones; another *permissive* policy applies to it (PostgreSQL ORs permissive
///   policies, so one could only widen access; restrictive ones can only narrow it and are
///   accepted);
/// - a view or materialized view the role can read reaches a tenant table (directly or through
///   other views) and runs as a role that bypasses RLS, or stores rows (a materialized view
///   holds whatever its last refresh saw, without RLS);
/// - a foreign key into a tenant table does not pair its tenant column with the referencing
///   table's (a row could reference another tenant's, and whether that row exists would show);
/// - a unique index or an exclusion constraint of a tenant table does not hold its tenant
///   column among its keys (compared with `=`, for an exclusion): an insert refused for a
///   conflict would tell one tenant what another wrote;
/// - a `SECURITY DEFINER` function the role can execute is owned by a role that bypasses RLS;
/// - `tenant_store_private.current_tenant` or `admin_audit` is missing, changed, not
///   `SECURITY DEFINER` with the fixed `search_path`, or owned by anyone but the definer role
///   (the same for `reset_session`, which runs as its caller); with the native check on
///   ([`native`]), `current_tenant` is the library's function as created there, and
///   `current_tenant_verify` is held to what `current_tenant` is otherwise;
///   the definer role can log in or bypasses RLS; the role can read the key table.
pub async fn audit(conn: &mut PgConnection) -> Result<()> {
    let findings = findings(conn).await?;
    if findings.is_empty() {
        Ok(())
    } else {
        Err(Error::Audit(findings.join("; ")))
    }
}

/// Every finding of [`audit`], each with what fixes it; empty when there is none.
pub async fn findings(conn: &mut PgConnection) -> Result<Vec<String>> {
    let mut findings = Vec::new();
    let role = audit_role(conn, &mut findings).await?;
    let base_applied: bool =
        sqlx::query_scalar("SELECT to_regclass('tenant_store_private.tenant_tables') IS NOT NULL")
            .persistent(false)
            .fetch_one(&mut *conn)
            .await?;
    if base_applied {
        audit_functions(conn, &mut findings).await?;
        audit_tables(conn, &role, &mut findings).await?;
        audit_references(conn, &mut findings).await?;
        audit_unique_keys(conn, &mut findings).await?;
        audit_views_and_definers(conn, &mut findings).await?;
        audit_drift(conn, &mut findings).await?;
    } else {
        findings.push(
            "tenant_store_private is missing or not readable: apply the migrations (the base one \
             creates it) and grant the application role `tenant_store_app`"
                .to_owned(),
        );
    }
    Ok(findings)
}

/// `name` as a quoted SQL identifier: for the statements a finding proposes, and the testing
/// kit's.
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Returns the role's name.
async fn audit_role(conn: &mut PgConnection, findings: &mut Vec<String>) -> Result<String> {
    let (role, is_super, bypass, createrole, temp): (String, bool, bool, bool, bool) =
        sqlx::query_as(
            "SELECT rolname::text, rolsuper, rolbypassrls, rolcreaterole,
                    has_database_privilege(current_user, current_database(), 'TEMPORARY')
             FROM pg_catalog.pg_roles WHERE rolname = current_user",
        )
        .persistent(false)
        .fetch_one(&mut *conn)
        .await?;
    if is_super {
        findings.push(format!(
            "role `{role}` is a superuser, which bypasses RLS; fix: ALTER ROLE {} NOSUPERUSER;",
            ident(&role)
        ));
    }
    if bypass {
        findings.push(format!(
            "role `{role}` has BYPASSRLS; fix: ALTER ROLE {} NOBYPASSRLS;",
            ident(&role)
        ));
    }
    if createrole {
        findings.push(format!(
            "role `{role}` has CREATEROLE (it could grant itself a role that bypasses RLS); fix: \
             ALTER ROLE {} NOCREATEROLE;",
            ident(&role)
        ));
    }
    if temp {
        findings.push(format!(
            "role `{role}` may create temporary objects in this database; fix: REVOKE TEMPORARY ON \
             DATABASE <this database> FROM PUBLIC, {};",
            ident(&role)
        ));
    }

    let privileged: Vec<(String, String)> = sqlx::query_as(
        "SELECT rolname::text,
                concat_ws(', ', CASE WHEN rolsuper THEN 'superuser' END,
                                CASE WHEN rolbypassrls THEN 'BYPASSRLS' END,
                                CASE WHEN rolcreaterole THEN 'CREATEROLE' END,
                                CASE WHEN rolname = $1 THEN 'owns the tenant context functions' END)
         FROM pg_catalog.pg_roles r
         WHERE (r.rolsuper OR r.rolbypassrls OR r.rolcreaterole OR r.rolname = $1)
           AND r.rolname <> current_user
           AND pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER')
         ORDER BY 1",
    )
    .bind(DEFINER_ROLE)
    .persistent(false)
    .fetch_all(&mut *conn)
    .await?;
    for (p, what) in privileged {
        findings.push(format!(
            "role `{role}` is a member of `{p}` ({what}); fix: REVOKE {} FROM {};",
            ident(&p),
            ident(&role)
        ));
    }

    let creatable: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_catalog.pg_namespace
         WHERE nspname NOT LIKE 'pg\\_temp\\_%' AND nspname NOT LIKE 'pg\\_toast\\_temp\\_%'
           AND has_schema_privilege(current_user, oid, 'CREATE')
         ORDER BY 1",
    )
    .persistent(false)
    .fetch_all(&mut *conn)
    .await?;
    for schema in creatable {
        findings.push(format!(
            "role `{role}` may create objects in schema `{schema}` (it could shadow a table); fix: \
             REVOKE CREATE ON SCHEMA {} FROM PUBLIC, {};",
            ident(&schema),
            ident(&role)
        ));
    }

    // Ending another backend of the pool steers the next transaction onto a chosen one; a
    // large object is state every session of the role shares.
    let callable: Vec<String> = sqlx::query_scalar(
        "SELECT f FROM unnest($1::text[]) f
         WHERE has_function_privilege(current_user, f, 'EXECUTE') ORDER BY 1",
    )
    .bind(&OPERATOR_REVOKED[..])
    .persistent(false)
    .fetch_all(&mut *conn)
    .await?;
    for f in callable {
        findings.push(format!(
            "role `{role}` may execute {f}; revoke it: REVOKE EXECUTE ON FUNCTION {f} FROM PUBLIC, {APP_ROLE}"
        ));
    }
    let signals: bool = sqlx::query_scalar(
        "SELECT pg_catalog.pg_has_role(current_user, 'pg_signal_backend', 'USAGE')",
    )
    .persistent(false)
    .fetch_one(&mut *conn)
    .await?;
    if signals {
        findings.push(format!(
            "role `{role}` may signal other backends through `pg_signal_backend`; revoke it: \
             REVOKE pg_signal_backend FROM <each role that grants it to `{role}`>"
        ));
    }
    Ok(role)
}

async fn audit_functions(conn: &mut PgConnection, findings: &mut Vec<String>) -> Result<()> {
    // `current_tenant` is the PL/pgSQL check, or the native one in front of it under another
    // name (see `native`): each exactly as created.
    let native = match function_row(conn, "current_tenant").await? {
        Some(row) if row.language == "c" => {
            audit_native(&row, findings);
            true
        }
        _ => false,
    };
    let check = if native {
        native::VERIFY
    } else {
        "current_tenant"
    };
    // (name, body, runs as its owner with the fixed search_path)
    for (name, body, definer) in [
        (check, CURRENT_TENANT_BODY, true),
        ("admin_audit", ADMIN_AUDIT_BODY, true),
        ("reset_session", RESET_SESSION_BODY, false),
    ] {
        let f = format!("{PRIVATE_SCHEMA}.{name}");
        let Some(row) = function_row(conn, name).await? else {
            findings.push(format!(
                "function {f} is missing; apply the migrations (the base one creates it)"
            ));
            continue;
        };
        owned_by_definer(&f, &row, findings);
        if row.secdef != definer {
            let want = if definer { "" } else { "not " };
            findings.push(format!("function {f} must {want}be SECURITY DEFINER"));
        }
        let want_config = definer.then(|| vec![format!("search_path={DEFINER_SEARCH_PATH}")]);
        if row.config != want_config {
            findings.push(format!(
                "function {f} has settings {:?}; expected {want_config:?}",
                row.config
            ));
        }
        if row.language != "plpgsql" || row.src != body {
            findings.push(format!(
                "function {f} differs from the one the migrations create"
            ));
        }
    }

    let definer: Option<(bool, bool, bool)> = sqlx::query_as(
        "SELECT rolcanlogin, rolsuper OR rolbypassrls,
                has_table_privilege(current_user, 'tenant_store_private.keys', 'SELECT')
         FROM pg_catalog.pg_roles WHERE rolname = $1",
    )
    .bind(DEFINER_ROLE)
    .persistent(false)
    .fetch_optional(&mut *conn)
    .await
    .unwrap_or(None);
    match definer {
        None => findings.push(format!(
            "role `{DEFINER_ROLE}` or its key table is missing; create the role and apply the migrations"
        )),
        Some((login, bypasses, reads_keys)) => {
            if login {
                findings.push(format!(
                    "role `{DEFINER_ROLE}` can log in; fix: ALTER ROLE {DEFINER_ROLE} NOLOGIN;"
                ));
            }
            if bypasses {
                findings.push(format!(
                    "role `{DEFINER_ROLE}` is a superuser or has BYPASSRLS; fix: ALTER ROLE \
                     {DEFINER_ROLE} NOSUPERUSER NOBYPASSRLS;"
                ));
            }
            if reads_keys {
                findings.push(
                    "this role can read tenant_store_private.keys; fix: REVOKE ALL ON \
                     tenant_store_private.keys FROM PUBLIC, <this role and each role it is a \
                     member of>;"
                        .to_owned(),
                );
            }
        }
    }
    Ok(())
}

/// One tenant table as the catalog describes it.
type TableRow = (
    String,         // schema.table
    Option<String>, // scope: from the registry, else from the comment
    bool,           // relrowsecurity
    bool,           // relforcerowsecurity
    bool,           // the role is a member of the owner
);

/// The oids of every tenant table: registered by the migrations or carrying their comment.
const TENANT_TABLES: &str = "
    SELECT c.oid, coalesce(t.scope, substring(obj_description(c.oid, 'pg_class') FROM '^tenant-store: scope (\\w+)$')) AS scope
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN tenant_store_private.tenant_tables t ON t.table_schema = n.nspname AND t.table_name = c.relname
    WHERE c.relkind IN ('r', 'p')
      AND (t.table_name IS NOT NULL OR obj_description(c.oid, 'pg_class') LIKE 'tenant-store: scope %')";

async fn audit_tables(
    conn: &mut PgConnection,
    role: &str,
    findings: &mut Vec<String>,
) -> Result<()> {
    let missing: Vec<String> = sqlx::query_scalar(
        "SELECT format('%I.%I', t.table_schema, t.table_name) FROM tenant_store_private.tenant_tables t
         WHERE to_regclass(format('%I.%I', t.table_schema, t.table_name)) IS NULL ORDER BY 1",
    )
    .persistent(false)
    .fetch_all(&mut *conn)
    .await?;
    for table in missing {
        findings.push(format!(
            "tenant table {table} was created by the migrations but is gone"
        ));
    }

    let tables: Vec<TableRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT format('%I.%I', n.nspname, c.relname), tt.scope,
                c.relrowsecurity, c.relforcerowsecurity,
                pg_catalog.pg_has_role(current_user, c.relowner, 'MEMBER')
         FROM ({TENANT_TABLES}) tt
         JOIN pg_catalog.pg_class c ON c.oid = tt.oid
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         ORDER BY 1"
    )))
    .persistent(false)
    .fetch_all(&mut *conn)
    .await?;
    if tables.is_empty() {
        tracing::warn!(
            "tenant-store audit found no tenant-store tables: are the migrations applied?"
        );
    }
    for (table, scope, enabled, forced, owns) in &tables {
        if *owns {
            findings.push(format!(
                "role `{role}` owns table {table} and could disable its RLS; connect as the application role"
            ));
        }
        if !enabled {
            findings.push(format!(
                "table {table} does not have row level security enabled; fix: ALTER TABLE {table} \
                 ENABLE ROW LEVEL SECURITY;"
            ));
        }
        if !forced {
            findings.push(format!(
                "table {table} does not force row level security; fix: ALTER TABLE {table} FORCE \
                 ROW LEVEL SECURITY;"
            ));
        }
        let Some(scope) = scope else {
            findings.push(format!("table {table} has no known scope column"));
            continue;
        };
        audit_policies(conn, table, scope, findings).await?;
    }
    Ok(())
}

/// Foreign keys into a tenant table that do not pair its scope column with the referencing
/// table's own: from a table that is not a tenant table at all, or between tenant tables over
/// other columns. Referential checks bypass RLS, so such a key lets one tenant's row reference
/// another tenant's: the insert succeeds or fails by whether the other tenant has the row (an
/// existence oracle), and `ON DELETE CASCADE` or `SET NULL` reaches across tenants. The
/// references the macro makes lead with the scope column.
async fn audit_references(conn: &mut PgConnection, findings: &mut Vec<String>) -> Result<()> {
    let keys: Vec<(String, String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT format('%I.%I', n.nspname, c.relname), pg_catalog.quote_ident(con.conname),
                con.confrelid::regclass::text
         FROM pg_catalog.pg_constraint con
         JOIN ({TENANT_TABLES}) parent ON parent.oid = con.confrelid
         LEFT JOIN ({TENANT_TABLES}) child ON child.oid = con.conrelid
         JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE con.contype = 'f'
           AND NOT EXISTS (
               SELECT FROM ROWS FROM (pg_catalog.unnest(con.conkey), pg_catalog.unnest(con.confkey)) AS k(from_col, to_col)
               JOIN pg_catalog.pg_attribute fa ON fa.attrelid = con.conrelid AND fa.attnum = k.from_col
               JOIN pg_catalog.pg_attribute ta ON ta.attrelid = con.confrelid AND ta.attnum = k.to_col
               WHERE fa.attname = child.scope AND ta.attname = parent.scope)
         ORDER BY 1, 2"
    )))
    .persistent(false)
    .fetch_all(&mut *conn)
    .await?;
    for (table, key, parent) in keys {
        findings.push(format!(
            "foreign key {key} of table {table} references {parent} without pairing the tenant \
             columns: a row can reference another tenant's, and whether it exists shows; fix: \
             ALTER TABLE {table} DROP CONSTRAINT {key}; and reference it with \
             `#[tenant_store(references = ...)]`, whose key leads with the tenant column"
        ));
    }
    Ok(())
}

/// (table, `unique` or `exclusion`, index, tenant column, the constraint the index backs)
type UniqueRow = (String, String, String, String, Option<String>);

/// Unique indexes (and so unique and primary key constraints) and exclusion constraints of
/// tenant tables whose key columns leave out the tenant column, or, for an exclusion, compare
/// it with anything but `=`. Such a key is shared by every tenant: an insert refused for a
/// conflict says that another tenant holds the value (an existence oracle). The keys the macro
/// makes (`id`, `unique = ...`) lead with the tenant column.
async fn audit_unique_keys(conn: &mut PgConnection, findings: &mut Vec<String>) -> Result<()> {
    let keys: Vec<UniqueRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT format('%I.%I', n.nspname, c.relname),
                CASE WHEN i.indisexclusion THEN 'exclusion' ELSE 'unique' END,
                format('%I.%I', n.nspname, ic.relname), tt.scope,
                pg_catalog.quote_ident(con.conname)
         FROM pg_catalog.pg_index i
         JOIN ({TENANT_TABLES}) tt ON tt.oid = i.indrelid
         JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
         JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_catalog.pg_constraint con
           ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
         WHERE (i.indisunique OR i.indisexclusion) AND tt.scope IS NOT NULL
           AND NOT EXISTS (
               SELECT FROM pg_catalog.pg_attribute a
               WHERE a.attrelid = i.indrelid AND a.attname = tt.scope
                 AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])
                 AND (NOT i.indisexclusion OR EXISTS (
                     SELECT FROM ROWS FROM (pg_catalog.unnest(con.conkey), pg_catalog.unnest(con.conexclop)) AS k(attnum, op)
                     JOIN pg_catalog.pg_operator o ON o.oid = k.op
                     WHERE k.attnum = a.attnum AND o.oprname = '=')))
         ORDER BY 1, 2"
    )))
    .persistent(false)
    .fetch_all(&mut *conn)
    .await?;
    for (table, kind, index, scope, constraint) in keys {
        let drop = match constraint {
            Some(name) => format!("ALTER TABLE {table} DROP CONSTRAINT {name};"),
            None => format!("DROP INDEX {index};"),
        };
        findings.push(format!(
            "{kind} index {index} of table {table} leaves out the tenant column {scope}: a \
             conflict tells one tenant what another wrote; fix: {drop} and declare the key \
             with `#[tenant_store(unique = ...)]`, which leads with the tenant column"
        ));
    }
    Ok(())
}

/// (name, permissive, command, for every role, USING, WITH CHECK)
type PolicyRow = (String, bool, String, bool, Option<String>, Option<String>);

async fn audit_policies(
    conn: &mut PgConnection,
    table: &str,
    scope: &str,
    findings: &mut Vec<String>,
) -> Result<()> {
    let policies: Vec<PolicyRow> =
        sqlx::query_as(
            "SELECT polname::text, polpermissive, polcmd::text, polroles = '{0}',
                    pg_catalog.pg_get_expr(polqual, polrelid), pg_catalog.pg_get_expr(polwithcheck, polrelid)
             FROM pg_catalog.pg_policy WHERE polrelid = $1::regclass ORDER BY 1",
        )
        .bind(table)
        .persistent(false)
        .fetch_all(&mut *conn)
        .await?;
    let expected = printed_policy(scope);
    let mut generated = false;
    for (name, permissive, cmd, all_roles, using, check) in policies {
        if name == "tenant_isolation" {
            generated = true;
            let exact = permissive
                && cmd == "*"
                && all_roles
                && using.as_deref() == Some(expected.as_str())
                && check.as_deref() == Some(expected.as_str());
            if !exact {
                findings.push(format!(
                    "table {table}: policy `tenant_isolation` differs from the generated one \
                     (USING {}, WITH CHECK {}); expected a permissive policy for ALL commands and roles with {expected} in both",
                    using.unwrap_or_else(|| "none".into()),
                    check.unwrap_or_else(|| "none".into()),
                ));
            }
        } else if permissive {
            findings.push(format!(
                "table {table}: permissive policy `{name}` (USING {}) is ORed with `tenant_isolation` \
                 and could widen access; fix: DROP POLICY {} ON {table}; (or re-create it AS \
                 RESTRICTIVE)",
                using.unwrap_or_else(|| "none".into()),
                ident(&name)
            ));
        }
    }
    if !generated {
        findings.push(format!("table {table} has no `tenant_isolation` policy"));
    }
    Ok(())
}

/// The generated policy expression ([`policy_expression`](super::migrate::policy_expression))
/// as `pg_get_expr` prints it back: names unquoted where they need no quotes, the literal
/// typed, the sub-select aliased.
fn printed_policy(scope: &str) -> String {
    format!(
        "({scope} = ( SELECT {PRIVATE_SCHEMA}.current_tenant('{scope}'::text) AS current_tenant))"
    )
}

async fn audit_views_and_definers(
    conn: &mut PgConnection,
    findings: &mut Vec<String>,
) -> Result<()> {
    // Views and materialized views that reach a tenant table, directly or through other views.
    let views: Vec<(String, String, String, bool, bool)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "WITH RECURSIVE reach(oid, base) AS (
                 SELECT tt.oid, tt.oid FROM ({TENANT_TABLES}) tt
                 UNION
                 SELECT rw.ev_class, reach.base
                 FROM reach
                 JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = reach.oid
                 JOIN pg_catalog.pg_rewrite rw ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND rw.oid = d.objid
                 WHERE rw.ev_class <> reach.oid
             )
             SELECT DISTINCT format('%I.%I', n.nspname, v.relname), v.relkind::text,
                    pg_catalog.pg_get_userbyid(v.relowner)::text,
                    r.rolsuper OR r.rolbypassrls,
                    coalesce(v.reloptions @> ARRAY['security_invoker=true'] OR v.reloptions @> ARRAY['security_invoker=on'], false)
             FROM reach
             JOIN pg_catalog.pg_class v ON v.oid = reach.oid AND v.relkind IN ('v', 'm')
             JOIN pg_catalog.pg_namespace n ON n.oid = v.relnamespace
             JOIN pg_catalog.pg_roles r ON r.oid = v.relowner
             WHERE has_table_privilege(current_user, v.oid, 'SELECT')
             ORDER BY 1"
        )))
        .persistent(false)
        .fetch_all(&mut *conn)
        .await?;
    for (view, kind, owner, owner_bypasses, invoker) in views {
        if kind == "m" {
            findings.push(format!(
                "materialized view {view} reaches a tenant table and is readable by this role: it \
                 stores rows without RLS; fix: DROP MATERIALIZED VIEW {view};"
            ));
        } else if owner_bypasses && !invoker {
            findings.push(format!(
                "view {view} reaches a tenant table, is readable by this role and runs as `{owner}`, \
                 which bypasses RLS; fix: ALTER VIEW {view} SET (security_invoker = true); (or \
                 DROP VIEW {view};)"
            ));
        }
    }

    let definers: Vec<(String, String)> = sqlx::query_as(
        "SELECT p.oid::regprocedure::text, pg_catalog.pg_get_userbyid(p.proowner)::text
         FROM pg_catalog.pg_proc p
         JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
         JOIN pg_catalog.pg_roles r ON r.oid = p.proowner
         WHERE p.prosecdef AND (r.rolsuper OR r.rolbypassrls)
           AND n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND has_function_privilege(current_user, p.oid, 'EXECUTE')
         ORDER BY 1",
    )
    .persistent(false)
    .fetch_all(&mut *conn)
    .await?;
    for (function, owner) in definers {
        findings.push(format!(
            "SECURITY DEFINER function {function} is executable by this role and runs as \
             `{owner}`, which bypasses RLS; fix: DROP FUNCTION {function}; (or REVOKE EXECUTE ON \
             FUNCTION {function} FROM PUBLIC, <this role>;)"
        ));
    }
    Ok(())
}

/// One function of the private schema as the catalogue has it.
struct FunctionRow {
    owner: String,
    secdef: bool,
    config: Option<Vec<String>>,
    language: String,
    /// The C library's name, for a C function.
    library: Option<String>,
    /// The body, or a C function's symbol.
    src: String,
}

/// [`FunctionRow`]'s columns, in its order.
type FunctionColumns = (
    String,
    bool,
    Option<Vec<String>>,
    String,
    Option<String>,
    String,
);

async fn function_row(conn: &mut PgConnection, name: &str) -> Result<Option<FunctionRow>> {
    let row: Option<FunctionColumns> = sqlx::query_as(
        "SELECT pg_catalog.pg_get_userbyid(p.proowner)::text, p.prosecdef, p.proconfig,
                    l.lanname::text, p.probin, p.prosrc
             FROM pg_catalog.pg_proc p
             JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
             JOIN pg_catalog.pg_language l ON l.oid = p.prolang
             WHERE n.nspname = $1 AND p.proname = $2",
    )
    .bind(PRIVATE_SCHEMA)
    .bind(name)
    .persistent(false)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(
        |(owner, secdef, config, language, library, src)| FunctionRow {
            owner,
            secdef,
            config,
            language,
            library,
            src,
        },
    ))
}

fn owned_by_definer(f: &str, row: &FunctionRow, findings: &mut Vec<String>) {
    if row.owner != DEFINER_ROLE {
        findings.push(format!(
            "function {f} is owned by `{}`, not `{DEFINER_ROLE}`",
            row.owner
        ));
    }
}

/// The native `current_tenant` ([`native`]): the library's function, as its caller, with no
/// setting of its own, owned by the definer role.
fn audit_native(row: &FunctionRow, findings: &mut Vec<String>) {
    let f = format!("{PRIVATE_SCHEMA}.current_tenant");
    owned_by_definer(&f, row, findings);
    let ours = !row.secdef
        && row.config.is_none()
        && row.library.as_deref() == Some(native::LIBRARY)
        && row.src == native::SYMBOL;
    if !ours {
        findings.push(format!(
            "function {f} is a C function other than the native check `migrations native` \
             creates ('{}', '{}', SECURITY INVOKER, no settings); put the PL/pgSQL check \
             back: apply tenant_store::postgres::native::disable_sql() as a superuser",
            native::LIBRARY,
            native::SYMBOL
        ));
    }
}

/// Objects the migrations never create, which could carry rows or the key past RLS:
/// - a rule or trigger on a tenant table runs its own statements on every tenant's rows (a copy
///   into a table without RLS, a `pg_notify` of each row);
/// - a view over the private schema runs as its owner, who may read the keys;
/// - a `SECURITY DEFINER` function the role may call, whose owner may read the keys (a member of
///   the definer role, as the migrating owner is) or owns a tenant table (and could lift its
///   RLS from inside the function).
///
/// The one trigger the migrations create is the one that keeps a renamed column equal to its
/// old name while two releases run ([`SYNC_RENAMED`](super::migrate::SYNC_RENAMED)): accepted
/// when its function is exactly that one (it only rewrites the row being written).
///
/// Each finding carries the statement that removes the object.
async fn audit_drift(conn: &mut PgConnection, findings: &mut Vec<String>) -> Result<()> {
    let sync: Option<(String, bool, Option<Vec<String>>, String)> = sqlx::query_as(
        "SELECT pg_catalog.pg_get_userbyid(p.proowner)::text, p.prosecdef, p.proconfig, p.prosrc
         FROM pg_catalog.pg_proc p
         WHERE p.oid = pg_catalog.to_regprocedure('tenant_store_private.sync_renamed()')",
    )
    .persistent(false)
    .fetch_optional(&mut *conn)
    .await?;
    let sync_is_ours = sync.as_ref().is_some_and(|(owner, secdef, config, src)| {
        owner == DEFINER_ROLE
            && !secdef
            && config.as_deref() == Some(&["search_path=pg_catalog, pg_temp".to_owned()][..])
            && src == SYNC_RENAMED_BODY
    });
    if sync.is_some() && !sync_is_ours {
        findings.push(format!(
            "function {PRIVATE_SCHEMA}.sync_renamed differs from the one the migrations create \
             (owner `{DEFINER_ROLE}`, SECURITY INVOKER, its own body)"
        ));
    }
    let on_tables: Vec<(String, String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH t AS (
             SELECT tt.oid, format('%I.%I', n.nspname, c.relname) AS name
             FROM ({TENANT_TABLES}) tt
             JOIN pg_catalog.pg_class c ON c.oid = tt.oid
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         )
         SELECT 'rule', quote_ident(rw.rulename), t.name
         FROM pg_catalog.pg_rewrite rw JOIN t ON t.oid = rw.ev_class
         WHERE rw.rulename <> '_RETURN'
         UNION ALL
         SELECT 'trigger', quote_ident(tg.tgname), t.name
         FROM pg_catalog.pg_trigger tg JOIN t ON t.oid = tg.tgrelid
         WHERE NOT tg.tgisinternal
           AND NOT ($1 AND tg.tgfoid = pg_catalog.to_regprocedure('tenant_store_private.sync_renamed()'))
         ORDER BY 1, 3, 2"
    )))
    .bind(sync_is_ours)
    .persistent(false)
    .fetch_all(&mut *conn)
    .await?;
    for (kind, name, table) in on_tables {
        let upper = kind.to_uppercase();
        findings.push(format!(
            "tenant table {table} has {kind} `{name}`, which the migrations do not create: it runs on \
             every tenant's rows and can copy them past RLS; remove it: DROP {upper} {name} ON {table};"
        ));
    }

    let views: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT format('%I.%I', vn.nspname, v.relname)
         FROM pg_catalog.pg_depend d
         JOIN pg_catalog.pg_rewrite rw ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND rw.oid = d.objid
         JOIN pg_catalog.pg_class c ON d.refclassid = 'pg_catalog.pg_class'::regclass AND c.oid = d.refobjid
         JOIN pg_catalog.pg_class v ON v.oid = rw.ev_class
         JOIN pg_catalog.pg_namespace vn ON vn.oid = v.relnamespace
         WHERE c.relnamespace = $1::regnamespace AND rw.ev_class <> c.oid
         ORDER BY 1",
    )
    .bind(PRIVATE_SCHEMA)
    .persistent(false)
    .fetch_all(&mut *conn)
    .await?;
    for view in views {
        findings.push(format!(
            "view {view} reads {PRIVATE_SCHEMA} as its owner, who may read the keys; remove it: DROP VIEW {view};"
        ));
    }

    let definers: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)),
                r.rolname::text
         FROM pg_catalog.pg_proc p
         JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
         JOIN pg_catalog.pg_roles r ON r.oid = p.proowner
         WHERE p.prosecdef
           -- Reported above: a definer function of a role that bypasses RLS.
           AND NOT (r.rolsuper OR r.rolbypassrls)
           AND NOT (p.pronamespace = $1::regnamespace AND p.proowner = $2::regrole)
           AND p.pronamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
           AND has_function_privilege(current_user, p.oid, 'EXECUTE')
           AND (pg_catalog.pg_has_role(p.proowner, $2::regrole, 'USAGE')
                OR EXISTS (SELECT FROM ({TENANT_TABLES}) tt
                           JOIN pg_catalog.pg_class c ON c.oid = tt.oid
                           WHERE pg_catalog.pg_has_role(p.proowner, c.relowner, 'USAGE')))
         ORDER BY 1"
    )))
    .bind(PRIVATE_SCHEMA)
    .bind(DEFINER_ROLE)
    .persistent(false)
    .fetch_all(&mut *conn)
    .await?;
    for (function, owner) in definers {
        findings.push(format!(
            "SECURITY DEFINER function {function} is executable by this role and runs as `{owner}`, \
             who may read the keys or lift a tenant table's RLS; remove it: DROP FUNCTION {function};"
        ));
    }
    Ok(())
}
