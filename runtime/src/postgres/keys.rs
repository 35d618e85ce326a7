//! Operator steps for the keys that sign tenant contexts: install, list, retire.
//!
//! The database holds the keys in `tenant_store_private.keys`, which only the definer role
//! (and the roles that are members of it: the migrating owner) can read or write. The
//! application holds one of them ([`SigningKey`], usually from `TENANT_STORE_PG_KEY`) and signs
//! with it; the database accepts every key that is not retired. Rotation therefore never
//! stops traffic:
//! 1. `install` the new key (both keys now verify);
//! 2. deploy the application with the new key;
//! 3. `retire` the old key (contexts signed with it stop verifying at once).
//!
//! These functions run on a connection of the owner role; the migration command
//! ([`cli`](crate::cli): `keys generate | install | retire | list`) wraps them.

use sqlx::PgConnection;

use super::SigningKey;
use crate::{Error, Result};

/// Installs `key` (its id and secret). Installing the same key again is a no-op; a different
/// secret under an existing id is refused, and so is a retired key (ids are never reused: a
/// context signed with a retired key must never verify again).
pub async fn install(conn: &mut PgConnection, key: &SigningKey) -> Result<()> {
    let stored: Option<(Vec<u8>, bool)> = sqlx::query_as(
        "INSERT INTO tenant_store_private.keys (id, secret) VALUES ($1, $2)
         ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id
         RETURNING secret, retired_at IS NOT NULL",
    )
    .bind(key.id())
    .bind(key.secret())
    .fetch_optional(&mut *conn)
    .await?;
    match stored {
        Some((s, false)) if s == key.secret() => Ok(()),
        Some((s, true)) if s == key.secret() => Err(Error::InvalidInput(format!(
            "key `{}` is retired and cannot be installed again; generate a key under a new id \
             (the migration command's `keys generate <id>`) and give it to the application",
            key.id()
        ))),
        _ => Err(Error::InvalidInput(format!(
            "a different key is installed under id `{}`; choose a new id",
            key.id()
        ))),
    }
}

/// Retires the key `id`: contexts signed with it stop verifying. Returns whether it was active.
pub async fn retire(conn: &mut PgConnection, id: &str) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE tenant_store_private.keys SET retired_at = now() WHERE id = $1 AND retired_at IS NULL",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// One key as [`list`] reports it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key id.
    pub id: String,
    /// When it was installed.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it was retired, if it was.
    pub retired_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Every key, oldest first.
pub async fn list(conn: &mut PgConnection) -> Result<Vec<KeyInfo>> {
    let rows: Vec<(
        String,
        chrono::DateTime<chrono::Utc>,
        Option<chrono::DateTime<chrono::Utc>>,
    )> = sqlx::query_as(
        "SELECT id, created_at, retired_at FROM tenant_store_private.keys ORDER BY created_at, id",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, created_at, retired_at)| KeyInfo {
            id,
            created_at,
            retired_at,
        })
        .collect())
}
