//! The type-erased filter the document backends translate.

use std::ops::Bound;

use super::{Cond, Direction, Kind, Op, OrderField};
use crate::{Error, Result};

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
