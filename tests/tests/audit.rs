//! The start-up audit refuses roles that can bypass RLS and tables that are not locked down,
//! and accepts the application role.

use tenant_store::Error;
use tenant_store::postgres::Db;
use tenant_store_tests::{ScratchDb, app_url, key, migrate, owner_url, raw_pool, super_url, via};

/// These tests change roles and tables the audit inspects; they run one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn refusal(url: &str) -> String {
    match Db::connect(url, key()).await {
        Err(Error::Audit(msg)) => msg,
        Err(other) => panic!("expected an audit refusal, got {other:?}"),
        Ok(_) => panic!("the audit accepted a role it must refuse"),
    }
}

fn with_user(url: &str, user: &str, password: &str) -> String {
    let scheme_end = url.find("://").unwrap() + 3;
    let at = url.find('@').unwrap();
    format!("{}{user}:{password}{}", &url[..scheme_end], &url[at..])
}

#[tokio::test]
async fn accepts_the_application_role() {
    let _serial = SERIAL.lock().await;
    migrate().await;
    Db::connect(&app_url(), key())
        .await
        .expect("the application role passes the audit");
}

#[tokio::test]
async fn refuses_the_tables_owner() {
    let _serial = SERIAL.lock().await;
    migrate().await;
    let msg = refusal(&owner_url()).await;
    assert!(msg.contains("owns table public.memories"), "{msg}");
}

#[tokio::test]
async fn refuses_a_superuser() {
    let _serial = SERIAL.lock().await;
    migrate().await;
    let msg = refusal(&super_url()).await;
    assert!(msg.contains("is a superuser"), "{msg}");
}

#[tokio::test]
async fn refuses_a_bypassrls_role_and_its_members() {
    let _serial = SERIAL.lock().await;
    migrate().await;
    let su = raw_pool(&super_url(), 1).await;
    sqlx::raw_sql(
        "DO $$ BEGIN
           IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ts_bypass') THEN
             CREATE ROLE ts_bypass LOGIN BYPASSRLS PASSWORD 'ts_bypass_pw' IN ROLE tenant_store_app;
           END IF;
           IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ts_member') THEN
             CREATE ROLE ts_member LOGIN PASSWORD 'ts_member_pw' IN ROLE tenant_store_app, ts_bypass;
           END IF;
         END $$",
    )
    .execute(&su)
    .await
    .unwrap();
    let msg = refusal(&with_user(&app_url(), "ts_bypass", "ts_bypass_pw")).await;
    assert!(msg.contains("has BYPASSRLS"), "{msg}");
    let msg = refusal(&with_user(&app_url(), "ts_member", "ts_member_pw")).await;
    assert!(msg.contains("is a member of `ts_bypass`"), "{msg}");
}

#[tokio::test]
async fn refuses_while_a_tenant_store_table_is_not_forced_or_lacks_its_policy() {
    let _serial = SERIAL.lock().await;
    migrate().await;
    let owner = raw_pool(&owner_url(), 1).await;
    sqlx::raw_sql(
        "DROP TABLE IF EXISTS audit_probe;
         CREATE TABLE audit_probe (org_id uuid, id uuid);
         ALTER TABLE audit_probe ENABLE ROW LEVEL SECURITY;
         COMMENT ON TABLE audit_probe IS 'tenant-store: scope org_id';
         GRANT SELECT ON audit_probe TO tenant_store_app;",
    )
    .execute(&owner)
    .await
    .unwrap();
    let msg = refusal(&app_url()).await;
    sqlx::raw_sql("DROP TABLE audit_probe")
        .execute(&owner)
        .await
        .unwrap();
    assert!(
        msg.contains("table public.audit_probe does not force row level security"),
        "{msg}"
    );
    assert!(
        msg.contains("table public.audit_probe has no `tenant_isolation` policy"),
        "{msg}"
    );
    // With the table gone, the same role passes again.
    Db::connect(&app_url(), key())
        .await
        .expect("accepted once the table is gone");
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_not_a_hang() {
    // Port 9 on loopback: nothing listens there.
    let url = via(&app_url(), "127.0.0.1:9".parse().unwrap());
    let err = Db::connect(&url, key()).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
}

/// Runs `setup` (as `setup_url`'s role), connects as the application role, runs `teardown`,
/// and returns the audit's findings (`None`: accepted).
async fn audit_after(setup_url: &str, setup: &str, teardown: &str) -> Option<String> {
    migrate().await;
    let pool = raw_pool(setup_url, 1).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(setup.to_owned()))
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("set-up failed: {e}"));
    let res = Db::connect(&app_url(), key()).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(teardown.to_owned()))
        .execute(&pool)
        .await
        .unwrap_or_else(|e| panic!("tear-down failed: {e}"));
    match res {
        Ok(_) => None,
        Err(Error::Audit(msg)) => Some(msg),
        Err(other) => panic!("expected an audit refusal or acceptance, got {other:?}"),
    }
}

/// A tenant table made exactly as the migrations make one.
fn probe_sql() -> String {
    use tenant_store::postgres::evolve::table_sql;
    use tenant_store::postgres::migrate::{ColumnDef, TableDef};
    let col = |name| ColumnDef {
        name,
        sql_type: "uuid",
        nullable: false,
        default: None,
        renamed_from: None,
    };
    let sql = table_sql(&TableDef {
        entity: "Probe",
        schema: "public",
        table: "audit_probe",
        scope: tenant_store::Scope::OrgId,
        id: "id",
        columns: &[col("id"), col("org_id")],
        filters: &[],
        orders: &[],
        uniques: &[],
        references: &[],
        append_only: false,
        drop_columns: &[],
    });
    format!("{DROP_PROBE}{sql}")
}

const DROP_PROBE: &str = "DROP TABLE IF EXISTS audit_probe;
    DELETE FROM tenant_store_private.tenant_tables WHERE table_name = 'audit_probe';";

#[tokio::test]
async fn accepts_a_tenant_table_exactly_as_generated_and_a_restrictive_extra_policy() {
    let _serial = SERIAL.lock().await;
    let probe = probe_sql();
    assert_eq!(audit_after(&owner_url(), &probe, DROP_PROBE).await, None);
    // A restrictive policy is ANDed with `tenant_isolation`: it can only narrow.
    let setup = format!("{probe} CREATE POLICY narrow ON audit_probe AS RESTRICTIVE USING (true);");
    assert_eq!(audit_after(&owner_url(), &setup, DROP_PROBE).await, None);
}

#[tokio::test]
async fn refuses_a_second_permissive_policy() {
    let _serial = SERIAL.lock().await;
    let setup = format!(
        "{} CREATE POLICY open ON audit_probe USING (true);",
        probe_sql()
    );
    let msg = audit_after(&owner_url(), &setup, DROP_PROBE).await.unwrap();
    assert!(
        msg.contains("table public.audit_probe: permissive policy `open` (USING true)"),
        "{msg}"
    );
}

#[tokio::test]
async fn refuses_a_rewritten_tenant_isolation_policy() {
    let _serial = SERIAL.lock().await;
    for change in [
        "ALTER POLICY tenant_isolation ON audit_probe USING (true)",
        "ALTER POLICY tenant_isolation ON audit_probe WITH CHECK (true)",
        "ALTER POLICY tenant_isolation ON audit_probe TO tenant_store_app",
        "DROP POLICY tenant_isolation ON audit_probe;
         CREATE POLICY tenant_isolation ON audit_probe FOR SELECT
             USING (org_id = (SELECT tenant_store_private.current_tenant('org_id')))",
    ] {
        let setup = format!("{}{change};", probe_sql());
        let msg = audit_after(&owner_url(), &setup, DROP_PROBE).await.unwrap();
        assert!(
            msg.contains(
                "table public.audit_probe: policy `tenant_isolation` differs from the generated one"
            ),
            "{change}: {msg}"
        );
    }
}

#[tokio::test]
async fn finds_tenant_tables_from_the_registry_when_the_comment_is_gone() {
    let _serial = SERIAL.lock().await;
    let setup = format!(
        "{} COMMENT ON TABLE audit_probe IS NULL; ALTER TABLE audit_probe NO FORCE ROW LEVEL SECURITY;",
        probe_sql()
    );
    let msg = audit_after(&owner_url(), &setup, DROP_PROBE).await.unwrap();
    assert!(
        msg.contains("table public.audit_probe does not force row level security"),
        "{msg}"
    );
    // A registered table that was dropped is a finding too.
    let setup = format!("{} DROP TABLE audit_probe;", probe_sql());
    let msg = audit_after(&owner_url(), &setup, DROP_PROBE).await.unwrap();
    assert!(
        msg.contains("tenant table public.audit_probe was created by the migrations but is gone"),
        "{msg}"
    );
}

#[tokio::test]
async fn refuses_views_that_read_tenant_tables_past_rls() {
    let _serial = SERIAL.lock().await;
    // A superuser's view (directly and through another view) and a materialized view.
    let msg = audit_after(
        &super_url(),
        "CREATE VIEW all_memories AS SELECT * FROM memories;
         CREATE VIEW all_memories_again AS SELECT * FROM all_memories;
         GRANT SELECT ON all_memories_again TO tenant_store_app;
         CREATE MATERIALIZED VIEW memory_snapshot AS SELECT * FROM memories WITH NO DATA;
         ALTER MATERIALIZED VIEW memory_snapshot OWNER TO ts_owner;
         GRANT SELECT ON memory_snapshot TO tenant_store_app;",
        "DROP VIEW all_memories_again; DROP VIEW all_memories; DROP MATERIALIZED VIEW memory_snapshot;",
    )
    .await
    .unwrap();
    assert!(
        msg.contains("view public.all_memories_again reaches a tenant table, is readable by this role and runs as `postgres`"),
        "{msg}"
    );
    assert!(
        !msg.contains("view public.all_memories reaches"),
        "not granted, so not readable: {msg}"
    );
    assert!(
        msg.contains("materialized view public.memory_snapshot reaches a tenant table"),
        "{msg}"
    );
    // The same view with security_invoker runs as the reader, under RLS: accepted.
    let accepted = audit_after(
        &super_url(),
        "CREATE VIEW my_memories WITH (security_invoker = true) AS SELECT * FROM memories;
         GRANT SELECT ON my_memories TO tenant_store_app;",
        "DROP VIEW my_memories;",
    )
    .await;
    assert_eq!(accepted, None);
}

#[tokio::test]
async fn refuses_a_security_definer_function_of_a_role_that_bypasses_rls() {
    let _serial = SERIAL.lock().await;
    let msg = audit_after(
        &super_url(),
        "CREATE FUNCTION public.peek() RETURNS bigint LANGUAGE sql SECURITY DEFINER
             AS 'SELECT count(*) FROM public.memories';
         GRANT EXECUTE ON FUNCTION public.peek() TO tenant_store_app;",
        "DROP FUNCTION public.peek();",
    )
    .await
    .unwrap();
    assert!(
        msg.contains(
            "SECURITY DEFINER function peek() is executable by this role and runs as `postgres`"
        ),
        "{msg}"
    );
}

#[tokio::test]
async fn refuses_an_application_role_that_can_create_or_grant() {
    let _serial = SERIAL.lock().await;
    for (setup, teardown, finding) in [
        (
            "ALTER ROLE ts_app CREATEROLE",
            "ALTER ROLE ts_app NOCREATEROLE",
            "role `ts_app` has CREATEROLE",
        ),
        (
            "GRANT TEMPORARY ON DATABASE tenant_store TO ts_app",
            "REVOKE TEMPORARY ON DATABASE tenant_store FROM ts_app",
            "role `ts_app` may create temporary objects",
        ),
        (
            "GRANT CREATE ON SCHEMA public TO tenant_store_app",
            "REVOKE CREATE ON SCHEMA public FROM tenant_store_app",
            "role `ts_app` may create objects in schema `public`",
        ),
        (
            "GRANT tenant_store_definer TO ts_app",
            "REVOKE tenant_store_definer FROM ts_app",
            "role `ts_app` is a member of `tenant_store_definer`",
        ),
    ] {
        let msg = audit_after(&super_url(), setup, teardown).await.unwrap();
        assert!(msg.contains(finding), "{setup}: {msg}");
    }
}

#[tokio::test]
async fn refuses_a_changed_or_reowned_context_function() {
    let _serial = SERIAL.lock().await;
    let body = tenant_store::postgres::migrate::CURRENT_TENANT_BODY;
    let define = |body: &str| {
        format!(
            "SET ROLE tenant_store_definer;
             CREATE OR REPLACE FUNCTION tenant_store_private.current_tenant(scope text) RETURNS uuid
                 LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
                 SET search_path = pg_catalog, tenant_store_private, pg_temp
                 AS $${body}$$;
             RESET ROLE;"
        )
    };
    let loosened = body.replace("IF p[3] <> pg_backend_pid()::text", "IF false");
    assert_ne!(loosened, body);
    let msg = audit_after(&owner_url(), &define(&loosened), &define(body))
        .await
        .unwrap();
    assert!(
        msg.contains("function tenant_store_private.current_tenant differs from the one the migrations create"),
        "{msg}"
    );
    let msg = audit_after(
        &super_url(),
        "ALTER FUNCTION tenant_store_private.current_tenant(text) OWNER TO postgres;
         ALTER FUNCTION tenant_store_private.current_tenant(text) RESET search_path;",
        "ALTER FUNCTION tenant_store_private.current_tenant(text) OWNER TO tenant_store_definer;
         ALTER FUNCTION tenant_store_private.current_tenant(text) SET search_path = pg_catalog, tenant_store_private, pg_temp;",
    )
    .await
    .unwrap();
    assert!(
        msg.contains("function tenant_store_private.current_tenant is owned by `postgres`"),
        "{msg}"
    );
    assert!(msg.contains("current_tenant has settings None"), "{msg}");
    // Restored: accepted again.
    assert_eq!(
        audit_after(&owner_url(), "SELECT 1", "SELECT 1").await,
        None
    );
}

#[tokio::test]
async fn refuses_a_key_the_database_does_not_hold() {
    let _serial = SERIAL.lock().await;
    migrate().await;
    let other = tenant_store::postgres::SigningKey::new("tests", vec![9u8; 32]).unwrap();
    match Db::connect(&app_url(), other).await {
        Err(Error::Audit(msg)) => assert!(
            msg.contains("does not accept a tenant context signed with key `tests`"),
            "{msg}"
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn refuses_a_database_without_the_base_migration_with_a_clear_finding() {
    let _serial = SERIAL.lock().await;
    migrate().await;
    // A database of the same cluster where nothing was migrated.
    let su = raw_pool(&super_url(), 1).await;
    for sql in [
        "DROP DATABASE IF EXISTS tenant_store_empty WITH (FORCE)",
        "CREATE DATABASE tenant_store_empty OWNER ts_owner",
    ] {
        sqlx::raw_sql(sql).execute(&su).await.unwrap();
    }
    let url = app_url().replace("/tenant_store", "/tenant_store_empty");
    let res = Db::connect(&url, key()).await;
    sqlx::raw_sql("DROP DATABASE tenant_store_empty WITH (FORCE)")
        .execute(&su)
        .await
        .unwrap();
    match res {
        Err(Error::Audit(msg)) => assert!(
            msg.contains("tenant_store_private is missing") && msg.contains("apply the migrations"),
            "{msg}"
        ),
        other => panic!("expected a refusal naming the missing migration, got {other:?}"),
    }
}

/// Drift that carried rows or the key past RLS while `Db::connect` accepted the database (issue
/// #29, item 5). Each case is set up by the tables' owner (a member of the definer role, as the
/// operator set-up makes it), then used by the application role on a `Db` connected before it,
/// as an attacker would: the key or another tenant's row comes out. The audit must refuse each
/// with the statement that removes it.
struct Drift {
    name: &'static str,
    setup: &'static str,
    /// Run by the application role after the victim wrote `victim's row`; returns what it read.
    read: &'static str,
    teardown: &'static str,
    /// The finding's fix, as the audit prints it.
    fix: &'static str,
}

const DRIFTS: [Drift; 5] = [
    Drift {
        name: "an owner-owned SECURITY DEFINER function over the key table",
        setup: "CREATE FUNCTION public.key_peek() RETURNS text LANGUAGE sql SECURITY DEFINER
                    AS $$SELECT encode(secret, 'escape') FROM tenant_store_private.keys WHERE id = 'tests'$$;
                GRANT EXECUTE ON FUNCTION public.key_peek() TO tenant_store_app;",
        read: "SELECT public.key_peek()",
        teardown: "DROP FUNCTION public.key_peek();",
        fix: "DROP FUNCTION public.key_peek();",
    },
    Drift {
        name: "an owner-owned view over the key table",
        setup: "CREATE VIEW public.key_view AS SELECT encode(secret, 'escape') AS s FROM tenant_store_private.keys WHERE id = 'tests';
                GRANT SELECT ON public.key_view TO tenant_store_app;",
        read: "SELECT s FROM public.key_view",
        teardown: "DROP VIEW public.key_view;",
        fix: "DROP VIEW public.key_view;",
    },
    Drift {
        name: "a rule on a tenant table that also inserts the row elsewhere",
        setup: "CREATE TABLE public.rule_copies (content text);
                GRANT SELECT, INSERT ON public.rule_copies TO tenant_store_app;
                CREATE RULE copy_out AS ON INSERT TO public.memories
                    DO ALSO INSERT INTO public.rule_copies VALUES (NEW.content);",
        read: "SELECT content FROM public.rule_copies",
        teardown: "DROP RULE copy_out ON public.memories; DROP TABLE public.rule_copies;",
        fix: "DROP RULE copy_out ON public.memories;",
    },
    Drift {
        name: "a trigger on a tenant table that copies rows into a table without RLS",
        setup: "CREATE TABLE public.trigger_copies (content text);
                GRANT SELECT, INSERT ON public.trigger_copies TO tenant_store_app;
                CREATE FUNCTION public.copy_row() RETURNS trigger LANGUAGE plpgsql
                    AS $$BEGIN INSERT INTO public.trigger_copies VALUES (NEW.content); RETURN NEW; END$$;
                CREATE TRIGGER copy_out AFTER INSERT ON public.memories
                    FOR EACH ROW EXECUTE FUNCTION public.copy_row();",
        read: "SELECT content FROM public.trigger_copies",
        teardown: "DROP TRIGGER copy_out ON public.memories; DROP FUNCTION public.copy_row();
                   DROP TABLE public.trigger_copies;",
        fix: "DROP TRIGGER copy_out ON public.memories;",
    },
    Drift {
        name: "a trigger that calls a function named like the rename's, with another body",
        setup: "CREATE TABLE public.sync_copies (content text);
                GRANT SELECT, INSERT ON public.sync_copies TO tenant_store_app;
                SET ROLE tenant_store_definer;
                CREATE FUNCTION tenant_store_private.sync_renamed() RETURNS trigger
                    LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp
                    AS $$BEGIN INSERT INTO public.sync_copies VALUES (NEW.content); RETURN NEW; END$$;
                RESET ROLE;
                CREATE TRIGGER tenant_store_content_sync BEFORE INSERT ON public.memories
                    FOR EACH ROW EXECUTE FUNCTION tenant_store_private.sync_renamed('content', 'x');",
        read: "SELECT content FROM public.sync_copies",
        teardown: "DROP TRIGGER tenant_store_content_sync ON public.memories;
                   SET ROLE tenant_store_definer; DROP FUNCTION tenant_store_private.sync_renamed();
                   RESET ROLE; DROP TABLE public.sync_copies;",
        fix: "DROP TRIGGER tenant_store_content_sync ON public.memories;",
    },
];

#[tokio::test]
async fn refuses_drift_that_carries_rows_or_the_key_past_rls() {
    use tenant_store_examples::memory::{Memory, NewMemory};
    let _serial = SERIAL.lock().await;
    migrate().await;
    let db = Db::connect(&app_url(), key()).await.unwrap();
    let owner = raw_pool(&owner_url(), 1).await;
    let app = raw_pool(&app_url(), 1).await;
    let secret = String::from_utf8(tenant_store_tests::KEY_SECRET.to_vec()).unwrap();
    for drift in DRIFTS {
        let victim = tenant_store_tests::tenant();
        let content = format!("victim's row {}", victim.user_id());
        sqlx::raw_sql(drift.setup).execute(&owner).await.unwrap();
        let new = NewMemory {
            content: content.clone(),
            ..Default::default()
        };
        Memory::store()
            .create(&mut db.tenant(&victim), new)
            .await
            .unwrap();
        // The attack works while the drift is there...
        let read: Vec<String> = sqlx::query_scalar(drift.read)
            .fetch_all(&app)
            .await
            .unwrap();
        assert!(
            read.iter().any(|r| *r == secret || *r == content),
            "{}: the attack reads {read:?}",
            drift.name
        );
        // ...so the audit refuses the database, naming the fix.
        let res = Db::connect(&app_url(), key()).await;
        sqlx::raw_sql(drift.teardown).execute(&owner).await.unwrap();
        match res {
            Err(Error::Audit(msg)) => assert!(msg.contains(drift.fix), "{}: {msg}", drift.name),
            other => panic!("{}: the audit accepted it: {other:?}", drift.name),
        }
    }
    Db::connect(&app_url(), key())
        .await
        .expect("accepted again once the drift is gone");
}

#[tokio::test]
async fn refuses_a_trigger_that_notifies_each_row() {
    use tenant_store_examples::memory::{Memory, NewMemory};
    let _serial = SERIAL.lock().await;
    migrate().await;
    let db = Db::connect(&app_url(), key()).await.unwrap();
    let owner = raw_pool(&owner_url(), 1).await;
    sqlx::raw_sql(
        "CREATE FUNCTION public.notify_row() RETURNS trigger LANGUAGE plpgsql
             AS $$BEGIN PERFORM pg_notify('rows', NEW.content); RETURN NEW; END$$;
         CREATE TRIGGER notify_out AFTER INSERT ON public.memories
             FOR EACH ROW EXECUTE FUNCTION public.notify_row();",
    )
    .execute(&owner)
    .await
    .unwrap();
    let mut listener = sqlx::postgres::PgListener::connect(&app_url())
        .await
        .unwrap();
    listener.listen("rows").await.unwrap();
    let victim = tenant_store_tests::tenant();
    let new = NewMemory {
        content: format!("victim's row {}", victim.user_id()),
        ..Default::default()
    };
    Memory::store()
        .create(&mut db.tenant(&victim), new)
        .await
        .unwrap();
    let heard = tokio::time::timeout(std::time::Duration::from_secs(5), listener.recv()).await;
    let res = Db::connect(&app_url(), key()).await;
    sqlx::raw_sql("DROP TRIGGER notify_out ON public.memories; DROP FUNCTION public.notify_row();")
        .execute(&owner)
        .await
        .unwrap();
    let heard = heard.expect("the row was sent").unwrap();
    assert!(heard.payload().contains(&victim.user_id().to_string()));
    match res {
        Err(Error::Audit(msg)) => assert!(
            msg.contains("DROP TRIGGER notify_out ON public.memories;"),
            "{msg}"
        ),
        other => panic!("the audit accepted it: {other:?}"),
    }
}

#[tokio::test]
async fn the_application_role_signals_no_backend_and_makes_no_large_object() {
    let _serial = SERIAL.lock().await;
    migrate().await;
    let db = Db::connect(&app_url(), key()).await.unwrap();
    let pid = tenant_store_tests::raw_pid(&db).await;
    let app = raw_pool(&app_url(), 1).await;
    // Steering: ending the pool's other connections until one's next transaction lands where
    // a copied context verifies. Persistent shared state: a large object.
    for sql in [
        format!("SELECT pg_terminate_backend({pid})"),
        format!("SELECT pg_cancel_backend({pid})"),
        "SELECT lo_creat(-1)".to_owned(),
        "SELECT lo_create(0)".to_owned(),
        "SELECT lo_from_bytea(0, 'x')".to_owned(),
    ] {
        let err = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .execute(&app)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("permission denied"),
            "{sql}: {err}"
        );
    }
    // And a database where the operator set-up did not revoke them is refused.
    for (grant, fix) in [
        (
            "GRANT EXECUTE ON FUNCTION pg_terminate_backend(integer, bigint) TO PUBLIC",
            "REVOKE EXECUTE ON FUNCTION pg_catalog.pg_terminate_backend(integer, bigint) FROM PUBLIC",
        ),
        (
            "GRANT EXECUTE ON FUNCTION lo_creat(integer) TO tenant_store_app",
            "REVOKE EXECUTE ON FUNCTION pg_catalog.lo_creat(integer) FROM PUBLIC, tenant_store_app",
        ),
        (
            "GRANT pg_signal_backend TO tenant_store_app",
            "REVOKE pg_signal_backend FROM",
        ),
    ] {
        let revoke = grant.replace("GRANT", "REVOKE").replace(" TO ", " FROM ");
        let msg = audit_after(&super_url(), grant, &revoke).await;
        let msg = msg.unwrap_or_else(|| panic!("accepted after {grant}"));
        assert!(msg.contains(fix), "{grant}: {msg}");
    }
}

/// The default entity set of `Db::connect` (issue #31, item 5): every registered entity whose
/// table the database has. A column of one missing (a migration not applied, or dropped behind
/// the build's back) refuses the connection, naming the entity and the column.
#[tokio::test]
async fn a_table_without_a_column_its_entity_uses_is_refused_at_connect() {
    let scratch = ScratchDb::new("ts_behind").await;
    drop(scratch.examples_db(1).await);
    let owner = raw_pool(&scratch.owner_url(), 1).await;
    sqlx::query("ALTER TABLE public.memories DROP COLUMN metadata")
        .execute(&owner)
        .await
        .unwrap();
    owner.close().await;
    let res = Db::connect(&scratch.app_url(), key()).await;
    scratch.drop().await;
    match res {
        Err(Error::Audit(msg)) => assert!(
            msg.contains(
                "entity `Memory` needs column `metadata` (jsonb) of public.memories, which the database lacks"
            ) && msg.contains("apply the pending migrations"),
            "{msg}"
        ),
        other => panic!("expected a refusal naming the column, got {other:?}"),
    }
}

/// The migration command's `audit`: on the generated schema, no finding and exit 0; each drift
/// is reported with the SQL that fixes it (and that SQL does fix it), a database behind the
/// entities and a retired key are findings too, and any finding is a non-zero exit.
#[tokio::test]
async fn the_audit_command_names_each_finding_with_the_sql_that_fixes_it() {
    use std::process::ExitCode;
    use tenant_store::postgres::audit_report;
    use tenant_store::postgres::sqlx::postgres::PgConnectOptions;

    // Other tests here change the application role, which every database shares.
    let _serial = SERIAL.lock().await;
    let scratch = ScratchDb::new("ts_audit_command").await;
    drop(scratch.examples_db(1).await);
    let app: PgConnectOptions = scratch.app_url().parse().unwrap();
    let entities = tenant_store_examples::entities();
    let key = key();
    let report = || audit_report(&app, Some(&key), Some(&entities));
    let command = |url: String| {
        tokio::task::spawn_blocking(move || {
            let migrations =
                tenant_store::cli::Migrations::postgres(tenant_store_examples::entities());
            let args = ["migrations", "audit", "--json", "--database-url", &url];
            tenant_store::cli::run(args.map(str::to_owned).to_vec(), &migrations)
        })
    };
    assert_eq!(report().await.unwrap(), Vec::<String>::new());
    assert_eq!(command(scratch.app_url()).await.unwrap(), ExitCode::SUCCESS);

    let owner = raw_pool(&scratch.owner_url(), 1).await;
    sqlx::raw_sql(
        "ALTER TABLE public.memories NO FORCE ROW LEVEL SECURITY;
         CREATE POLICY everyone ON public.memories FOR SELECT USING (true);",
    )
    .execute(&owner)
    .await
    .unwrap();
    let findings = report().await.unwrap();
    let fixes: Vec<&str> = findings
        .iter()
        .filter_map(|f| f.split_once("; fix: ").map(|(_, sql)| sql))
        .collect();
    let expected = [
        "ALTER TABLE public.memories FORCE ROW LEVEL SECURITY;",
        "DROP POLICY \"everyone\" ON public.memories;",
    ];
    for fix in expected {
        assert!(
            fixes.iter().any(|f| f.starts_with(fix)),
            "{fix} in {findings:#?}"
        );
    }
    assert_eq!(command(scratch.app_url()).await.unwrap(), ExitCode::FAILURE);
    // The fixes, as printed, fix it.
    for fix in expected {
        sqlx::raw_sql(sqlx::AssertSqlSafe(fix))
            .execute(&owner)
            .await
            .unwrap();
    }
    assert_eq!(report().await.unwrap(), Vec::<String>::new());

    // A database behind the entities, and a retired key.
    sqlx::raw_sql("ALTER TABLE public.memories DROP COLUMN metadata")
        .execute(&owner)
        .await
        .unwrap();
    let mut conn = owner.acquire().await.unwrap();
    assert!(
        tenant_store::postgres::keys::retire(&mut conn, key.id())
            .await
            .unwrap()
    );
    drop(conn);
    let findings = report().await.unwrap().join("\n");
    assert!(
        findings.contains("needs column `metadata` (jsonb) of public.memories"),
        "{findings}"
    );
    assert!(
        findings.contains("does not accept a tenant context signed with key `tests`"),
        "{findings}"
    );
    assert_eq!(command(scratch.app_url()).await.unwrap(), ExitCode::FAILURE);
    owner.close().await;
    scratch.drop().await;
}

/// The one trigger the audit accepts calls the rename's sync function, which copies a value
/// between two columns of the row being written. Pointed by a hostile owner at the scope
/// column, it cannot move a row into another tenant: the policy's `WITH CHECK` judges the row
/// after every `BEFORE` trigger, so the tenant's update fails and the other tenant sees nothing.
#[tokio::test]
async fn the_accepted_sync_trigger_cannot_move_a_row_into_another_tenant() {
    use tenant_store_examples::memory::{Memory, MemoryPatch, NewMemory};

    let _serial = SERIAL.lock().await;
    let scratch = ScratchDb::new("ts_sync_scope").await;
    let db = scratch.examples_db(2).await;
    let owner = raw_pool(&scratch.owner_url(), 1).await;
    let body = tenant_store::postgres::migrate::SYNC_RENAMED_BODY;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "SET ROLE tenant_store_definer;
         CREATE FUNCTION tenant_store_private.sync_renamed() RETURNS trigger
             LANGUAGE plpgsql VOLATILE SECURITY INVOKER
             SET search_path = pg_catalog, pg_temp
             AS $${body}$$;
         RESET ROLE;
         CREATE TRIGGER tenant_store_user_id_sync BEFORE INSERT OR UPDATE ON public.memories
             FOR EACH ROW EXECUTE FUNCTION tenant_store_private.sync_renamed('content', 'user_id');"
    )))
    .execute(&owner)
    .await
    .unwrap();
    // The audit accepts it: it is the generated function.
    let db = {
        drop(db);
        Db::connect(&scratch.app_url(), key())
            .await
            .expect("the audit accepts the generated sync function")
    };
    let (a, b) = (tenant_store_tests::tenant(), tenant_store_tests::tenant());
    for (me, other) in [(&a, &b), (&b, &a)] {
        let m = Memory::store()
            .create(&mut db.tenant(me), NewMemory::default())
            .await
            .unwrap();
        // Writing the other tenant's id where the trigger copies it into the scope column.
        let patch = MemoryPatch {
            content: Some(other.user_id().to_string()),
            ..Default::default()
        };
        let moved = Memory::store()
            .update(&mut db.tenant(me), m.id, m.version, patch)
            .await;
        // Refused by the policy's WITH CHECK (the trigger did rewrite the scope column).
        let refused = moved.map(|m| m.user_id).unwrap_err().to_string();
        assert!(refused.contains("row-level security"), "{refused}");
        let seen = Memory::store()
            .get(&mut db.tenant(other), m.id)
            .await
            .unwrap();
        assert!(seen.is_none(), "the other tenant reads the row");
        let still = Memory::store().get(&mut db.tenant(me), m.id).await.unwrap();
        assert_eq!(still.map(|s| s.user_id), Some(me.user_id()));
    }
    drop(db);
    owner.close().await;
    scratch.drop().await;
}
