//! The native tenant check (`tenant_store::postgres::native`), each test on a database of its
//! own with the examples' schema: turned on with the migration command as a superuser, it passes
//! the isolation kit and the start-up audit, answers exactly what the PL/pgSQL check answers for
//! every token it is shown (one it remembers, or one a byte away from it), and turns off again.
//!
//! The library must be on the server: `scripts/services.sh up pg` builds `pgext/` and installs
//! it.

use std::process::ExitCode;
use std::time::Duration;

use sqlx::{Connection as _, PgConnection, Row as _};
use tenant_store::postgres::Db;
use tenant_store::testing;
use tenant_store::{Page, Principal};
use tenant_store_examples::memory::{Memory, NewMemory};
use tenant_store_tests::fixtures::{self, Fixture as _};
use tenant_store_tests::{
    ScratchDb, key, options, raw_pool, sign_context, super_url, with_database,
};
use uuid::Uuid;

fn cli(args: &[&str]) -> ExitCode {
    let migrations = tenant_store::cli::Migrations::postgres(tenant_store_examples::entities());
    let args: Vec<String> = std::iter::once("migrations")
        .chain(args.iter().copied())
        .map(str::to_owned)
        .collect();
    tenant_store::cli::run(args, &migrations)
}

/// `migrations native [--off]` on `scratch`, as the superuser, off the runtime's workers.
async fn native(scratch: &ScratchDb, on: bool) {
    let url = with_database(&super_url(), &scratch.name);
    let exit = tokio::task::spawn_blocking(move || {
        let mut args = vec!["native", "--database-url", url.as_str()];
        if !on {
            args.push("--off");
        }
        cli(&args)
    })
    .await
    .unwrap();
    assert_eq!(
        exit,
        ExitCode::SUCCESS,
        "migrations native (on: {on}); is pgext/ installed? scripts/services.sh up pg builds it"
    );
}

/// `migrations audit` as the application role.
async fn audit(scratch: &ScratchDb) -> ExitCode {
    let url = scratch.app_url();
    tokio::task::spawn_blocking(move || cli(&["audit", "--database-url", &url]))
        .await
        .unwrap()
}

/// The language of `current_tenant` and whether `current_tenant_verify` exists.
async fn form(scratch: &ScratchDb) -> (String, bool) {
    let su = raw_pool(&with_database(&super_url(), &scratch.name), 1).await;
    let row = sqlx::query(
        "SELECT l.lanname::text,
                pg_catalog.to_regprocedure('tenant_store_private.current_tenant_verify(text)') IS NOT NULL
         FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang
         WHERE p.oid = 'tenant_store_private.current_tenant(text)'::regprocedure",
    )
    .fetch_one(&su)
    .await
    .unwrap();
    su.close().await;
    (row.get(0), row.get(1))
}

/// A scratch database with the examples' schema and the native check on.
async fn scratch_with_native(prefix: &str) -> ScratchDb {
    let scratch = ScratchDb::new(prefix).await;
    drop(scratch.examples_db(1).await);
    native(&scratch, true).await;
    assert_eq!(form(&scratch).await, ("c".to_owned(), true));
    scratch
}

#[tokio::test]
async fn the_kit_and_the_audit_pass_with_the_native_check_and_after_it_is_turned_off() {
    let scratch = scratch_with_native("ts_native_kit").await;
    assert_eq!(audit(&scratch).await, ExitCode::SUCCESS, "audit, native on");
    let db = Db::connect_with(&scratch.app_url(), key(), options().max_connections(4))
        .await
        .expect("Db::connect audits the native form and checks the key through it");
    testing::postgres::isolation::<Memory>(&db, fixtures::Pg::new)
        .await
        .assert_isolated();
    drop(db);

    native(&scratch, false).await;
    assert_eq!(form(&scratch).await, ("plpgsql".to_owned(), false));
    assert_eq!(
        audit(&scratch).await,
        ExitCode::SUCCESS,
        "audit, native off"
    );
    let db = Db::connect_with(&scratch.app_url(), key(), options().max_connections(4))
        .await
        .unwrap();
    testing::postgres::isolation::<Memory>(&db, fixtures::Pg::new)
        .await
        .assert_isolated();
    drop(db);
    scratch.drop().await;
}

#[tokio::test]
async fn a_migration_that_changes_the_check_puts_the_plpgsql_one_back() {
    // What a later release's `CREATE OR REPLACE` of the check does when the native one is on:
    // the newest committed one, applied as the tables' owner, the way `apply` would.
    let scratch = scratch_with_native("ts_native_migration").await;
    let dir = tenant_store_examples::migrations_dir();
    let newest = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with("_tenant_store_functions.sql"))
        .max()
        .expect("a migration of the base functions");
    let sql = std::fs::read_to_string(&newest).unwrap();
    assert!(
        sql.contains("FUNCTION tenant_store_private.current_tenant("),
        "{}",
        newest.display()
    );
    let owner = raw_pool(&scratch.owner_url(), 1).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("BEGIN;\n{sql}\nCOMMIT;")))
        .execute(&owner)
        .await
        .unwrap();
    owner.close().await;
    // The PL/pgSQL check is back (its copy under the other name stays, unused and unexecutable).
    assert_eq!(form(&scratch).await, ("plpgsql".to_owned(), true));
    assert_eq!(audit(&scratch).await, ExitCode::SUCCESS);
    drop(
        Db::connect_with(&scratch.app_url(), key(), options())
            .await
            .expect("the PL/pgSQL check verifies the key again"),
    );
    scratch.drop().await;
}

#[tokio::test]
async fn the_audit_refuses_a_c_function_that_is_not_the_native_check() {
    // In the check's place: another library's function, which answers whatever it answers;
    // and the native one running as its owner.
    for (replacement, what) in [
        (
            "LANGUAGE c STABLE AS '$libdir/pgcrypto', 'pg_random_uuid'",
            "pgcrypto's random uuid",
        ),
        (
            "LANGUAGE c STABLE SECURITY DEFINER AS 'tenant_store_native', 'current_tenant'",
            "the native check as SECURITY DEFINER",
        ),
    ] {
        let scratch = ScratchDb::new("ts_native_other").await;
        drop(scratch.examples_db(1).await);
        native(&scratch, true).await;
        let su = raw_pool(&with_database(&super_url(), &scratch.name), 1).await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE OR REPLACE FUNCTION tenant_store_private.current_tenant(scope text)
                 RETURNS uuid {replacement}"
        )))
        .execute(&su)
        .await
        .unwrap();
        su.close().await;
        assert_eq!(audit(&scratch).await, ExitCode::FAILURE, "{what}");
        let err = Db::connect_with(&scratch.app_url(), key(), options())
            .await
            .expect_err(what);
        assert!(
            err.to_string()
                .contains("is a C function other than the native check"),
            "{what}: {err}"
        );
        scratch.drop().await;
    }
}

/// The server's clock in milliseconds since the epoch, and the backend's pid.
async fn clock_and_pid(conn: &mut PgConnection) -> (i64, i32) {
    let row = sqlx::query(
        "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint, pg_backend_pid()",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    (row.get(0), row.get(1))
}

/// Sets the session's context to `token` and asks `current_tenant(scope)`.
async fn tenant_for(
    conn: &mut PgConnection,
    token: &str,
    scope: &str,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar(
        "SELECT tenant_store_private.current_tenant($2)
         FROM (SELECT pg_catalog.set_config('tenant_store.ctx', $1, false)) s",
    )
    .bind(token)
    .bind(scope)
    .fetch_one(&mut *conn)
    .await
}

#[tokio::test]
async fn a_remembered_context_answers_only_what_the_check_answers() {
    let scratch = scratch_with_native("ts_native_memory").await;
    let mut conn = PgConnection::connect(&scratch.app_url()).await.unwrap();
    let (user, org) = (Uuid::new_v4(), Uuid::new_v4());
    let (now, pid) = clock_and_pid(&mut conn).await;
    let token = sign_context(pid, &format!("e{}", now + 60_000), user, org);

    // Asked, then remembered: the same answers, for either scope.
    for _ in 0..2 {
        assert_eq!(
            tenant_for(&mut conn, &token, "user_id").await.unwrap(),
            Some(user)
        );
        assert_eq!(
            tenant_for(&mut conn, &token, "org_id").await.unwrap(),
            Some(org)
        );
        assert_eq!(tenant_for(&mut conn, &token, "other").await.unwrap(), None);
    }

    // Differential: on the same backend, the native check and the PL/pgSQL one it stands in
    // front of (made executable for this test's role, in this database only) answer alike for
    // the remembered token and for every token one byte away from it, in both scopes, each
    // native answer asked right after the remembered token was answered from memory. None of
    // the near ones verifies (the MAC no longer matches), so none may get the tenant.
    let su = raw_pool(&with_database(&super_url(), &scratch.name), 1).await;
    sqlx::raw_sql(
        "GRANT EXECUTE ON FUNCTION tenant_store_private.current_tenant_verify(text) TO tenant_store_app",
    )
    .execute(&su)
    .await
    .unwrap();
    su.close().await;
    let mut inputs = vec![
        token.clone(),
        format!("{token}0"),
        token[..token.len() - 1].to_owned(),
    ];
    for i in 0..token.len() {
        let mut bytes = token.clone().into_bytes();
        bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
        inputs.push(String::from_utf8(bytes).unwrap());
    }
    let code = |r: sqlx::Result<Option<Uuid>>| {
        r.map_err(|e| {
            e.as_database_error()
                .and_then(|d| d.code())
                .map(|c| c.into_owned())
        })
    };
    for input in &inputs {
        for scope in ["user_id", "org_id"] {
            assert_eq!(
                tenant_for(&mut conn, &token, scope).await.unwrap(),
                Some(if scope == "user_id" { user } else { org })
            );
            let native = code(tenant_for(&mut conn, input, scope).await);
            let check = code(
                sqlx::query_scalar(
                    "SELECT tenant_store_private.current_tenant_verify($2)
                     FROM (SELECT pg_catalog.set_config('tenant_store.ctx', $1, false)) s",
                )
                .bind(input)
                .bind(scope)
                .fetch_one(&mut conn)
                .await,
            );
            assert_eq!(native, check, "{scope} of {input}");
            if input != &token {
                assert_eq!(native, Ok(None), "{scope} of {input}");
            }
        }
    }

    // Another session of the same role: the token names this backend, so there it is refused
    // with the check's error, remembered here or not.
    let mut other = PgConnection::connect(&scratch.app_url()).await.unwrap();
    let err = tenant_for(&mut other, &token, "user_id").await.unwrap_err();
    assert_eq!(
        err.as_database_error().and_then(|e| e.code()).as_deref(),
        Some("TS001"),
        "{err}"
    );
    scratch.drop().await;
}

#[tokio::test]
async fn a_remembered_context_is_held_to_its_bound_in_every_transaction() {
    let scratch = scratch_with_native("ts_native_bound").await;
    let mut conn = PgConnection::connect(&scratch.app_url()).await.unwrap();
    let (user, org) = (Uuid::new_v4(), Uuid::new_v4());

    // A transaction's token: remembered in its transaction, refused in the next one.
    let mut tx = conn.begin().await.unwrap();
    let started: i64 = sqlx::query_scalar(
        "SELECT (extract(epoch FROM transaction_timestamp()) * 1000000)::bigint",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let token = sign_context(pid, &format!("t{started}"), user, org);
    for _ in 0..2 {
        assert_eq!(
            tenant_for(&mut tx, &token, "user_id").await.unwrap(),
            Some(user)
        );
    }
    tx.commit().await.unwrap();
    assert_eq!(
        tenant_for(&mut conn, &token, "user_id").await.unwrap(),
        None
    );

    // A statement token that expires 300 ms from now: remembered, then refused by a
    // transaction that starts after its expiry, well within the second the memory lasts.
    let (now, pid) = clock_and_pid(&mut conn).await;
    let token = sign_context(pid, &format!("e{}", now + 300), user, org);
    assert_eq!(
        tenant_for(&mut conn, &token, "user_id").await.unwrap(),
        Some(user)
    );
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(
        tenant_for(&mut conn, &token, "user_id").await.unwrap(),
        None
    );
    scratch.drop().await;
}

#[tokio::test]
async fn a_retired_key_stops_verifying_within_a_second_of_its_last_check() {
    let scratch = scratch_with_native("ts_native_retired").await;
    let mut conn = PgConnection::connect(&scratch.app_url()).await.unwrap();
    let (user, org) = (Uuid::new_v4(), Uuid::new_v4());
    let (now, pid) = clock_and_pid(&mut conn).await;
    let token = sign_context(pid, &format!("e{}", now + 60_000), user, org);
    assert_eq!(
        tenant_for(&mut conn, &token, "user_id").await.unwrap(),
        Some(user)
    );
    let owner = raw_pool(&scratch.owner_url(), 1).await;
    sqlx::query("UPDATE tenant_store_private.keys SET retired_at = now() WHERE id = $1")
        .bind(key().id())
        .execute(&owner)
        .await
        .unwrap();
    owner.close().await;
    // Remembered for what is left of the second since its check (the PL/pgSQL check would
    // refuse it now), then checked again and refused.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(
        tenant_for(&mut conn, &token, "user_id").await.unwrap(),
        None
    );
    scratch.drop().await;
}

#[tokio::test]
async fn a_tenant_handle_keeps_working_past_its_tokens_lifetime() {
    // The client uses a statement token again while half its lifetime is left: calls spread
    // over three lifetimes must each carry one that still verifies.
    let scratch = scratch_with_native("ts_native_reuse").await;
    let db = Db::connect_with(
        &scratch.app_url(),
        key(),
        options()
            .max_connections(1)
            .token_ttl(Duration::from_millis(400)),
    )
    .await
    .unwrap();
    let who = Principal::new(Uuid::new_v4(), Uuid::new_v4()).unwrap();
    let mut tenant = db.tenant(&who);
    let store = Memory::store();
    let new: NewMemory = fixtures::Pg::new(1, None);
    let created = store.create(&mut tenant, new).await.unwrap();
    for _ in 0..12 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let got = store.get(&mut tenant, created.id).await.unwrap();
        assert_eq!(got.map(|m| m.id), Some(created.id));
        let page = store
            .list(&mut tenant, Default::default(), Page::first(10))
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1);
    }
    drop(db);
    scratch.drop().await;
}
