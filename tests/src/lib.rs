//! Shared set-up for the integration tests: server addresses, migrations, principals.
//!
//! Addresses come from `TENANT_STORE_PG_URL` (application role), `TENANT_STORE_PG_OWNER_URL`
//! (tables' owner) and `TENANT_STORE_PG_SUPER_URL` (superuser), defaulting to what
//! `scripts/services.sh up` starts. A server that cannot be reached fails the test with the
//! command that starts it.

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tenant_store::Principal;
use tenant_store::postgres::Db;
use uuid::Uuid;

const START: &str =
    "start it with `scripts/services.sh up` (or run everything with `scripts/test.sh`)";

fn url(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

/// The application role's URL.
pub fn app_url() -> String {
    url(
        "TENANT_STORE_PG_URL",
        "postgres://ts_app:ts_app_pw@127.0.0.1:54329/tenant_store",
    )
}

/// The tables' owner's URL.
pub fn owner_url() -> String {
    url(
        "TENANT_STORE_PG_OWNER_URL",
        "postgres://ts_owner:ts_owner_pw@127.0.0.1:54329/tenant_store",
    )
}

/// The superuser's URL.
pub fn super_url() -> String {
    url(
        "TENANT_STORE_PG_SUPER_URL",
        "postgres://postgres:ts_super_pw@127.0.0.1:54329/tenant_store",
    )
}

/// A raw pool (no audit) for `url` with at most `max` connections; panics naming the start command.
pub async fn raw_pool(url: &str, max: u32) -> PgPool {
    PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {}: {e}; {START}", redact(url)))
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_owned(),
    }
}

/// Applies the committed migrations with sqlx's migrator, as the owner.
pub async fn migrate() {
    let owner = raw_pool(&owner_url(), 2).await;
    let migrator = sqlx::migrate::Migrator::new(tenant_store_examples::migrations_dir())
        .await
        .expect("migrations/ is readable");
    migrator.run(&owner).await.unwrap_or_else(|e| {
        panic!("applying migrations failed: {e}; if the schema changed, reset the test cluster with `scripts/services.sh reset`")
    });
    owner.close().await;
}

/// Migrates, then connects as the application role through the audited [`Db`].
pub async fn db() -> Db {
    db_with(10).await
}

/// Like [`db`] with a pool of at most `max` connections.
pub async fn db_with(max: u32) -> Db {
    migrate().await;
    Db::connect_with(Db::default_pool_options().max_connections(max), &app_url())
        .await
        .unwrap_or_else(|e| panic!("connecting as the application role failed: {e}; {START}"))
}

/// A principal with fresh random ids: a tenant no other test uses.
pub fn tenant() -> Principal {
    Principal::new(Uuid::new_v4(), Uuid::new_v4()).expect("random ids are not nil")
}
