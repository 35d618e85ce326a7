//! Sealing cursors: a MAC over the position and the listing's context (the module doc's
//! "Cursors").

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use uuid::Uuid;

use super::{Cursor, Direction};
use crate::{Error, Result};

const VERSION: u8 = 1;
pub(super) const MAC_LEN: usize = 16;
/// Long enough for a sort key of a few KB of text; a longer string is not a cursor.
pub(super) const MAX_CURSOR: usize = 8 * 1024;

pub(crate) fn bad_cursor() -> Error {
    Error::InvalidInput(
        "the cursor is not one this listing made (edited, or from another tenant, entity or order)"
            .into(),
    )
}

/// The secret cursors are sealed with. Derived from a longer secret, or random (then cursors
/// are accepted only by the process that made them).
#[derive(Clone)]
pub struct CursorKey([u8; 32]);

impl fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

impl CursorKey {
    /// A random key (from two v4 UUIDs: 244 random bits): cursors are then accepted only by
    /// the client that made them.
    pub fn random() -> Self {
        let mut secret = [0u8; 32];
        secret[..16].copy_from_slice(Uuid::new_v4().as_bytes());
        secret[16..].copy_from_slice(Uuid::new_v4().as_bytes());
        Self::derive(&secret)
    }

    /// A key derived from `secret` (HMAC-SHA-256 of a fixed label): the same secret gives the
    /// same key in every process.
    pub fn derive(secret: &[u8]) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(b"tenant-store cursor key v1");
        Self(mac.finalize().into_bytes().into())
    }

    fn mac(&self, ctx: &Context<'_>, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        for part in [
            ctx.backend.as_bytes(),
            ctx.entity.as_bytes(),
            ctx.tenant.as_bytes(),
            ctx.order.as_bytes(),
        ] {
            mac.update(&(part.len() as u32).to_be_bytes());
            mac.update(part);
        }
        mac.update(&[ctx.direction as u8]);
        mac.update(body);
        mac
    }

    /// Seals the position (`key` bytes of the sort field, then the id's bytes) for `ctx`.
    pub(crate) fn seal(&self, ctx: &Context<'_>, key: &[u8], id: &[u8]) -> Cursor {
        let mut body = Vec::with_capacity(1 + 4 + key.len() + id.len() + MAC_LEN);
        body.push(VERSION);
        body.extend_from_slice(&(key.len() as u32).to_be_bytes());
        body.extend_from_slice(key);
        body.extend_from_slice(id);
        let tag = self.mac(ctx, &body).finalize().into_bytes();
        body.extend_from_slice(&tag[..MAC_LEN]);
        Cursor(URL_SAFE_NO_PAD.encode(body))
    }

    /// The (sort key, id) bytes of a cursor sealed for `ctx`; [`Error::InvalidInput`] for any
    /// other cursor.
    pub(crate) fn open(&self, ctx: &Context<'_>, cursor: &Cursor) -> Result<(Vec<u8>, Vec<u8>)> {
        let bytes = URL_SAFE_NO_PAD
            .decode(&cursor.0)
            .map_err(|_| bad_cursor())?;
        let Some(split) = bytes.len().checked_sub(MAC_LEN) else {
            return Err(bad_cursor());
        };
        let (body, tag) = bytes.split_at(split);
        // A constant-time comparison, the hmac crate's.
        self.mac(ctx, body)
            .verify_truncated_left(tag)
            .map_err(|_| bad_cursor())?;
        let [version, l0, l1, l2, l3, rest @ ..] = body else {
            return Err(bad_cursor());
        };
        let len = u32::from_be_bytes([*l0, *l1, *l2, *l3]) as usize;
        if *version != VERSION || rest.len() < len {
            return Err(bad_cursor());
        }
        let (key, id) = rest.split_at(len);
        Ok((key.to_vec(), id.to_vec()))
    }
}

/// What a cursor is bound to: it opens only under the same context.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'a> {
    pub backend: &'static str,
    pub entity: &'static str,
    pub tenant: Uuid,
    pub order: &'a str,
    pub direction: Direction,
}
