//! The entities a migration folder serves: registered by the generated code (`inventory`), or
//! listed by hand, with the evolution hints written beside their fields.

use std::collections::{BTreeMap, BTreeSet};

use super::super::PgEntity;
use super::super::migrate::TableDef;
use super::Table;

/// An entity's table with the evolution hints written beside its fields.
#[derive(Debug, Clone)]
pub struct Declared {
    pub(super) table: Table,
    /// `(new name, old name)` of every `renamed_from`.
    pub(super) renames: Vec<(String, String)>,
    /// Columns the user allows the next migration to drop.
    pub(super) drop_columns: Vec<String>,
}

impl Declared {
    /// The table of `def` and its hints.
    pub fn of(def: &TableDef<'_>) -> Self {
        Self {
            table: Table::of(def),
            renames: def
                .columns
                .iter()
                .filter_map(|c| Some((c.name.to_owned(), c.renamed_from?.to_owned())))
                .collect(),
            drop_columns: def.drop_columns.iter().map(|&c| c.to_owned()).collect(),
        }
    }
}

/// One registration the generated code (or [`drop_table!`](crate::postgres::drop_table))
/// submits. Not constructed by hand.
#[doc(hidden)]
#[derive(Debug)]
pub struct Registration {
    pub item: Registered,
    /// `module_path!()` where it was registered: its first segment is the crate.
    pub module: &'static str,
}

/// What a [`Registration`] adds.
#[doc(hidden)]
#[derive(Debug)]
pub enum Registered {
    /// An entity's table (its [`PgEntity::table_def`]).
    Entity(fn() -> &'static TableDef<'static>),
    /// The admin scope's audit table.
    AdminAudit,
    /// A table no entity has any more, which the user allows the next migration to drop.
    DropTable {
        schema: &'static str,
        table: &'static str,
    },
}

inventory::collect!(Registration);

/// Registers a table no entity declares any more for removal: the next generated migration
/// drops it **with all its rows**. Without this, the generator refuses to go on while the
/// table is in the snapshot and no entity declares it.
///
/// ```
/// tenant_store::postgres::drop_table!("public", "episodes");
/// ```
#[macro_export]
#[doc(hidden)]
macro_rules! __pg_drop_table {
    ($schema:literal, $table:literal $(,)?) => {
        $crate::__private::inventory::submit! {
            $crate::__private::pg::Registration {
                item: $crate::__private::pg::Registered::DropTable {
                    schema: $schema,
                    table: $table,
                },
                module: ::core::module_path!(),
            }
        }
    };
}

/// Registers the admin scope's audit table ([`Db::admin`](super::Db::admin)) for the
/// migrations of the crate it is written in.
#[macro_export]
#[doc(hidden)]
macro_rules! __pg_admin_audit {
    () => {
        $crate::__private::inventory::submit! {
            $crate::__private::pg::Registration {
                item: $crate::__private::pg::Registered::AdminAudit,
                module: ::core::module_path!(),
            }
        }
    };
}

/// What the migrations must produce: the tables of the entities, whether the admin audit table
/// is wanted, and the tables the user allows to be dropped.
#[derive(Debug, Clone, Default)]
pub struct Entities {
    pub(super) tables: Vec<Declared>,
    pub(super) admin_audit: bool,
    pub(super) drop_tables: BTreeSet<String>,
}

impl Entities {
    /// Nothing yet; add with the builder methods.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything the program registered: every `#[tenant_store(backend = "postgres")]` entity
    /// of every crate linked in, [`admin_audit!`](crate::postgres::admin_audit) and
    /// [`drop_table!`](crate::postgres::drop_table). Where the entities are declared does not
    /// matter: the order is by table, parents before the tables that reference them.
    pub fn registered() -> Self {
        Self::registered_in(None)
    }

    /// The registrations made in the crate `krate` (as `module_path!` names it, with `_` for
    /// `-`): for a program that links the entities of several applications.
    pub fn registered_in_crate(krate: &str) -> Self {
        Self::registered_in(Some(krate))
    }

    fn registered_in(krate: Option<&str>) -> Self {
        let mut out = Self::new();
        for r in inventory::iter::<Registration>.into_iter() {
            if !crate::migrations::in_crate(r.module, krate) {
                continue;
            }
            match r.item {
                Registered::Entity(def) => out.tables.push(Declared::of(def())),
                Registered::AdminAudit => out.admin_audit = true,
                Registered::DropTable { schema, table } => {
                    out.drop_tables.insert(format!("{schema}.{table}"));
                }
            }
        }
        out
    }

    /// The entities' tables, as declared.
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.tables.iter().map(|d| &d.table)
    }

    /// Adds entity `E`.
    pub fn entity<E: PgEntity>(mut self) -> Self {
        self.tables.push(Declared::of(&E::DEF));
        self
    }

    /// Adds the admin scope's audit table.
    pub fn admin_audit(mut self) -> Self {
        self.admin_audit = true;
        self
    }

    /// Allows the next migration to drop `schema.table` and its rows.
    pub fn drop_table(mut self, schema: &str, table: &str) -> Self {
        self.drop_tables.insert(format!("{schema}.{table}"));
        self
    }

    /// The declared tables, in the order new ones are created: by name, each parent before
    /// the tables that reference it.
    pub(super) fn ordered(&self) -> Result<Vec<&Declared>, String> {
        let mut by_key: BTreeMap<String, &Declared> = BTreeMap::new();
        for d in &self.tables {
            if let Some(other) = by_key.insert(d.table.key(), d) {
                return Err(format!(
                    "`{}` and `{}` both declare table {}",
                    other.table.entity,
                    d.table.entity,
                    d.table.key()
                ));
            }
        }
        let mut out = Vec::with_capacity(by_key.len());
        let mut placed = BTreeSet::new();
        while out.len() < by_key.len() {
            let next = by_key.iter().find(|(key, d)| {
                !placed.contains(*key)
                    && d.table.references.iter().all(|r| {
                        let parent = format!("{}.{}", r.parent_schema, r.parent_table);
                        parent == **key || placed.contains(&parent) || !by_key.contains_key(&parent)
                    })
            });
            let Some((key, d)) = next else {
                return Err("the entities' references form a cycle".into());
            };
            placed.insert(key.clone());
            out.push(*d);
        }
        Ok(out)
    }
}
