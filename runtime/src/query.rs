//! The query vocabulary every backend's `list` and `count` share: conditions on fields, the
//! order, pages and their cursors.
//!
//! ## Shape
//! - A generated `{Entity}Filter` holds one optional [`Cond`] per filterable field and an
//!   optional [`Sort`] over the generated `{Entity}Order` (the id and every `order_by` field).
//!   Its builder method per field takes `impl Into<Cond<F>>`, so a plain value means equality
//!   and the other kinds are written `Cond::is_in(..)`, `Cond::range(a..b)`, `Cond::gt(v)`,
//!   `Cond::is_null()`, `Cond::starts_with("ab")`. Each kind is an inherent function of
//!   `Cond<F>` bounded by what it needs of the field type `F`: [`Ordered`] for ranges,
//!   [`Nullable`] for null tests, [`Text`] for prefixes. A condition the field cannot take is a
//!   compile error naming the field's type, never a runtime one.
//! - The backend turns each condition into its own typed form; a value is never spliced into
//!   query text. PostgreSQL binds each as a parameter of the column's type. The document
//!   backends get the filter type-erased ([`DocQuery`]: each value as the JSON it is stored as,
//!   and for ranges and orders a [`Kind`] saying how values compare) and translate it: Neo4j to
//!   Cypher parameters (times through `datetime()`), OpenSearch to query DSL clauses (`term`,
//!   `terms`, `range`, `exists`, `prefix`), Qdrant to typed payload conditions, Valkey to a check
//!   of each item read (it has no secondary index).
//! - What a backend cannot do is [`Error::InvalidInput`], never an approximation: Qdrant has no
//!   prefix match and compares only numbers and times; it and Valkey have one order each (point
//!   id for a scroll, recency for Valkey), so `order_by` is a PostgreSQL, OpenSearch and Neo4j
//!   key. A prefix is an index range on PostgreSQL only under the C collation (or a
//!   `text_pattern_ops` index); otherwise it is checked on the tenant's rows the other
//!   conditions leave.
//! - Equality with `None` matches nothing on every backend (as in SQL); `Cond::is_null` finds
//!   the nulls.
//! - [`Page`] is a limit and, after the first page, a [`Cursor`]; `list` returns a
//!   [`Listing`]: the items and the next page, if there is one (it asks for one row more than the
//!   limit, so there is never an empty last page).
//!
//! ## Cursors
//! A cursor holds the last item's sort key and id, sealed with a MAC (HMAC-SHA-256, the `hmac`
//! crate) over those bytes **and** the listing's context: the backend, the entity, the tenant,
//! the order field and the direction. The context itself is not in the cursor: a cursor used by
//! another tenant, on another entity or with another order fails the MAC exactly like an edited
//! one, and every such cursor is [`Error::InvalidInput`]. The key ([`CursorKey`]) is per store
//! connection: PostgreSQL derives it from the signing key, so every instance of an application
//! accepts the others' cursors; each document backend's client uses a random key unless given
//! one (`with_cursor_key`), so share one across instances that serve the same listings. Filters
//! are not bound: changing the filter between pages is the caller's business and can only narrow
//! what the tenant sees of its own rows.
//!
//! Ordering by a field that changes (an update time, Valkey's recency) pages consistently only
//! among rows that do not move while the pages are read: a row updated between two pages can
//! appear on both or neither.

// Without a backend (the `axum` feature alone) nothing pages or seals cursors.
#![cfg_attr(not(any(feature = "postgres", feature = "document")), allow(dead_code))]

use std::fmt;
use std::ops::{Bound, RangeBounds};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::{Error, Result};

/// A condition on one field of type `F`: equality, membership, a range, a null test or a
/// text prefix. Built with the functions below; a plain value converts into equality.
#[derive(Debug, Clone, PartialEq)]
pub struct Cond<F>(pub(crate) Op<F>);

/// What a [`Cond`] tests; the backends match on it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op<F> {
    Eq(F),
    In(Vec<F>),
    /// The bounds, and how the field's values compare (for the backends that store JSON).
    Range(Bound<F>, Bound<F>, Kind),
    IsNull,
    IsNotNull,
    Prefix(String),
}

impl<F> Cond<F> {
    /// The field equals `value` (what a plain value converts into).
    pub fn eq(value: F) -> Self {
        Self(Op::Eq(value))
    }

    /// The field equals one of `values`; an empty set matches nothing.
    pub fn is_in(values: impl IntoIterator<Item = F>) -> Self {
        Self(Op::In(values.into_iter().collect()))
    }

    /// The field lies in `range`: `Cond::range(a..b)`, `Cond::range(a..=b)`, `Cond::range(a..)`,
    /// `Cond::range(..b)`. On an optional field a range never matches a null.
    pub fn range<R: RangeBounds<F::Value>>(range: R) -> Self
    where
        F: Ordered,
        F::Value: Clone,
    {
        let wrap = |b: Bound<&F::Value>| match b {
            Bound::Included(v) => Bound::Included(F::wrap(v.clone())),
            Bound::Excluded(v) => Bound::Excluded(F::wrap(v.clone())),
            Bound::Unbounded => Bound::Unbounded,
        };
        Self(Op::Range(
            wrap(range.start_bound()),
            wrap(range.end_bound()),
            F::KIND,
        ))
    }

    /// The field is greater than `value`.
    pub fn gt(value: F::Value) -> Self
    where
        F: Ordered,
    {
        Self(Op::Range(
            Bound::Excluded(F::wrap(value)),
            Bound::Unbounded,
            F::KIND,
        ))
    }

    /// The field is greater than or equal to `value`.
    pub fn ge(value: F::Value) -> Self
    where
        F: Ordered,
    {
        Self(Op::Range(
            Bound::Included(F::wrap(value)),
            Bound::Unbounded,
            F::KIND,
        ))
    }

    /// The field is less than `value`.
    pub fn lt(value: F::Value) -> Self
    where
        F: Ordered,
    {
        Self(Op::Range(
            Bound::Unbounded,
            Bound::Excluded(F::wrap(value)),
            F::KIND,
        ))
    }

    /// The field is less than or equal to `value`.
    pub fn le(value: F::Value) -> Self
    where
        F: Ordered,
    {
        Self(Op::Range(
            Bound::Unbounded,
            Bound::Included(F::wrap(value)),
            F::KIND,
        ))
    }

    /// The (optional) field is null.
    pub fn is_null() -> Self
    where
        F: Nullable,
    {
        Self(Op::IsNull)
    }

    /// The (optional) field is not null.
    pub fn is_not_null() -> Self
    where
        F: Nullable,
    {
        Self(Op::IsNotNull)
    }

    /// The text field starts with `prefix` (compared as bytes of UTF-8: no case folding, no
    /// collation). On an optional field a prefix never matches a null.
    pub fn starts_with(prefix: impl Into<String>) -> Self
    where
        F: Text,
    {
        Self(Op::Prefix(prefix.into()))
    }
}

impl<F> From<F> for Cond<F> {
    fn from(value: F) -> Self {
        Self::eq(value)
    }
}

/// `.title("draft")` on a `String` field.
impl From<&str> for Cond<String> {
    fn from(value: &str) -> Self {
        Self::eq(value.to_owned())
    }
}

/// A field type with an order: ranges apply to it. Numbers, text, times, dates, UUIDs, and
/// `Option`s of them (a range then takes the inner value and never matches a null).
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no order: a range needs a number, a text, a date, a time or a UUID field",
    label = "a range on a field of type `{Self}`",
    note = "equality (`Cond::eq`, or the value itself) and `Cond::is_in` apply to every filter field"
)]
pub trait Ordered {
    /// The value a bound is given in (the inner type of an `Option`).
    type Value;
    /// How values compare.
    const KIND: Kind;
    /// The field value holding `value`.
    fn wrap(value: Self::Value) -> Self;
}

/// An optional field: null tests apply to it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not optional: a null test needs an `Option<_>` field",
    label = "`Cond::is_null` / `Cond::is_not_null` on a field of type `{Self}`"
)]
pub trait Nullable {}

impl<T> Nullable for Option<T> {}

/// A text field (`String` or `Option<String>`): a prefix applies to it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not text: `Cond::starts_with` needs a `String` field",
    label = "a prefix on a field of type `{Self}`"
)]
pub trait Text {}

impl Text for String {}
impl Text for Option<String> {}

impl<T: SortKey> Ordered for Option<T> {
    type Value = T;
    const KIND: Kind = T::KIND;
    fn wrap(value: T) -> Self {
        Some(value)
    }
}

/// A field type a listing can be ordered by (`#[tenant_store(order_by)]`): ordered, never null,
/// and written into a cursor as bytes that read back to the same value.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot order a listing: `order_by` needs a number, a text, a date, a time or a UUID field, not optional",
    label = "`order_by` on a field of type `{Self}`"
)]
pub trait SortKey: Sized {
    /// How values compare.
    const KIND: Kind;
    /// Appends the value's cursor bytes.
    fn to_cursor(&self, out: &mut Vec<u8>);
    /// Reads back what [`to_cursor`](Self::to_cursor) wrote, or `None`.
    fn from_cursor(bytes: &[u8]) -> Option<Self>;
}

macro_rules! sort_keys {
    ($($ty:ty),*) => {$(
        impl Ordered for $ty {
            type Value = $ty;
            const KIND: Kind = Kind::Number;
            fn wrap(value: $ty) -> $ty {
                value
            }
        }
        impl SortKey for $ty {
            const KIND: Kind = Kind::Number;
            fn to_cursor(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_be_bytes());
            }
            fn from_cursor(bytes: &[u8]) -> Option<Self> {
                Some(<$ty>::from_be_bytes(bytes.try_into().ok()?))
            }
        }
    )*};
}

sort_keys!(i16, i32, i64, u32, u64, f32, f64);

impl Ordered for String {
    type Value = String;
    const KIND: Kind = Kind::Text;
    fn wrap(value: String) -> String {
        value
    }
}

impl SortKey for String {
    const KIND: Kind = Kind::Text;
    fn to_cursor(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }
    fn from_cursor(bytes: &[u8]) -> Option<Self> {
        String::from_utf8(bytes.to_vec()).ok()
    }
}

impl Ordered for Uuid {
    type Value = Uuid;
    // Lower-case hyphenated text sorts as the bytes do.
    const KIND: Kind = Kind::Text;
    fn wrap(value: Uuid) -> Uuid {
        value
    }
}

impl SortKey for Uuid {
    const KIND: Kind = Kind::Text;
    fn to_cursor(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }
    fn from_cursor(bytes: &[u8]) -> Option<Self> {
        Uuid::from_slice(bytes).ok()
    }
}

mod times {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

    use super::{Kind, Ordered, SortKey};

    impl Ordered for DateTime<Utc> {
        type Value = Self;
        const KIND: Kind = Kind::Time;
        fn wrap(value: Self) -> Self {
            value
        }
    }

    /// Microseconds since the epoch: the precision PostgreSQL stores.
    impl SortKey for DateTime<Utc> {
        const KIND: Kind = Kind::Time;
        fn to_cursor(&self, out: &mut Vec<u8>) {
            out.extend_from_slice(&self.timestamp_micros().to_be_bytes());
        }
        fn from_cursor(bytes: &[u8]) -> Option<Self> {
            DateTime::from_timestamp_micros(i64::from_be_bytes(bytes.try_into().ok()?))
        }
    }

    impl Ordered for NaiveDateTime {
        type Value = Self;
        const KIND: Kind = Kind::Time;
        fn wrap(value: Self) -> Self {
            value
        }
    }

    impl SortKey for NaiveDateTime {
        const KIND: Kind = Kind::Time;
        fn to_cursor(&self, out: &mut Vec<u8>) {
            self.and_utc().to_cursor(out);
        }
        fn from_cursor(bytes: &[u8]) -> Option<Self> {
            DateTime::<Utc>::from_cursor(bytes).map(|t| t.naive_utc())
        }
    }

    impl Ordered for NaiveDate {
        type Value = Self;
        // `YYYY-MM-DD` text sorts as the dates do.
        const KIND: Kind = Kind::Text;
        fn wrap(value: Self) -> Self {
            value
        }
    }

    impl SortKey for NaiveDate {
        const KIND: Kind = Kind::Text;
        fn to_cursor(&self, out: &mut Vec<u8>) {
            out.extend_from_slice(&self.to_epoch_days().to_be_bytes());
        }
        fn from_cursor(bytes: &[u8]) -> Option<Self> {
            NaiveDate::from_epoch_days(i32::from_be_bytes(bytes.try_into().ok()?))
        }
    }
}

/// How the values of an ordered field compare, for the backends that store JSON (PostgreSQL
/// compares its own typed columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// JSON numbers.
    Number,
    /// Text, compared as its UTF-8 bytes (UUIDs and `YYYY-MM-DD` dates included).
    Text,
    /// RFC 3339 times, compared as instants (their text has a varying number of digits).
    Time,
}

/// Ascending or descending; the id breaks ties in the same direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Smallest first (the default).
    #[default]
    Asc,
    /// Largest first: "the newest".
    Desc,
}

/// An order: a field of the generated `{Entity}Order` and a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort<O> {
    /// The field.
    pub field: O,
    /// The direction.
    pub direction: Direction,
}

/// What the generated `{Entity}Order` implements: the fields a listing can be ordered by.
pub trait OrderField: Copy + Send + Sync + 'static {
    /// The field's stored name; `None` for the id.
    fn name(self) -> Option<&'static str>;
    /// How the field's values compare.
    fn kind(self) -> Kind;
    /// Whether this is the id (the keyset is then the id alone).
    fn is_id(self) -> bool {
        self.name().is_none()
    }
}

/// The order of an entity without `order_by` fields: its id. The generated `{Entity}Order` is
/// an alias of it then (a type per entity would cost compile time for one variant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdOrder {
    /// By the id.
    Id,
}

impl OrderField for IdOrder {
    fn name(self) -> Option<&'static str> {
        None
    }
    fn kind(self) -> Kind {
        Kind::Text
    }
}

/// A filter of a document entity (Valkey, OpenSearch, Neo4j, Qdrant), type-erased: each
/// condition's values as the JSON they are stored as, under the field's name, and the order.
/// The generated `{Entity}Filter` builds one; each backend translates it into its own typed
/// query (parameters, a query DSL, a payload filter), never into query text with values in it.
#[cfg(feature = "document")]
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocQuery {
    pub(crate) conds: Vec<(&'static str, Op<serde_json::Value>)>,
    /// The order field (`None`: the id), how it compares, and the direction.
    pub(crate) sort: Option<(Option<&'static str>, Kind, Direction)>,
    /// A value that did not serialize: reported by the call that uses the filter.
    pub(crate) error: Option<String>,
}

/// The order of a [`DocQuery`].
#[cfg(feature = "document")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DocSort {
    pub field: &'static str,
    pub is_id: bool,
    pub kind: Kind,
    pub direction: Direction,
}

#[cfg(feature = "document")]
impl DocQuery {
    /// Adds the condition `cond` on `field` (the generated builder methods call this).
    #[doc(hidden)]
    pub fn push<F: serde::Serialize>(&mut self, field: &'static str, cond: Cond<F>) {
        let json = |v: F| serde_json::to_value(v).map_err(|e| format!("`{field}`: {e}"));
        let bound = |b: Bound<F>| -> std::result::Result<Bound<serde_json::Value>, String> {
            Ok(match b {
                Bound::Included(v) => Bound::Included(json(v)?),
                Bound::Excluded(v) => Bound::Excluded(json(v)?),
                Bound::Unbounded => Bound::Unbounded,
            })
        };
        let op = match cond.0 {
            Op::Eq(v) => json(v).map(Op::Eq),
            Op::In(vs) => vs
                .into_iter()
                .map(json)
                .collect::<std::result::Result<_, _>>()
                .map(Op::In),
            Op::Range(lo, hi, kind) => bound(lo).and_then(|lo| Ok(Op::Range(lo, bound(hi)?, kind))),
            Op::IsNull => Ok(Op::IsNull),
            Op::IsNotNull => Ok(Op::IsNotNull),
            Op::Prefix(p) => Ok(Op::Prefix(p)),
        };
        match op {
            Ok(op) => self.conds.push((field, op)),
            Err(e) => self.error = Some(e),
        }
    }

    /// Orders by `field` in `direction` (the generated `order_by` calls this).
    #[doc(hidden)]
    pub fn order_by<O: OrderField>(&mut self, field: O, direction: Direction) {
        self.sort = Some((field.name(), field.kind(), direction));
    }

    /// The order, the id ascending by default (`id` names the id field).
    pub(crate) fn sort_or_id(&self, id: &'static str) -> DocSort {
        let (field, kind, direction) = self.sort.unwrap_or((None, Kind::Text, Direction::Asc));
        DocSort {
            field: field.unwrap_or(id),
            is_id: field.is_none(),
            kind,
            direction,
        }
    }

    /// [`Error::InvalidInput`] when a value did not serialize.
    pub(crate) fn check(&self) -> Result<()> {
        match &self.error {
            Some(e) => Err(Error::InvalidInput(format!(
                "a filter value did not serialize: {e}"
            ))),
            None => Ok(()),
        }
    }
}

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
pub struct Cursor(String);

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

const VERSION: u8 = 1;
const MAC_LEN: usize = 16;
/// Long enough for a sort key of a few KB of text; a longer string is not a cursor.
const MAX_CURSOR: usize = 8 * 1024;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(tenant: Uuid) -> Context<'static> {
        Context {
            backend: "postgres",
            entity: "Memory",
            tenant,
            order: "created_at",
            direction: Direction::Desc,
        }
    }

    #[test]
    fn a_cursor_opens_only_in_its_context() {
        let key = CursorKey::derive(b"secret");
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let c = key.seal(&ctx(a), b"sortkey", b"id-bytes");
        assert_eq!(
            key.open(&ctx(a), &c).unwrap(),
            (b"sortkey".to_vec(), b"id-bytes".to_vec())
        );
        // Another tenant, entity, order, direction, backend or key: refused.
        let others = [
            ctx(b),
            Context {
                entity: "Feedback",
                ..ctx(a)
            },
            Context {
                order: "updated_at",
                ..ctx(a)
            },
            Context {
                direction: Direction::Asc,
                ..ctx(a)
            },
            Context {
                backend: "qdrant",
                ..ctx(a)
            },
        ];
        for other in others {
            assert!(
                matches!(key.open(&other, &c), Err(Error::InvalidInput(_))),
                "{other:?}"
            );
        }
        assert!(CursorKey::derive(b"other").open(&ctx(a), &c).is_err());
    }

    #[test]
    fn every_edited_byte_is_refused() {
        let key = CursorKey::derive(b"secret");
        let c = key.seal(
            &ctx(Uuid::nil()),
            &42i64.to_be_bytes(),
            Uuid::nil().as_bytes(),
        );
        let bytes = URL_SAFE_NO_PAD.decode(c.as_str()).unwrap();
        for i in 0..bytes.len() {
            let mut edited = bytes.clone();
            edited[i] ^= 0x01;
            let edited: Cursor = URL_SAFE_NO_PAD.encode(edited).parse().unwrap();
            assert!(key.open(&ctx(Uuid::nil()), &edited).is_err(), "byte {i}");
        }
        assert!("not a cursor!".parse::<Cursor>().is_err());
        assert!("AAAA".parse::<Cursor>().is_err());
    }

    #[test]
    fn sort_keys_read_back() {
        fn round<T: SortKey + PartialEq + fmt::Debug>(v: T) {
            let mut out = Vec::new();
            v.to_cursor(&mut out);
            assert_eq!(T::from_cursor(&out), Some(v));
        }
        round(-5i64);
        round(i16::MIN);
        round(1.5f64);
        round("née".to_owned());
        round(Uuid::new_v4());
        {
            round(chrono::DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap());
            round(chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        }
        assert_eq!(i64::from_cursor(&[1, 2]), None);
    }
}
