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
//! - What a backend cannot do is [`Error::InvalidInput`](crate::Error::InvalidInput), never an approximation: Qdrant has no
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
//! ## Files
//! `cond.rs` the conditions and the traits that bound them, `order.rs` the orders,
//! `doc_query.rs` the type-erased filter of the document backends, `page.rs` pages, listings
//! and cursors as callers hold them, `seal.rs` how a cursor is sealed and opened.
//!
//! ## Cursors
//! A cursor holds the last item's sort key and id, sealed with a MAC (HMAC-SHA-256, the `hmac`
//! crate) over those bytes **and** the listing's context: the backend, the entity, the tenant,
//! the order field and the direction. The context itself is not in the cursor: a cursor used by
//! another tenant, on another entity or with another order fails the MAC exactly like an edited
//! one, and every such cursor is [`Error::InvalidInput`](crate::Error::InvalidInput). The key ([`CursorKey`]) is per store
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

mod cond;
#[cfg(feature = "document")]
mod doc_query;
mod order;
mod page;
mod seal;

// Without a backend (the `axum` feature alone) nothing reads conditions or seals cursors.
#[cfg_attr(
    not(any(feature = "postgres", feature = "document")),
    allow(unused_imports)
)]
pub(crate) use cond::Op;
pub use cond::{Cond, Nullable, Ordered, SortKey, Text};
#[cfg(feature = "document")]
pub use doc_query::DocQuery;
#[cfg(feature = "document")]
pub(crate) use doc_query::DocSort;
pub use order::{Direction, IdOrder, Kind, OrderField, Sort};
pub use page::{Cursor, Listing, Page};
pub use seal::CursorKey;
#[cfg_attr(
    not(any(feature = "postgres", feature = "document")),
    allow(unused_imports)
)]
pub(crate) use seal::{Context, bad_cursor};

#[cfg(test)]
mod tests {
    use std::fmt;

    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use uuid::Uuid;

    use super::*;
    use crate::Error;

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
