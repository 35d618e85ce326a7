//! The start-up audit: refuse to run with a role that could bypass Row Level Security.

use sqlx::PgConnection;

use crate::{Error, Result};

/// Checks the pool's role and every tenant-store table (those whose comment the generated
/// migration set), and refuses with [`Error::Audit`] listing every finding when:
/// - the role is a superuser or has `BYPASSRLS`, or is a member of a role that is (it could
///   `SET ROLE` to it);
/// - the role owns a tenant-store table, or is a member of its owner (an owner can disable RLS
///   or drop the policy);
/// - a tenant-store table does not have RLS enabled and forced, or lacks its `tenant_isolation`
///   policy.
pub async fn audit(conn: &mut PgConnection) -> Result<()> {
    let mut findings = Vec::new();

    let (role, is_super, bypass): (String, bool, bool) = sqlx::query_as(
        "SELECT rolname::text, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(&mut *conn)
    .await?;
    if is_super {
        findings.push(format!("role `{role}` is a superuser, which bypasses RLS"));
    }
    if bypass {
        findings.push(format!("role `{role}` has BYPASSRLS"));
    }

    let privileged: Vec<String> = sqlx::query_scalar(
        "SELECT rolname::text FROM pg_roles r
         WHERE (r.rolsuper OR r.rolbypassrls) AND r.rolname <> current_user
           AND pg_has_role(current_user, r.oid, 'MEMBER')
         ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    for p in privileged {
        findings.push(format!(
            "role `{role}` is a member of `{p}`, which bypasses RLS"
        ));
    }

    let tables: Vec<(String, bool, bool, bool, bool)> = sqlx::query_as(
        "SELECT format('%I.%I', n.nspname, c.relname),
                c.relrowsecurity, c.relforcerowsecurity,
                pg_has_role(current_user, c.relowner, 'MEMBER'),
                EXISTS (SELECT 1 FROM pg_policy p
                        WHERE p.polrelid = c.oid AND p.polname = 'tenant_isolation')
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p')
           AND obj_description(c.oid, 'pg_class') LIKE 'tenant-store: scope %'
         ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    if tables.is_empty() {
        tracing::warn!(
            "tenant-store audit found no tenant-store tables: are the migrations applied?"
        );
    }
    for (table, enabled, forced, owns, has_policy) in tables {
        if owns {
            findings.push(format!(
                "role `{role}` owns table {table} and could disable its RLS; connect as the application role"
            ));
        }
        if !enabled {
            findings.push(format!(
                "table {table} does not have row level security enabled"
            ));
        }
        if !forced {
            findings.push(format!("table {table} does not force row level security"));
        }
        if !has_policy {
            findings.push(format!("table {table} has no `tenant_isolation` policy"));
        }
    }

    if findings.is_empty() {
        Ok(())
    } else {
        Err(Error::Audit(findings.join("; ")))
    }
}
