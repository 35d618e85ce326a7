//! Orders: which field a listing is sorted by, how its values compare, and the direction.

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
