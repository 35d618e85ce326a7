//! The start-up audit refuses roles that can bypass RLS and tables that are not locked down,
//! and accepts the application role.

use tenant_store::Error;
use tenant_store::postgres::Db;
use tenant_store_tests::{app_url, key, migrate, owner_url, raw_pool, super_url, via};

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
