//! The signed tenant context: what the guard sends, and what the database verifies.
//!
//! ## Why signed
//! Row Level Security compares each row's scope column with the tenant the transaction speaks
//! for. If that tenant were a plain setting, any SQL the application role runs (a hand-written
//! query with a bug, an injection) could `set_config` another tenant's id and read its rows. So
//! the guard sends a *token* in the setting [`CONTEXT_SETTING`], and the policy reads the tenant
//! through `tenant_store_private.current_tenant(scope)`, a `SECURITY DEFINER` function with a
//! fixed `search_path`, owned by the role [`DEFINER_ROLE`] that exists only for it. The function
//! reads the key from `tenant_store_private.keys`, which nothing but that role can read, and
//! returns NULL (zero rows, no error) unless the token verifies.
//!
//! ## The token
//! `v2.<key id>.<backend pid>.<bound>.<user id>.<org id>.<hex HMAC-SHA256 of all before it>`
//! - The key id selects one of the keys the database holds, so two keys are valid while a key
//!   is rotated (see [`keys`](super::keys)).
//! - The backend pid binds it to one server session: a token copied into another session
//!   does not verify there (the policy raises an error rather than reading as no rows: see
//!   [`WRONG_BACKEND`](super::migrate::WRONG_BACKEND)). Behind a transaction pooler, the pid is
//!   read in the message that opens the transaction ([`Pooler`](super::Pooler)), which pins the
//!   session.
//! - The bound (`Bound`) says which transactions on that backend it speaks in:
//!   - `t<µs>`: only the transaction that started at that microsecond (the server's
//!     `transaction_timestamp()`, which [`Db::begin`](super::Db::begin) reads back in the
//!     message that sends `BEGIN`). A [`TenantTx`](super::TenantTx)'s token, and an admin
//!     scope's, verify in their own transaction and in no later one, however long it runs.
//!   - `e<ms>` (never made behind a transaction pooler): transactions that start before that time (server clock, milliseconds since the
//!     epoch; the client corrects for the clock offset it measured when it opened the
//!     connection). A [`TenantDb`](super::TenantDb) statement runs in its own implicit
//!     transaction, whose start the client cannot know in advance, so its token carries a
//!     short lifetime instead (default [`DEFAULT_TOKEN_TTL`]).
//! - A token is only ever sent as a bound parameter, never in SQL text: `pg_stat_activity`,
//!   which shows every session's current statement to the other sessions of its role, shows a
//!   placeholder.
//! - The admin audit rows are signed the same way, so the application role
//!   cannot write a false one.
//!
//! The key, the pid and the bound are the only inputs; the HMAC is the `hmac` crate's (the
//! database side uses `pgcrypto`'s `hmac`), never our own construction.

use std::fmt;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::{Error, Result};

/// The transaction-local setting that carries the signed tenant context.
pub const CONTEXT_SETTING: &str = "tenant_store.ctx";

/// The role that owns the key table and the verifying functions. It exists only for this: it
/// cannot log in, and the application role must not be a member of it.
pub const DEFINER_ROLE: &str = "tenant_store_definer";

/// The schema that holds the key table and the verifying functions.
pub const PRIVATE_SCHEMA: &str = "tenant_store_private";

/// How long a token is accepted after it was made, unless configured otherwise.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(5);

/// The environment variable [`SigningKey::from_env`] reads: `<key id>:<hex secret>`.
pub const KEY_ENV: &str = "TENANT_STORE_PG_KEY";

/// Shortest secret accepted: 32 bytes, the HMAC-SHA256 block's half and its output size.
const MIN_SECRET: usize = 32;

/// A key the application signs tenant contexts with. The database holds the same secret under
/// the same id (install it with [`keys::install`](super::keys::install)).
#[derive(Clone)]
pub struct SigningKey {
    id: String,
    secret: Vec<u8>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl SigningKey {
    /// A key from its id (1 to 32 characters of `A-Z a-z 0-9 _ -`) and secret (at least 32
    /// bytes).
    pub fn new(id: impl Into<String>, secret: impl Into<Vec<u8>>) -> Result<Self> {
        let (id, secret) = (id.into(), secret.into());
        let id_ok = (1..=32).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !id_ok {
            return Err(Error::InvalidInput(format!(
                "invalid signing key id `{id}`; expected 1 to 32 characters of `A-Z`, `a-z`, `0-9`, `_` and `-`"
            )));
        }
        if secret.len() < MIN_SECRET {
            return Err(Error::InvalidInput(format!(
                "a signing key secret needs at least {MIN_SECRET} bytes, got {}",
                secret.len()
            )));
        }
        Ok(Self { id, secret })
    }

    /// A fresh random key (from the operating system's generator) with this id.
    pub fn generate(id: impl Into<String>) -> Result<Self> {
        let mut secret = vec![0u8; MIN_SECRET];
        getrandom::fill(&mut secret)
            .map_err(|e| Error::Backend(format!("no randomness for a key: {e}").into()))?;
        Self::new(id, secret)
    }

    /// Parses `<key id>:<hex secret>`, the form [`Display`](fmt::Display) of
    /// [`SigningKey::export`] prints.
    pub fn parse(text: &str) -> Result<Self> {
        let (id, hex_secret) = text.trim().split_once(':').ok_or_else(|| {
            Error::InvalidInput("a signing key is written `<key id>:<hex secret>`".into())
        })?;
        let secret = hex::decode(hex_secret)
            .map_err(|e| Error::InvalidInput(format!("the signing key secret is not hex: {e}")))?;
        Self::new(id, secret)
    }

    /// Reads the key from [`KEY_ENV`].
    pub fn from_env() -> Result<Self> {
        let text = std::env::var(KEY_ENV)
            .map_err(|_| Error::InvalidInput(format!("{KEY_ENV} is not set")))?;
        Self::parse(&text)
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The secret, for installing it in the database.
    pub(crate) fn secret(&self) -> &[u8] {
        &self.secret
    }

    /// `<key id>:<hex secret>`, to hand to the application (for example as [`KEY_ENV`]).
    pub fn export(&self) -> String {
        format!("{}:{}", self.id, hex::encode(&self.secret))
    }

    fn mac_hex(&self, message: &str) -> String {
        // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret)
            .expect("HMAC-SHA256 takes a key of any length");
        mac.update(message.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The token for `bound` transactions on backend `pid`.
    pub(crate) fn token(&self, pid: i32, bound: Bound, user_id: Uuid, org_id: Uuid) -> String {
        let body = format!(
            "v2.{}.{pid}.{bound}.{}.{}",
            self.id,
            user_id.hyphenated(),
            org_id.hyphenated()
        );
        let mac = self.mac_hex(&body);
        format!("{body}.{mac}")
    }
}

/// Which transactions on its backend a token speaks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bound {
    /// Only the transaction whose `transaction_timestamp()` is this, in microseconds since the
    /// epoch.
    Transaction(i64),
    /// Transactions that start before this, in milliseconds since the epoch.
    Expires(i64),
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transaction(us) => write!(f, "t{us}"),
            Self::Expires(ms) => write!(f, "e{ms}"),
        }
    }
}

/// The fields of one admin audit row, as signed by [`audit_signature`] and checked by
/// `tenant_store_private.admin_audit(...)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuditRow<'a> {
    pub session: Uuid,
    pub actor_user: Uuid,
    pub actor_org: Uuid,
    pub tenant: Option<(Uuid, Uuid)>,
    pub issued_ms: i64,
    pub reason: &'a str,
}

/// The message the database re-creates to check an audit row: fixed-format fields first, the
/// free-text reason last, so no reason can shift a field boundary.
pub(crate) fn audit_message(row: &AuditRow<'_>) -> String {
    let (user, org) = match row.tenant {
        Some((u, o)) => (u.hyphenated().to_string(), o.hyphenated().to_string()),
        None => (String::new(), String::new()),
    };
    format!(
        "audit.v1|{}|{}|{}|{user}|{org}|{}|{}",
        row.session.hyphenated(),
        row.actor_user.hyphenated(),
        row.actor_org.hyphenated(),
        row.issued_ms,
        row.reason
    )
}

/// The signature of an admin audit row under `key`.
pub(crate) fn audit_signature(key: &SigningKey, row: &AuditRow<'_>) -> String {
    key.mac_hex(&audit_message(row))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::new("k1", vec![7u8; 32]).unwrap()
    }

    #[test]
    fn a_token_has_seven_dot_separated_parts_and_a_64_hex_mac() {
        let t = key().token(
            4242,
            Bound::Expires(1_800_000_000_000),
            Uuid::nil(),
            Uuid::max(),
        );
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(parts.len(), 7, "{t}");
        assert_eq!(&parts[..4], ["v2", "k1", "4242", "e1800000000000"]);
        let t = key().token(4242, Bound::Transaction(17), Uuid::nil(), Uuid::max());
        assert_eq!(t.split('.').nth(3), Some("t17"), "{t}");
        assert_eq!(parts[6].len(), 64);
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
            "safe to put in SQL text: {t}"
        );
    }

    #[test]
    fn the_mac_depends_on_every_field_and_on_the_key() {
        let k = key();
        let e = Bound::Expires(2);
        let base = k.token(1, e, Uuid::nil(), Uuid::nil());
        let other_key = SigningKey::new("k1", vec![8u8; 32]).unwrap();
        for t in [
            k.token(3, e, Uuid::nil(), Uuid::nil()),
            k.token(1, Bound::Expires(3), Uuid::nil(), Uuid::nil()),
            k.token(1, Bound::Transaction(2), Uuid::nil(), Uuid::nil()),
            k.token(1, e, Uuid::max(), Uuid::nil()),
            k.token(1, e, Uuid::nil(), Uuid::max()),
            other_key.token(1, e, Uuid::nil(), Uuid::nil()),
        ] {
            assert_ne!(t.rsplit('.').next(), base.rsplit('.').next(), "{t}");
        }
    }

    #[test]
    fn keys_are_checked_and_round_trip_through_their_text_form() {
        assert!(SigningKey::new("", vec![0; 32]).is_err());
        assert!(SigningKey::new("a.b", vec![0; 32]).is_err());
        assert!(SigningKey::new("k", vec![0; 31]).is_err());
        assert!(SigningKey::parse("k1").is_err());
        assert!(SigningKey::parse("k1:zz").is_err());
        let k = SigningKey::generate("rot-2").unwrap();
        let back = SigningKey::parse(&k.export()).unwrap();
        assert_eq!((back.id(), back.secret()), (k.id(), k.secret()));
        assert!(!format!("{k:?}").contains(&hex::encode(k.secret())));
    }

    #[test]
    fn an_audit_reason_cannot_shift_a_field() {
        let row = AuditRow {
            session: Uuid::nil(),
            actor_user: Uuid::nil(),
            actor_org: Uuid::nil(),
            tenant: None,
            issued_ms: 5,
            reason: "x|y",
        };
        assert!(audit_message(&row).ends_with("|5|x|y"));
    }
}
