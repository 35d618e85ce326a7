//! Conditions on one field: [`Cond`], and the traits that say which kinds a field type takes.

use std::ops::{Bound, RangeBounds};

use uuid::Uuid;

use super::Kind;

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
        Self::between(range.start_bound().cloned(), range.end_bound().cloned())
    }

    /// The field is greater than `value`.
    pub fn gt(value: F::Value) -> Self
    where
        F: Ordered,
    {
        Self::between(Bound::Excluded(value), Bound::Unbounded)
    }

    /// The field is greater than or equal to `value`.
    pub fn ge(value: F::Value) -> Self
    where
        F: Ordered,
    {
        Self::between(Bound::Included(value), Bound::Unbounded)
    }

    /// The field is less than `value`.
    pub fn lt(value: F::Value) -> Self
    where
        F: Ordered,
    {
        Self::between(Bound::Unbounded, Bound::Excluded(value))
    }

    /// The field is less than or equal to `value`.
    pub fn le(value: F::Value) -> Self
    where
        F: Ordered,
    {
        Self::between(Bound::Unbounded, Bound::Included(value))
    }

    fn between(low: Bound<F::Value>, high: Bound<F::Value>) -> Self
    where
        F: Ordered,
    {
        Self(Op::Range(low.map(F::wrap), high.map(F::wrap), F::KIND))
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

/// Every listing order key is ordered, as itself.
impl<T: SortKey> Ordered for T {
    type Value = T;
    const KIND: Kind = <T as SortKey>::KIND;
    fn wrap(value: T) -> T {
        value
    }
}

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

impl SortKey for String {
    const KIND: Kind = Kind::Text;
    fn to_cursor(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }
    fn from_cursor(bytes: &[u8]) -> Option<Self> {
        String::from_utf8(bytes.to_vec()).ok()
    }
}

impl SortKey for Uuid {
    // Lower-case hyphenated text sorts as the bytes do.
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

    use super::{Kind, SortKey};

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

    impl SortKey for NaiveDateTime {
        const KIND: Kind = Kind::Time;
        fn to_cursor(&self, out: &mut Vec<u8>) {
            self.and_utc().to_cursor(out);
        }
        fn from_cursor(bytes: &[u8]) -> Option<Self> {
            DateTime::<Utc>::from_cursor(bytes).map(|t| t.naive_utc())
        }
    }

    impl SortKey for NaiveDate {
        // `YYYY-MM-DD` text sorts as the dates do.
        const KIND: Kind = Kind::Text;
        fn to_cursor(&self, out: &mut Vec<u8>) {
            out.extend_from_slice(&self.to_epoch_days().to_be_bytes());
        }
        fn from_cursor(bytes: &[u8]) -> Option<Self> {
            NaiveDate::from_epoch_days(i32::from_be_bytes(bytes.try_into().ok()?))
        }
    }
}
