//! Keyset paging for the PostgreSQL stores' `list` (the document backends take a limit, or a
//! search cursor on OpenSearch).

use uuid::Uuid;

/// A page request: at most `limit` entities with an id greater than `after`, in id order.
///
/// Keyset paging stays consistent while rows are inserted or deleted between pages, unlike
/// offsets: every entity present throughout is returned exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    limit: u32,
    after: Option<Uuid>,
}

impl Page {
    /// The largest page a single call returns.
    pub const MAX_LIMIT: u32 = 10_000;

    /// The first `limit` entities.
    pub fn first(limit: u32) -> Self {
        Self { limit, after: None }
    }

    /// The `limit` entities that follow the one with id `after`.
    pub fn after(after: Uuid, limit: u32) -> Self {
        Self {
            limit,
            after: Some(after),
        }
    }

    /// The requested page size.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// The id the page starts after, if any.
    pub fn cursor(&self) -> Option<Uuid> {
        self.after
    }

    /// The page size, checked: `1..=MAX_LIMIT`.
    pub fn checked_limit(&self) -> crate::Result<i64> {
        if self.limit == 0 || self.limit > Self::MAX_LIMIT {
            return Err(crate::Error::InvalidInput(format!(
                "page limit {} is outside 1..={}",
                self.limit,
                Self::MAX_LIMIT
            )));
        }
        Ok(i64::from(self.limit))
    }
}
