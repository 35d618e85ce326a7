//! Pages and what a listing returns: [`Page`], [`Listing`], and the opaque [`Cursor`].

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::bad_cursor;
use super::seal::{MAC_LEN, MAX_CURSOR};
use crate::{Error, Result};

/// A page request: at most `limit` items, after the position a [`Cursor`] marks (the start
/// when there is none). Keyset paging: every item present throughout is returned exactly once,
/// however rows are inserted or deleted between pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    limit: u32,
    after: Option<Cursor>,
}

impl Page {
    /// The largest page a single call returns.
    pub const MAX_LIMIT: u32 = 10_000;

    /// The first `limit` items.
    pub fn first(limit: u32) -> Self {
        Self { limit, after: None }
    }

    /// The `limit` items after `cursor` (from [`Listing::next`], possibly through
    /// [`Cursor::as_str`] and [`str::parse`] across an HTTP boundary).
    pub fn after(cursor: Cursor, limit: u32) -> Self {
        Self {
            limit,
            after: Some(cursor),
        }
    }

    /// The requested page size.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// The cursor the page starts after, if any.
    pub fn cursor(&self) -> Option<&Cursor> {
        self.after.as_ref()
    }

    /// The page size, checked: `1..=MAX_LIMIT`.
    pub fn checked_limit(&self) -> Result<u32> {
        if self.limit == 0 || self.limit > Self::MAX_LIMIT {
            return Err(Error::InvalidInput(format!(
                "page limit {} is outside 1..={}",
                self.limit,
                Self::MAX_LIMIT
            )));
        }
        Ok(self.limit)
    }
}

/// One page of a listing, and the request for the next page when there are more items.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing<E> {
    /// The items, in the listing's order.
    pub items: Vec<E>,
    /// The next page (same limit), or `None` when this page is the last.
    pub next: Option<Page>,
}

impl<E> IntoIterator for Listing<E> {
    type Item = E;
    type IntoIter = std::vec::IntoIter<E>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// An opaque, tamper-evident position in a listing. Its text form ([`as_str`](Self::as_str),
/// `Display`, `FromStr`) is URL-safe; only the listing that made it accepts it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Cursor(pub(super) String);

impl Cursor {
    /// The cursor's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Cursor").field(&self.0).finish()
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Cursor {
    type Err = Error;
    /// Accepts any URL-safe base64 text of a plausible length; whether it is a cursor of the
    /// listing it is used on is checked there.
    fn from_str(s: &str) -> Result<Self> {
        match URL_SAFE_NO_PAD.decode(s) {
            Ok(bytes) if bytes.len() > 1 + MAC_LEN && bytes.len() <= MAX_CURSOR => {
                Ok(Self(s.to_owned()))
            }
            _ => Err(bad_cursor()),
        }
    }
}
