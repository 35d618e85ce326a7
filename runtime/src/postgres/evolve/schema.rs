//! The schema as the snapshot records it: tables, columns, keys and references, the names
//! PostgreSQL gives the objects derived from them, and the create file of a table.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::super::migrate::{APP_ROLE, OnDelete, TableDef, policy_expression};

/// One column as the snapshot records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// The column's name.
    pub name: String,
    /// Its SQL type, as `PgColumn::SQL_TYPE` writes it.
    #[serde(rename = "type")]
    pub sql_type: String,
    /// Whether it accepts NULL.
    pub nullable: bool,
    /// Its SQL default, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// A column holding the id of a parent entity of the same tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// The referencing column.
    pub column: String,
    /// The parent table's schema.
    pub parent_schema: String,
    /// The parent table.
    pub parent_table: String,
    /// The parent's id column.
    pub parent_id: String,
    /// What deleting the parent does to the row (absent: [`OnDelete::Cascade`], the only rule
    /// before the key existed).
    #[serde(default, skip_serializing_if = "OnDelete::is_cascade")]
    pub on_delete: OnDelete,
}

/// One tenant table: what an entity declares, and what the snapshot says the migrations made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// The entity's struct name (it appears only in comments).
    pub entity: String,
    /// The table's schema.
    pub schema: String,
    /// The table's name.
    pub table: String,
    /// The scope column (`user_id` or `org_id`).
    pub scope: String,
    /// The id column.
    pub id: String,
    /// Every column, in declaration order.
    pub columns: Vec<Column>,
    /// Columns with a `(scope, column)` index.
    pub filters: Vec<String>,
    /// Columns a listing can be ordered by: a `(scope, column, id)` index each, which also
    /// serves the column's filter.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orders: Vec<String>,
    /// Unique keys (the scope column is prepended in SQL).
    pub uniques: Vec<Vec<String>>,
    /// References to parents of the same tenant.
    pub references: Vec<Reference>,
    /// Whether the application role lacks UPDATE.
    pub append_only: bool,
    /// The RLS policy's `USING` and `WITH CHECK` expression.
    pub policy: String,
    /// Columns the entity no longer uses, which the previous release may still read and write:
    /// kept until [`generate_contract`](super::generate_contract) drops them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired: Vec<Retired>,
}

/// A column the entity stopped using (`drop_column`, or the old name of a `renamed_from`),
/// left in place for the release before, until the contract step drops it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retired {
    /// The column.
    pub column: String,
    /// The column that took its place (`renamed_from`), kept equal to it by a trigger until the
    /// contract step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_to: Option<String>,
}

impl Table {
    /// The table an entity's definition describes.
    pub fn of(def: &TableDef<'_>) -> Self {
        let scope = def.scope.as_str().to_owned();
        Self {
            entity: def.entity.to_owned(),
            schema: def.schema.to_owned(),
            table: def.table.to_owned(),
            policy: policy_expression(&scope),
            scope,
            id: def.id.to_owned(),
            columns: def
                .columns
                .iter()
                .map(|c| Column {
                    name: c.name.to_owned(),
                    sql_type: c.sql_type.to_owned(),
                    nullable: c.nullable,
                    default: c.default.map(str::to_owned),
                })
                .collect(),
            filters: def.filters.iter().map(|&f| f.to_owned()).collect(),
            orders: def.orders.iter().map(|&f| f.to_owned()).collect(),
            uniques: def
                .uniques
                .iter()
                .map(|u| u.iter().map(|&c| c.to_owned()).collect())
                .collect(),
            references: def
                .references
                .iter()
                .map(|r| Reference {
                    column: r.column.to_owned(),
                    parent_schema: r.parent_schema.to_owned(),
                    parent_table: r.parent_table.to_owned(),
                    parent_id: r.parent_id.to_owned(),
                    on_delete: r.on_delete,
                })
                .collect(),
            append_only: def.append_only,
            retired: Vec::new(),
        }
    }

    /// `schema.table`, the snapshot's key.
    pub fn key(&self) -> String {
        format!("{}.{}", self.schema, self.table)
    }

    pub(super) fn qualified(&self) -> String {
        format!("\"{}\".\"{}\"", self.schema, self.table)
    }

    pub(super) fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Every secondary index, led by the scope column: `(scope, column, id)` for each order
    /// column, then `(scope, column)` for the filters and the references no order index
    /// serves already.
    pub(super) fn indexes(&self) -> Vec<Index> {
        let mut out: Vec<Index> = self
            .orders
            .iter()
            .map(|c| Index {
                name: format!("{}_{}_{c}_{}_idx", self.table, self.scope, self.id),
                columns: vec![self.scope.clone(), c.clone(), self.id.clone()],
            })
            .collect();
        let refs = self.references.iter().map(|r| &r.column);
        for c in self.filters.iter().chain(refs) {
            if !self.orders.contains(c) && !out.iter().any(|i| i.columns[1] == *c) {
                out.push(Index {
                    name: format!("{}_{}_{c}_idx", self.table, self.scope),
                    columns: vec![self.scope.clone(), c.clone()],
                });
            }
        }
        out
    }

    /// The name PostgreSQL gives a `UNIQUE (scope, cols...)` constraint in the create file.
    pub(super) fn unique_name(&self, cols: &[String]) -> String {
        pg_object_name(&self.table, &self.key_columns(cols), "key")
    }

    /// The name PostgreSQL gives a `FOREIGN KEY (scope, column)` in the create file.
    pub(super) fn reference_name(&self, column: &str) -> String {
        pg_object_name(&self.table, &self.key_columns(&[column.to_owned()]), "fkey")
    }

    pub(super) fn key_columns(&self, cols: &[String]) -> String {
        std::iter::once(self.scope.as_str())
            .chain(cols.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("_")
    }
}

/// A secondary index: its name and its columns, the scope column first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Index {
    pub(super) name: String,
    pub(super) columns: Vec<String>,
}

impl Index {
    pub(super) fn column_list(&self) -> String {
        let quoted: Vec<String> = self.columns.iter().map(|c| format!("\"{c}\"")).collect();
        quoted.join(", ")
    }
}

/// `makeObjectName` of PostgreSQL: `name1_name2_label`, the longer part cut first until the
/// whole fits in 63 bytes. Our identifiers are ASCII, so bytes are characters.
pub(super) fn pg_object_name(name1: &str, name2: &str, label: &str) -> String {
    const MAX: usize = 63;
    let avail = MAX - label.len() - 2;
    let (mut n1, mut n2) = (name1.len(), name2.len());
    while n1 + n2 > avail {
        if n1 > n2 {
            n1 -= 1;
        } else {
            n2 -= 1;
        }
    }
    format!("{}_{}_{label}", &name1[..n1], &name2[..n2])
}

/// Renders an entity's table, keys, indexes, RLS and policy. Identifiers are double-quoted; they
/// come from Rust identifiers and the validated `table` key, never from runtime input.
#[doc(hidden)]
pub fn table_sql(def: &TableDef<'_>) -> String {
    create_sql(&Table::of(def))
}

/// The create file of a table: table, keys, indexes, RLS, policy, grants, comment, registry.
pub(crate) fn create_sql(t: &Table) -> String {
    let mut sql = String::new();
    let w = &mut sql;
    let scope = &t.scope;
    let qualified = t.qualified();
    let _ = writeln!(w, "-- Entity `{}`, partitioned by `{scope}`.", t.entity);
    let _ = writeln!(w, "CREATE TABLE {qualified} (");
    for c in &t.columns {
        let null = if c.nullable { "" } else { " NOT NULL" };
        let default = c
            .default
            .as_ref()
            .map(|d| format!(" DEFAULT {d}"))
            .unwrap_or_default();
        let _ = writeln!(w, "    \"{}\" {}{null}{default},", c.name, c.sql_type);
    }
    for u in &t.uniques {
        let cols: Vec<String> = u.iter().map(|c| format!("\"{c}\"")).collect();
        let _ = writeln!(w, "    UNIQUE (\"{scope}\", {}),", cols.join(", "));
    }
    // A reference carries the scope column: a row can only point at a parent of its own tenant,
    // whatever id it names.
    for r in &t.references {
        let _ = writeln!(
            w,
            "    FOREIGN KEY (\"{scope}\", \"{}\") REFERENCES \"{}\".\"{}\" (\"{scope}\", \"{}\") {},",
            r.column,
            r.parent_schema,
            r.parent_table,
            r.parent_id,
            r.on_delete.clause(&r.column)
        );
    }
    // The key leads with the scope column: it is the index every tenant's lookups use, and the
    // same id may exist in two tenants without one learning of the other.
    let _ = writeln!(w, "    PRIMARY KEY (\"{scope}\", \"{}\")", t.id);
    let _ = writeln!(w, ");");
    for i in t.indexes() {
        let _ = writeln!(
            w,
            "CREATE INDEX \"{}\" ON {qualified} ({});",
            i.name,
            i.column_list()
        );
    }
    let _ = writeln!(w, "ALTER TABLE {qualified} ENABLE ROW LEVEL SECURITY;");
    let _ = writeln!(w, "ALTER TABLE {qualified} FORCE ROW LEVEL SECURITY;");
    // The sub-select makes the setting an InitPlan: read once per statement, and the comparison
    // stays an index condition on the scope column.
    let _ = writeln!(w, "CREATE POLICY tenant_isolation ON {qualified}");
    let _ = writeln!(w, "    USING {}", t.policy);
    let _ = writeln!(w, "    WITH CHECK {};", t.policy);
    let grants = if t.append_only {
        "SELECT, INSERT, DELETE"
    } else {
        "SELECT, INSERT, UPDATE, DELETE"
    };
    let _ = writeln!(w, "GRANT {grants} ON {qualified} TO {APP_ROLE};");
    let _ = writeln!(
        w,
        "COMMENT ON TABLE {qualified} IS 'tenant-store: scope {scope}';"
    );
    // The audit finds tenant tables from here, not only from the comment.
    let _ = writeln!(
        w,
        "INSERT INTO tenant_store_private.tenant_tables VALUES ('{}', '{}', '{scope}');",
        t.schema, t.table
    );
    sql
}
