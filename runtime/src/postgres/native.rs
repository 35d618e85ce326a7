//! The native tenant check: an opt-in replacement of `tenant_store_private.current_tenant`
//! that remembers, per server session, the contexts it has seen verify.
//!
//! ## Why
//! The signed context's check in PL/pgSQL costs the server about 55 µs a statement, whatever
//! the statement: the key lookup, pgcrypto's HMAC, and PL/pgSQL's set-up in every new
//! transaction (a [`TenantDb`](super::TenantDb) call is one). A policy that reads a plain
//! setting costs next to nothing, and so does this check when it has seen the context before
//! (`BENCHMARKS.md`, groups "pgbench" and "pg native").
//!
//! ## What it is
//! `pgext/tenant_store_native.c`, a PostgreSQL extension library of one function (built with
//! the server's headers: `make -C pgext install`; `scripts/services.sh` does it). Turning it
//! on ([`enable_sql`], or `migrations native --database-url <superuser URL>`), in one
//! transaction:
//! - the PL/pgSQL check is created again as `current_tenant_verify` (the same body, owner,
//!   `SECURITY DEFINER` and `search_path`; no role may execute it);
//! - `current_tenant` becomes the C function. The policies call it by its oid, so none of them
//!   changes.
//!
//! The C function answers from its memory when the setting is byte for byte a context (with
//! the same scope) that `current_tenant_verify` accepted on this backend less than a second
//! before this transaction started, checking again the part that depends on the transaction
//! (the token's bound); anything else it hands to `current_tenant_verify`, which decides, and
//! raises on a token signed for another backend. The source's header says why this keeps
//! every guarantee. What changes: a retired key stops verifying on a session that just used it
//! within a second rather than at once.
//!
//! The client reuses a [`TenantDb`](super::TenantDb) statement's token on its connection while
//! at least half its lifetime is left ([`DbOptions::token_ttl`](super::DbOptions::token_ttl)),
//! so the contexts repeat; a token made for one transaction never repeats.
//!
//! ## Where it does not apply
//! Creating a C function takes a superuser, and the library must be installed on every server
//! (the standbys too): managed services that do not load your own libraries keep the PL/pgSQL
//! check, which stays the default. A later release's migration that changes the check
//! re-creates `current_tenant` in PL/pgSQL (it turns this off, never weakens it); run
//! `migrations native` again after it. [`disable_sql`] puts the PL/pgSQL check back.
//!
//! The start-up audit accepts either form, each exactly as created here.

use super::context::{DEFINER_ROLE, PRIVATE_SCHEMA};
use super::migrate::CURRENT_TENANT;

/// The library `make -C pgext install` puts in the server's library folder.
pub const LIBRARY: &str = "tenant_store_native";

/// The C function's symbol in [`LIBRARY`].
pub(crate) const SYMBOL: &str = "current_tenant";

/// The name the PL/pgSQL check takes while the native one is on.
pub(crate) const VERIFY: &str = "current_tenant_verify";

/// The statements that turn the native check on, for a superuser, in one transaction.
pub fn enable_sql() -> String {
    let verify = CURRENT_TENANT.replace().replacen(
        &format!("{PRIVATE_SCHEMA}.current_tenant("),
        &format!("{PRIVATE_SCHEMA}.{VERIFY}("),
        1,
    );
    format!(
        "BEGIN;
SET LOCAL ROLE {DEFINER_ROLE};
{verify}REVOKE ALL ON FUNCTION {PRIVATE_SCHEMA}.{VERIFY}(text) FROM PUBLIC;
RESET ROLE;
CREATE OR REPLACE FUNCTION {PRIVATE_SCHEMA}.current_tenant(scope text) RETURNS uuid
    LANGUAGE c STABLE PARALLEL SAFE
    AS '{LIBRARY}', '{SYMBOL}';
COMMIT;
"
    )
}

/// The statements that put the PL/pgSQL check back, for a superuser, in one transaction.
pub fn disable_sql() -> String {
    let check = CURRENT_TENANT.replace();
    format!(
        "BEGIN;
{check}DROP FUNCTION IF EXISTS {PRIVATE_SCHEMA}.{VERIFY}(text);
COMMIT;
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verify_function_is_the_check_under_another_name() {
        let on = enable_sql();
        let body = CURRENT_TENANT.create();
        let body = &body[body.find("RETURNS").unwrap()..];
        assert!(
            on.contains(&format!("{PRIVATE_SCHEMA}.{VERIFY}(scope text) {body}")),
            "{on}"
        );
        assert!(!on.contains("CREATE FUNCTION"), "{on}");
        let off = disable_sql();
        assert!(
            off.contains(&format!(
                "CREATE OR REPLACE FUNCTION {PRIVATE_SCHEMA}.current_tenant(scope text) {body}"
            )),
            "{off}"
        );
    }
}
