//! The memories service over HTTP: `cargo run -p tenant-store-examples --bin service`.
//!
//! Settings: `TENANT_STORE_PG_URL` and `TENANT_STORE_PG_KEY` (the database, as for every
//! application), `TENANT_STORE_JWT_SECRET` (the HS256 secret tokens are signed with, at least
//! 32 bytes), `TENANT_STORE_JWT_ISSUER` and `TENANT_STORE_JWT_AUDIENCE` (checked when set), and
//! `TENANT_STORE_LISTEN` (default `127.0.0.1:8080`).

use tenant_store::axum::JwtAuth;
use tenant_store::postgres::Db;
use tenant_store_examples::service::{AppState, router};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("TENANT_STORE_JWT_SECRET")
        .map_err(|_| "TENANT_STORE_JWT_SECRET is not set")?;
    let mut auth = JwtAuth::hs256(secret.as_bytes())?;
    if let Ok(issuer) = std::env::var("TENANT_STORE_JWT_ISSUER") {
        auth = auth.issuer(&issuer);
    }
    if let Ok(audience) = std::env::var("TENANT_STORE_JWT_AUDIENCE") {
        auth = auth.audience(&audience);
    }
    let db = Db::connect_from_env().await?;
    let listen = std::env::var("TENANT_STORE_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("memories service on http://{listen}");
    axum::serve(listener, router(AppState { db, auth })).await?;
    Ok(())
}
