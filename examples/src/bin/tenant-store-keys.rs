//! The operator command for the keys that sign tenant contexts (see
//! `tenant_store::postgres::keys`). Connects as the tables' owner (`TENANT_STORE_PG_OWNER_URL`).
//!
//! ```text
//! cargo run -p tenant-store-examples --bin tenant-store-keys -- generate <id>  # new key: installs it, prints TENANT_STORE_PG_KEY=...
//! cargo run -p tenant-store-examples --bin tenant-store-keys -- install        # installs the key in TENANT_STORE_PG_KEY
//! cargo run -p tenant-store-examples --bin tenant-store-keys -- retire <id>    # contexts signed with <id> stop verifying
//! cargo run -p tenant-store-examples --bin tenant-store-keys -- list           # ids and dates, never secrets
//! ```
//!
//! Rotation: `generate new`, deploy the application with the printed key, `retire old`.

use sqlx::Connection as _;
use tenant_store::postgres::{SigningKey, context, keys};

const USAGE: &str = "usage: tenant-store-keys generate <id> | install | retire <id> | list";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = std::env::var("TENANT_STORE_PG_OWNER_URL")
        .map_err(|_| "TENANT_STORE_PG_OWNER_URL is not set (the tables' owner's URL)")?;
    let mut conn = sqlx::PgConnection::connect(&url).await?;
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["generate", id] => {
            let key = SigningKey::generate(*id)?;
            keys::install(&mut conn, &key).await?;
            eprintln!("installed key `{id}`; give the application this secret:");
            println!("{}={}", context::KEY_ENV, key.export());
        }
        ["install"] => {
            let key = SigningKey::from_env()?;
            keys::install(&mut conn, &key).await?;
            eprintln!("installed key `{}`", key.id());
        }
        ["retire", id] => {
            if keys::retire(&mut conn, id).await? {
                eprintln!("retired key `{id}`");
            } else {
                return Err(format!("no active key `{id}`").into());
            }
        }
        ["list"] => {
            for k in keys::list(&mut conn).await? {
                let state = match k.retired_at {
                    Some(at) => format!("retired {at}"),
                    None => "active".to_owned(),
                };
                println!("{}\tcreated {}\t{state}", k.id, k.created_at);
            }
        }
        _ => return Err(USAGE.into()),
    }
    conn.close().await?;
    Ok(())
}
