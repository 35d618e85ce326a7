//! Schema evolution: entities change after the first deploy, and the generator writes only
//! **new** migration files for the difference. Applied files are never rewritten; files the
//! user wrote are never touched.
//!
//! ## Data flow
//! ```text
//! entities (TableDef: registered, or listed) ──► Entities { tables, admin audit, dropped tables }
//! migrations/tenant_store.snapshot.json      ──► Snapshot { schema the files produce, their hashes }
//! plan(Folder, Entities) ──► Plan { new files, next Snapshot }  or  Refused { every problem }
//! Plan::write: the new files, then the snapshot; nothing else in the folder changes
//! check:       the recorded files are intact, and the plan is empty
//! ```
//!
//! ## Why a committed snapshot
//! The schema the committed migrations produce could be derived by replaying them, but they
//! are SQL, and the user's own files sit beside them: reading them back needs a SQL parser and
//! still cannot see what a hand-written file did. The snapshot is small, deterministic JSON
//! (sorted maps, declaration order), written by the generator with the files it describes and
//! reviewed in the same diff. It also records each generated file's SHA-256, so the drift check
//! finds an applied file that was edited (which sqlx would refuse with a checksum error).
//!
//! A folder written by the create-only generator of tenant-store 0.1 has no snapshot: the first
//! run adopts it when every generated file in it is what the entities generate today.
//!
//! ## What a step can change, and how it reaches a live table
//! Files are numbered after the highest version in the folder (the user's files included) and
//! run by sqlx in order. For an existing table the generator writes, in this order:
//! 1. `NNNN_alter_<table>.sql`, one transaction: column renames (and the names of the indexes
//!    and constraints derived from them), dropped keys and references, dropped columns (only
//!    those named by `drop_column`), type conversions PostgreSQL can make for every value,
//!    nullability and defaults, added columns (nullable, or with `default`), new references
//!    (`NOT VALID`: no scan under the lock; a reference whose `on_delete` changed is dropped
//!    and added again the same way), grants (`append_only`), and the policy when the
//!    generated one changed.
//! 2. One `-- no-transaction` file per index created or dropped: `CREATE INDEX CONCURRENTLY`
//!    never blocks writes, and cannot run in a transaction (nor beside another statement).
//! 3. `NNNN_constrain_<table>.sql`: new unique keys attached to their concurrently built
//!    indexes, new references validated (a scan that takes no write-blocking lock).
//!
//! New tables come first (parents before the tables that reference them), then the changes of
//! existing tables, then dropped tables. A new table gets the create file it always had; a
//! table is dropped only when the
//! application names it with [`drop_table!`](crate::postgres::drop_table). The admin audit
//! table is created when first registered and never dropped. A changed function of the base
//! migration (the signed-context check behind every policy, say) is replaced in a
//! `NNNN_tenant_store_functions.sql`. RLS, `FORCE`, the grants, the comment and the audit's
//! table registry stay as the create file made them at every step.
//!
//! ## Two releases side by side
//! During a rolling deploy the release before (N) keeps serving while the migrations of the
//! next (N+1) apply and while N+1 starts. So the files of one `generate` never take away what
//! N reads or writes; what would is split in two (expand, then contract):
//!
//! | change | N+1's files (expand) | N keeps working because | contract |
//! | --- | --- | --- | --- |
//! | new table, nullable or defaulted column, index, unique key, reference, `on_delete`, policy | as above | it never names them | none |
//! | `drop_column = "c"` | `c` stays; a required `c` without a default gets its type's zero as default; its keys and references go | N+1's rows have a value for `c` | `DROP COLUMN` |
//! | `renamed_from = "old"` | a new column, filled from `old`, and a trigger ([`SYNC_RENAMED`](super::migrate::SYNC_RENAMED)) that keeps both equal on every write; new keys and indexes built beside the old ones | `old` is there, and each release's writes reach the other's column | the trigger and `old` dropped, the new column's default set |
//!
//! The contract is a later `generate --contract` ([`generate_contract`]), shipped once no
//! instance of N is left; the snapshot lists what waits for it (`Table::retired`). Whatever N+1
//! does not name is left to the contract, so N+1 works before and after it. Other changes are
//! not expand-only and say so in the README's deploy order: a type changed in place (N reads
//! the old type: rename the field to change its type side by side), a field made required or
//! optional (N writes NULL, or reads it), `append_only` (N's updates are refused), and an
//! entity removed with `drop_table!` (ship it in the release after the one that stopped
//! calling the entity).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::migrate::{
    APP_ROLE, FUNCTIONS, HEADER, MigrationFile, OnDelete, SYNC_RENAMED, TableDef, base_sql,
    policy_expression,
};
use super::{PgEntity, audit_table_sql};
use crate::migrations::{Folder, LOST_SNAPSHOT, Writer, sha256};
pub use crate::migrations::{Refused, SNAPSHOT_FILE};

/// The first line sqlx reads to run a file outside a transaction.
const NO_TRANSACTION: &str = "-- no-transaction\n";

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
    /// kept until [`generate_contract`] drops them.
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

    fn qualified(&self) -> String {
        format!("\"{}\".\"{}\"", self.schema, self.table)
    }

    fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Every secondary index, led by the scope column: `(scope, column, id)` for each order
    /// column, then `(scope, column)` for the filters and the references no order index
    /// serves already.
    fn indexes(&self) -> Vec<Index> {
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
    fn unique_name(&self, cols: &[String]) -> String {
        pg_object_name(&self.table, &self.key_columns(cols), "key")
    }

    /// The name PostgreSQL gives a `FOREIGN KEY (scope, column)` in the create file.
    fn reference_name(&self, column: &str) -> String {
        pg_object_name(&self.table, &self.key_columns(&[column.to_owned()]), "fkey")
    }

    fn key_columns(&self, cols: &[String]) -> String {
        std::iter::once(self.scope.as_str())
            .chain(cols.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("_")
    }
}

/// A secondary index: its name and its columns, the scope column first.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Index {
    name: String,
    columns: Vec<String>,
}

impl Index {
    fn column_list(&self) -> String {
        let quoted: Vec<String> = self.columns.iter().map(|c| format!("\"{c}\"")).collect();
        quoted.join(", ")
    }
}

/// `makeObjectName` of PostgreSQL: `name1_name2_label`, the longer part cut first until the
/// whole fits in 63 bytes. Our identifiers are ASCII, so bytes are characters.
fn pg_object_name(name1: &str, name2: &str, label: &str) -> String {
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

/// An entity's table with the evolution hints written beside its fields.
#[derive(Debug, Clone)]
pub struct Declared {
    table: Table,
    /// `(new name, old name)` of every `renamed_from`.
    renames: Vec<(String, String)>,
    /// Columns the user allows the next migration to drop.
    drop_columns: Vec<String>,
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
    tables: Vec<Declared>,
    admin_audit: bool,
    drop_tables: BTreeSet<String>,
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
    fn ordered(&self) -> Result<Vec<&Declared>, String> {
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

/// What the committed migrations produce, and which files they are.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Snapshot {
    /// The snapshot format; this version writes 1.
    pub format: u32,
    /// SHA-256 of each base function's definition.
    pub functions: BTreeMap<String, String>,
    /// Whether the admin audit table exists.
    pub admin_audit: bool,
    /// Every tenant table, by `schema.table`.
    pub tables: BTreeMap<String, Table>,
    /// Every generated file, with the SHA-256 of its contents.
    pub files: BTreeMap<String, String>,
}

impl crate::migrations::Snapshot for Snapshot {
    const FORMAT: u32 = 1;
    fn format(&self) -> u32 {
        self.format
    }
    fn files(&self) -> &BTreeMap<String, String> {
        &self.files
    }
    fn files_mut(&mut self) -> &mut BTreeMap<String, String> {
        &mut self.files
    }
}

impl Snapshot {
    /// The snapshot as written to disk: pretty JSON, newline-terminated, byte-identical for
    /// equal snapshots.
    pub fn to_json(&self) -> String {
        crate::migrations::Snapshot::to_json(self)
    }
}

fn function_hashes() -> BTreeMap<String, String> {
    FUNCTIONS
        .iter()
        .map(|f| (f.name.to_owned(), sha256(&f.create())))
        .collect()
}

/// The new files for a folder, and the snapshot that describes the folder with them.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The files to add, in order. Empty when the folder is up to date.
    pub files: Vec<MigrationFile>,
    /// The snapshot after the files are added.
    pub snapshot: Snapshot,
    snapshot_changed: bool,
}

impl Plan {
    /// Whether the folder already matches the entities.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && !self.snapshot_changed
    }

    /// Writes the new files and the snapshot into `dir`. Refuses to overwrite any file.
    pub fn write(&self, dir: &Path) -> Result<(), Refused> {
        crate::migrations::write(dir, &self.files, &self.snapshot)
    }
}

/// Compares the entities with the folder and plans the new files. Refuses (listing every
/// problem) when a change would lose data without the user's opt-in, or cannot be made for
/// every row.
fn plan(folder: &Folder<Snapshot>, entities: &Entities, contract: bool) -> Result<Plan, Refused> {
    let ordered = entities.ordered().map_err(Refused::one)?;
    let (old, adopted) = match &folder.snapshot {
        Some(s) => (s.clone(), false),
        None if folder.generated.is_empty() => (Snapshot::default(), false),
        None => (adopt(folder, &ordered, entities.admin_audit)?, true),
    };
    let mut out = Writer::after(folder, "sql");
    let mut next = Snapshot {
        format: 1,
        functions: function_hashes(),
        admin_audit: old.admin_audit || entities.admin_audit,
        tables: BTreeMap::new(),
        files: old.files.clone(),
    };

    // The base: whole on a fresh folder, changed functions replaced on an old one.
    if old.functions.is_empty() {
        out.file("tenant_store_base", base_sql());
    } else {
        let mut sql = String::from("SET LOCAL ROLE tenant_store_definer;\n");
        let mut changed = false;
        for f in FUNCTIONS {
            if old.functions.get(f.name) != next.functions.get(f.name) {
                changed = true;
                sql.push_str(&f.create().replacen("CREATE", "CREATE OR REPLACE", 1));
            }
        }
        sql.push_str("RESET ROLE;\n");
        if changed {
            out.file(
                "tenant_store_functions",
                format!(
                    "{HEADER}-- The base functions this tenant-store defines differently.\n{sql}"
                ),
            );
        }
    }
    if entities.admin_audit && !old.admin_audit {
        out.file(
            "create_tenant_store_admin_audit",
            format!("{HEADER}{}", audit_table_sql(APP_ROLE)),
        );
    }

    // New tables first (parents before children), so a new reference of an old table finds
    // its parent; then the old tables, by name.
    for d in &ordered {
        if !old.tables.contains_key(&d.table.key()) {
            out.file(
                &format!("create_{}", d.table.table),
                format!("{HEADER}{}", create_sql(&d.table)),
            );
        }
        next.tables.insert(d.table.key(), d.table.clone());
    }
    for d in &ordered {
        if let Some(before) = old.tables.get(&d.table.key()) {
            let retired = evolve(before, d, contract, &mut out);
            if let Some(t) = next.tables.get_mut(&d.table.key()) {
                t.retired = retired;
            }
        }
    }

    // Tables in the snapshot that no entity declares.
    if entities.tables.is_empty() && !old.tables.is_empty() {
        out.problems.push(
            "no entity is registered in this program; if the entities are declared in another \
             crate, link it from the binary with `use that_crate as _;`"
                .into(),
        );
    }
    for (key, before) in &old.tables {
        if next.tables.contains_key(key) {
            continue;
        }
        if !entities.drop_tables.contains(key) {
            out.problems.push(format!(
                "table {key} (entity `{}`) is in the migrations but no entity declares it; \
                 to drop it with all its rows, write `tenant_store::postgres::drop_table!(\"{}\", \"{}\");` \
                 in the application; to keep it, put the entity back",
                before.entity, before.schema, before.table
            ));
            continue;
        }
        if let Some(child) = next.tables.values().find(|t| {
            t.references
                .iter()
                .any(|r| r.parent_schema == before.schema && r.parent_table == before.table)
        }) {
            out.problems.push(format!(
                "table {key} cannot be dropped: `{}` ({}) still references it",
                child.entity,
                child.key()
            ));
            continue;
        }
        out.file(
            &format!("drop_{}", before.table),
            format!(
                "{HEADER}-- Entity `{}` removed; `drop_table!` allowed dropping its rows.\n\
                 DROP TABLE {};\n\
                 DELETE FROM tenant_store_private.tenant_tables WHERE table_schema = '{}' AND table_name = '{}';\n",
                before.entity,
                before.qualified(),
                before.schema,
                before.table
            ),
        );
    }

    let files = out.finish(&mut next)?;
    let snapshot_changed = adopted || folder.snapshot.as_ref() != Some(&next);
    Ok(Plan {
        files,
        snapshot: next,
        snapshot_changed,
    })
}

/// The snapshot of a folder written by tenant-store 0.1 (no snapshot, create files only): every
/// generated file must be exactly what the entities generate today.
fn adopt(
    folder: &Folder<Snapshot>,
    ordered: &[&Declared],
    admin_audit: bool,
) -> Result<Snapshot, Refused> {
    let mut snapshot = Snapshot {
        format: 1,
        functions: BTreeMap::new(),
        admin_audit: false,
        tables: BTreeMap::new(),
        files: BTreeMap::new(),
    };
    let mut problems = Vec::new();
    for (name, text) in &folder.generated {
        let stem = name
            .split_once('_')
            .map(|(_, rest)| rest.trim_end_matches(".sql"))
            .unwrap_or_default();
        let expected = if stem == "tenant_store_base" {
            snapshot.functions = function_hashes();
            Some(base_sql())
        } else if stem == "create_tenant_store_admin_audit" && admin_audit {
            snapshot.admin_audit = true;
            Some(format!("{HEADER}{}", audit_table_sql(APP_ROLE)))
        } else {
            ordered
                .iter()
                .find(|d| stem == format!("create_{}", d.table.table))
                .map(|d| {
                    snapshot.tables.insert(d.table.key(), d.table.clone());
                    format!("{HEADER}{}", create_sql(&d.table))
                })
        };
        if expected.as_deref() != Some(text.as_str()) {
            problems.push(format!(
                "{name} in {} was generated, but not from the entities as they are now, and the \
                 folder has no {SNAPSHOT_FILE} to say what it made: {LOST_SNAPSHOT}",
                folder.dir.display()
            ));
        }
        snapshot.files.insert(name.clone(), sha256(text));
    }
    if problems.is_empty() {
        Ok(snapshot)
    } else {
        Err(Refused { problems })
    }
}

/// Plans the migration of one existing table from `before` to `declared`, in the order of the
/// module doc's steps: the contract file (with `contract`), the `ALTER` file, the concurrent
/// index files, the constrain file. Returns the columns that wait for a contract step.
fn evolve(before: &Table, declared: &Declared, contract: bool, out: &mut Writer) -> Vec<Retired> {
    let after = &declared.table;
    if contract && !before.retired.is_empty() {
        out.file(
            &format!("contract_{}", after.table),
            contract_sql(before, after),
        );
    }
    let pending = match contract {
        true => Vec::new(),
        false => before.retired.clone(),
    };
    if before.scope != after.scope {
        out.problems.push(format!(
            "`{}` ({}) changed its scope from `{}` to `{}`; a table keeps the scope it was created with: \
             declare a new entity (a new table) and move the rows",
            after.entity,
            after.key(),
            before.scope,
            after.scope
        ));
        return pending;
    }
    let mut change = Change::new(before, declared, pending);
    change.renames();
    if change.cur.id != after.id && !change.problems.is_empty() {
        return change.write(out);
    }
    if change.cur.id != after.id {
        out.problems.push(format!(
            "`{}` ({}) changed its id column from `{}` to `{}`; a table keeps its id column \
             (every statement of every release names it): declare a new entity and move the rows",
            after.entity,
            after.key(),
            change.cur.id,
            after.id
        ));
        return change.retired;
    }
    change.dropped = change
        .cur
        .columns
        .iter()
        .filter(|c| after.column(&c.name).is_none())
        .map(|c| c.name.clone())
        .collect();
    change.drop_keys();
    change.drop_columns();
    change.change_columns();
    change.add_columns();
    change.add_references();
    change.grants_and_policy();
    change.indexes();
    change.write(out)
}

/// The contract step of one table: what `before.retired` kept for the release before, dropped
/// now that it has stopped; a renamed column gets its default (none while the trigger needed
/// to see which side a statement left out).
fn contract_sql(before: &Table, after: &Table) -> String {
    let t = after.qualified();
    let mut sql = format!(
        "{HEADER}-- Entity `{}`: what the release before the last one still used, dropped now that \
         it has stopped.\n{LOCKS}none held for long: each statement changes the catalog under a \
         brief lock of the table\n",
        after.entity
    );
    for r in &before.retired {
        if let Some(new) = &r.renamed_to {
            let _ = writeln!(
                sql,
                "DROP TRIGGER IF EXISTS \"{}\" ON {t};",
                sync_trigger(new)
            );
            if let Some(d) = after.column(new).and_then(|c| c.default.as_ref()) {
                let _ = writeln!(
                    sql,
                    "ALTER TABLE {t} ALTER COLUMN \"{new}\" SET DEFAULT {d};"
                );
            }
        }
        let _ = writeln!(
            sql,
            "ALTER TABLE {t} DROP COLUMN IF EXISTS \"{}\";",
            r.column
        );
    }
    sql
}

/// The name of the trigger that keeps the renamed column `new` equal to its old name.
fn sync_trigger(new: &str) -> String {
    pg_object_name("tenant_store", new, "sync")
}

/// A value of `sql_type` that every release can read, for a retired required column without a
/// default: the rows the next release writes get it.
fn zero(sql_type: &str) -> Option<&'static str> {
    Some(match sql_type {
        "boolean" => "false",
        "smallint" | "integer" | "bigint" | "real" | "double precision" => "0",
        "text" => "''",
        "bytea" => "''::bytea",
        "uuid" => "'00000000-0000-0000-0000-000000000000'",
        "jsonb" => "'null'",
        "timestamptz" | "timestamp" | "date" => "'epoch'",
        _ => return None,
    })
}

/// One table's change as it is planned: the table as the migrations leave it so far (`cur`,
/// renamed), and the SQL of the three kinds of file.
struct Change<'a> {
    declared: &'a Declared,
    after: &'a Table,
    /// The table's qualified name.
    t: String,
    cur: Table,
    /// Columns the migrations have and the entity does not.
    dropped: Vec<String>,
    alter: String,
    /// `(description, statement)`: one `-- no-transaction` file each.
    concurrent: Vec<(String, String)>,
    constrain: String,
    problems: Vec<String>,
    /// What in the `ALTER` file holds the table's lock for longer than a catalog change: each
    /// a `-- Locks:` line of its header, which `status` shows before it is applied.
    locks: Vec<String>,
    /// Columns that wait for a contract step: those of earlier steps, then this one's.
    retired: Vec<Retired>,
}

/// The header line that says a file holds a table's lock for long; `status` prints these.
pub const LOCKS: &str = "-- Locks: ";

impl<'a> Change<'a> {
    fn new(before: &Table, declared: &'a Declared, retired: Vec<Retired>) -> Self {
        Self {
            declared,
            after: &declared.table,
            t: declared.table.qualified(),
            cur: before.clone(),
            dropped: Vec::new(),
            alter: String::new(),
            concurrent: Vec::new(),
            constrain: String::new(),
            problems: Vec::new(),
            locks: Vec::new(),
            retired,
        }
    }

    /// Whether `column` is retired, or took a retired column's place, and so waits for the
    /// contract step before it can change again.
    fn waits_for_contract(&self, column: &str) -> bool {
        self.retired
            .iter()
            .any(|r| r.column == column || r.renamed_to.as_deref() == Some(column))
    }

    fn wait_for_contract(&mut self, column: &str, change: &str) {
        self.problems.push(format!(
            "`{}.{column}` {change}, but the release before still uses it (an earlier step \
             retired or renamed it); once no instance of that release runs, `generate \
             --contract` drops what it kept, and this change can follow",
            self.after.entity
        ));
    }

    /// 1. Renames, side by side: the new column is added, filled from the old one and kept
    ///    equal to it by a trigger; the old column retires (its keys and indexes stay with it
    ///    until the contract step; the new column's are built like any new key's).
    fn renames(&mut self) {
        let t = self.t.clone();
        for (new, old) in &self.declared.renames {
            let Some(was) = self.cur.column(old).cloned() else {
                continue; // renamed by an earlier migration
            };
            let Some(now) = self.after.column(new).cloned() else {
                continue;
            };
            if self.cur.column(new).is_some() {
                continue;
            }
            if *old == self.cur.id || *old == self.cur.scope {
                self.problems.push(format!(
                    "`{}.{new}` renames the id or scope column `{old}`; those keep their names \
                     (every statement and policy of both releases names them)",
                    self.after.entity
                ));
                continue;
            }
            if self.waits_for_contract(old) {
                self.wait_for_contract(old, "is renamed");
                continue;
            }
            let ty = &now.sql_type;
            if was.sql_type != *ty && !convertible(&was.sql_type, ty) {
                self.problems.push(format!(
                    "`{}.{new}` renames `{old}` and changes its type from `{}` to `{ty}`, which \
                     PostgreSQL cannot convert for every value; keep the type",
                    self.after.entity, was.sql_type
                ));
                continue;
            }
            let a = &mut self.alter;
            if was.default.is_some() {
                let _ = writeln!(a, "ALTER TABLE {t} ALTER COLUMN \"{old}\" DROP DEFAULT;");
            }
            let _ = writeln!(a, "ALTER TABLE {t} ADD COLUMN \"{new}\" {ty};");
            let _ = writeln!(a, "ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY;");
            let _ = writeln!(a, "UPDATE {t} SET \"{new}\" = \"{old}\"::{ty};");
            let _ = writeln!(a, "ALTER TABLE {t} FORCE ROW LEVEL SECURITY;");
            if !now.nullable {
                let _ = writeln!(a, "ALTER TABLE {t} ALTER COLUMN \"{new}\" SET NOT NULL;");
            }
            let _ = write!(
                a,
                "SET LOCAL ROLE tenant_store_definer;\n{}RESET ROLE;\n\
                 CREATE TRIGGER \"{}\" BEFORE INSERT OR UPDATE ON {t} FOR EACH ROW \
                 EXECUTE FUNCTION tenant_store_private.sync_renamed('{old}', '{new}');\n",
                SYNC_RENAMED
                    .create()
                    .replacen("CREATE", "CREATE OR REPLACE", 1),
                sync_trigger(new)
            );
            self.locks.push(format!(
                "`{new}` is filled from `{old}`, which rewrites every row under an ACCESS EXCLUSIVE \
                 lock: every read and write of {t} waits until it ends"
            ));
            let cur = &mut self.cur;
            cur.columns.retain(|c| c.name != *old);
            cur.columns.push(now);
            cur.filters.retain(|c| c != old);
            cur.orders.retain(|c| c != old);
            cur.uniques.retain(|u| !u.contains(old));
            cur.references.retain(|r| r.column != *old);
            self.retired.push(Retired {
                column: old.clone(),
                renamed_to: Some(new.clone()),
            });
        }
    }

    /// 2. Keys and references that go, those on retiring columns too: the rows the next
    ///    release writes hold the column's default, which neither may constrain.
    fn drop_keys(&mut self) {
        let (t, after, cur) = (&self.t, self.after, &self.cur);
        for u in cur.uniques.iter().filter(|u| !after.uniques.contains(u)) {
            let _ = writeln!(
                self.alter,
                "ALTER TABLE {t} DROP CONSTRAINT \"{}\";",
                cur.unique_name(u)
            );
        }
        for r in cur
            .references
            .iter()
            .filter(|r| !after.references.contains(r))
        {
            let _ = writeln!(
                self.alter,
                "ALTER TABLE {t} DROP CONSTRAINT \"{}\";",
                cur.reference_name(&r.column)
            );
        }
    }

    /// 3. Dropped columns: only with the opt-in, and only retired (the contract step drops
    ///    them); a required one without a default gets its type's zero, so the rows the next
    ///    release writes without it stay readable by the release before.
    fn drop_columns(&mut self) {
        let (t, after) = (self.t.clone(), self.after);
        for c in self.dropped.clone() {
            let column = self.cur.column(&c).cloned();
            if self.waits_for_contract(&c) {
                self.wait_for_contract(&c, "is dropped");
            } else if self.declared.drop_columns.contains(&c) {
                let Some(column) = column else { continue };
                if !column.nullable && column.default.is_none() {
                    match zero(&column.sql_type) {
                        Some(z) => {
                            let _ = writeln!(
                                self.alter,
                                "ALTER TABLE {t} ALTER COLUMN \"{c}\" SET DEFAULT {z};"
                            );
                        }
                        None => self.problems.push(format!(
                            "column `{c}` of {} is required, has no default, and tenant-store \
                             knows no value of `{}` the release before can read; before dropping \
                             it, ship a release whose field `{c}` has `default = \"...\"`",
                            after.key(),
                            column.sql_type
                        )),
                    }
                }
                self.retired.push(Retired {
                    column: c,
                    renamed_to: None,
                });
            } else {
                self.problems.push(format!(
                    "column `{c}` of {} is in the migrations but `{}` has no field for it; to drop it \
                     with its data, add `drop_column = \"{c}\"` to `#[tenant_store(...)]` on `{}`; if the \
                     field was renamed, write `renamed_from = \"{c}\"` on it",
                    after.key(),
                    after.entity,
                    after.entity
                ));
            }
        }
    }

    /// 4. Columns on both sides: type, nullability, default.
    fn change_columns(&mut self) {
        let (t, after, cur) = (&self.t, self.after, &self.cur);
        for new in &after.columns {
            let Some(old) = cur.column(&new.name) else {
                continue;
            };
            let c = &new.name;
            if old.sql_type != new.sql_type {
                match convertible(&old.sql_type, &new.sql_type) {
                    true => {
                        let _ = writeln!(self.alter,
                            "ALTER TABLE {t} ALTER COLUMN \"{c}\" TYPE {ty} USING \"{c}\"::{ty};",
                            ty = new.sql_type
                        );
                        self.locks.push(format!(
                            "`{c}` {} to {} rewrites the whole table and its indexes under an \
                             ACCESS EXCLUSIVE lock: every read and write of {t} waits until it ends",
                            old.sql_type, new.sql_type
                        ));
                    }
                    false => self.problems.push(format!(
                        "`{}.{c}` changed from `{}` to `{}`, and PostgreSQL cannot convert every `{}` \
                         value to `{}`; add a field with the new type, copy the values in a data \
                         migration (the migration command's `new-data-migration copy_{c} --table {}` \
                         writes one that sees every tenant's rows; a plain UPDATE sees none), apply \
                         it, and only then drop the old field with `drop_column`",
                        after.entity,
                        old.sql_type,
                        new.sql_type,
                        old.sql_type,
                        new.sql_type,
                        after.key()
                    )),
                }
            }
            if old.default != new.default {
                match &new.default {
                    Some(d) => {
                        let _ = writeln!(
                            self.alter,
                            "ALTER TABLE {t} ALTER COLUMN \"{c}\" SET DEFAULT {d};"
                        );
                    }
                    None => {
                        let _ = writeln!(
                            self.alter,
                            "ALTER TABLE {t} ALTER COLUMN \"{c}\" DROP DEFAULT;"
                        );
                    }
                }
            }
            match (old.nullable, new.nullable) {
                (false, true) => {
                    let _ = writeln!(self.alter, "ALTER TABLE {t} ALTER COLUMN \"{c}\" DROP NOT NULL;");
                }
                (true, false) => match &new.default {
                    // The owner is subject to the policy (FORCE): lifted for this one statement,
                    // inside the migration's transaction, so no session sees the table without it.
                    Some(d) => {
                        self.locks.push(format!(
                            "`{c}` made required updates its NULL rows and scans the whole table \
                             under an ACCESS EXCLUSIVE lock: every read and write of {t} waits \
                             until it ends"
                        ));
                        let _ = writeln!(self.alter, "ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY;");
                        let _ = writeln!(self.alter, "UPDATE {t} SET \"{c}\" = {d} WHERE \"{c}\" IS NULL;");
                        let _ = writeln!(self.alter, "ALTER TABLE {t} FORCE ROW LEVEL SECURITY;");
                        let _ = writeln!(self.alter, "ALTER TABLE {t} ALTER COLUMN \"{c}\" SET NOT NULL;");
                    }
                    None => self.problems.push(format!(
                        "`{}.{c}` is no longer optional, and its rows may hold NULL; give the field \
                         `default = \"...\"` (the value NULLs become)",
                        after.entity
                    )),
                },
                _ => {}
            }
        }
    }

    /// 5. Added columns.
    fn add_columns(&mut self) {
        let (t, after) = (self.t.clone(), self.after);
        let new_columns: Vec<&Column> = after
            .columns
            .iter()
            .filter(|c| self.cur.column(&c.name).is_none())
            .collect();
        for new in new_columns {
            let c = &new.name;
            if self.retired.iter().any(|r| r.column == *c) {
                self.wait_for_contract(c, "is added again");
                continue;
            }
            match (&new.default, new.nullable) {
                (Some(d), nullable) => {
                    let null = if nullable { "" } else { " NOT NULL" };
                    let _ = writeln!(self.alter,
                        "ALTER TABLE {t} ADD COLUMN \"{c}\" {}{null} DEFAULT {d};",
                        new.sql_type
                    );
                    self.locks.push(format!(
                        "`{c}` added with DEFAULT {d}: a constant or `now()` is stored once in the \
                         catalog (a brief lock); a volatile default (`random()`, \
                         `gen_random_uuid()`) rewrites the whole table under an ACCESS EXCLUSIVE lock"
                    ));
                }
                (None, true) => {
                    let _ = writeln!(self.alter,
                        "ALTER TABLE {t} ADD COLUMN \"{c}\" {};",
                        new.sql_type
                    );
                }
                (None, false) => self.problems.push(format!(
                    "`{}.{c}` is new and required, and {} has rows without it; make it an `Option<_>` \
                     or give it `default = \"...\"` (a SQL expression)",
                    after.entity,
                    after.key()
                )),
            }
        }
    }

    /// 6. References that are new, or have a new `on_delete`: added without a scan, validated in
    ///    the constrain file.
    fn add_references(&mut self) {
        let (t, after, cur) = (&self.t, self.after, &self.cur);
        for r in after
            .references
            .iter()
            .filter(|r| !cur.references.contains(r))
        {
            let fk = after.reference_name(&r.column);
            let s = &after.scope;
            let _ = writeln!(
                self.alter,
                "ALTER TABLE {t} ADD CONSTRAINT \"{fk}\" FOREIGN KEY (\"{s}\", \"{}\") REFERENCES \"{}\".\"{}\" (\"{s}\", \"{}\") {} NOT VALID;",
                r.column,
                r.parent_schema,
                r.parent_table,
                r.parent_id,
                r.on_delete.clause(&r.column)
            );
            let _ = writeln!(
                self.constrain,
                "ALTER TABLE {t} VALIDATE CONSTRAINT \"{fk}\";"
            );
        }
    }

    /// 7. Grants and the policy.
    fn grants_and_policy(&mut self) {
        let (t, after, cur) = (&self.t, self.after, &self.cur);
        if cur.append_only != after.append_only {
            let change = if after.append_only {
                format!("REVOKE UPDATE ON {t} FROM {APP_ROLE};")
            } else {
                format!("GRANT UPDATE ON {t} TO {APP_ROLE};")
            };
            let _ = writeln!(self.alter, "{change}");
        }
        if cur.policy != after.policy {
            let _ = writeln!(
                self.alter,
                "ALTER POLICY tenant_isolation ON {t}\n    USING {p}\n    WITH CHECK {p};",
                p = after.policy
            );
        }
    }

    /// 8. Indexes, built and dropped concurrently; unique keys built as indexes, then attached.
    fn indexes(&mut self) {
        let (t, after, cur, dropped) = (&self.t, self.after, &self.cur, &self.dropped);
        let (was, now) = (cur.indexes(), after.indexes());
        // New indexes first: a query an old index served is served throughout the swap.
        for i in now.iter().filter(|i| !was.contains(i)) {
            self.concurrent.push((
                format!("index_{}", i.name),
                format!(
                    "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"{}\" ON {t} ({});\n",
                    i.name,
                    i.column_list()
                ),
            ));
        }
        for i in was
            .iter()
            .filter(|i| !now.contains(i) && !i.columns.iter().any(|c| dropped.contains(c)))
        {
            self.concurrent.push((
                format!("drop_index_{}", i.name),
                format!(
                    "DROP INDEX CONCURRENTLY IF EXISTS \"{}\".\"{}\";\n",
                    cur.schema, i.name
                ),
            ));
        }
        for u in after.uniques.iter().filter(|u| !cur.uniques.contains(u)) {
            let key = after.unique_name(u);
            let cols: Vec<String> = u.iter().map(|c| format!("\"{c}\"")).collect();
            self.concurrent.push((
                format!("index_{key}"),
                format!(
                    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS \"{key}\" ON {t} (\"{}\", {});\n",
                    after.scope,
                    cols.join(", ")
                ),
            ));
            let _ = writeln!(
                self.constrain,
                "ALTER TABLE {t} ADD CONSTRAINT \"{key}\" UNIQUE USING INDEX \"{key}\";"
            );
        }
    }

    /// The files, unless a step found a problem (then only the problems); returns what waits
    /// for the contract step.
    fn write(self, out: &mut Writer) -> Vec<Retired> {
        let (after, name) = (self.after, &self.after.table);
        if !self.problems.is_empty() {
            out.problems.extend(self.problems);
            return self.retired;
        }
        let alter = self.alter;
        let constrain = self.constrain;
        let concurrent = self.concurrent;
        if !alter.is_empty() {
            let locks: String = match self.locks.is_empty() {
                true => format!(
                    "{LOCKS}none held for long: each statement changes the catalog under a brief \
                     lock of the table\n"
                ),
                false => self.locks.iter().map(|l| format!("{LOCKS}{l}\n")).collect(),
            };
            out.file(
                &format!("alter_{name}"),
                format!(
                    "{HEADER}-- Entity `{}`: changed fields.\n{locks}{alter}",
                    after.entity
                ),
            );
        }
        for (description, sql) in concurrent {
            // One statement per file, outside a transaction: CONCURRENTLY cannot run in one, nor
            // share a query string with another statement.
            out.file(&description, format!("{NO_TRANSACTION}{HEADER}{sql}"));
        }
        if !constrain.is_empty() {
            out.file(
                &format!("constrain_{name}"),
                format!(
                    "{HEADER}-- Entity `{}`: new keys and references.\n{constrain}",
                    after.entity
                ),
            );
        }
        self.retired
    }
}

/// Whether PostgreSQL converts every value of `from` to `to` with a plain cast: widening
/// numbers, dates to timestamps, and anything readable to text.
fn convertible(from: &str, to: &str) -> bool {
    matches!(
        (from, to),
        (
            "smallint",
            "integer" | "bigint" | "real" | "double precision"
        ) | ("integer", "bigint" | "double precision")
            | ("real", "double precision")
            | ("date", "timestamp")
            | (
                "boolean"
                    | "smallint"
                    | "integer"
                    | "bigint"
                    | "real"
                    | "double precision"
                    | "uuid"
                    | "jsonb"
                    | "date"
                    | "timestamp"
                    | "timestamptz",
                "text"
            )
    )
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

/// Plans `dir` against `entities` and writes the new files and the snapshot. Returns the plan
/// (its `files` are what was written).
pub fn generate(dir: &Path, entities: &Entities) -> Result<Plan, Refused> {
    write_plan(dir, entities, false)
}

/// [`generate`], with the contract step first: every column an earlier step retired (see "Two
/// releases side by side") is dropped, with the triggers of the renames. Ship its files only
/// once no instance of the release that still used those columns runs.
pub fn generate_contract(dir: &Path, entities: &Entities) -> Result<Plan, Refused> {
    write_plan(dir, entities, true)
}

/// What the folder's files keep for the release before them, waiting for
/// [`generate_contract`]: `schema.table.column`, and what a renamed one became.
pub fn waiting_for_contract(dir: &Path) -> Result<Vec<String>, Refused> {
    let folder = Folder::<Snapshot>::read(dir, "sql")?;
    let tables = folder.snapshot.map(|s| s.tables).unwrap_or_default();
    Ok(tables
        .values()
        .flat_map(|t| {
            t.retired.iter().map(move |r| match &r.renamed_to {
                Some(new) => format!("{}.{} (renamed to {new})", t.key(), r.column),
                None => format!("{}.{} (dropped)", t.key(), r.column),
            })
        })
        .collect())
}

fn write_plan(dir: &Path, entities: &Entities, contract: bool) -> Result<Plan, Refused> {
    let folder = Folder::read(dir, "sql")?;
    // An edited or missing recorded file: refused here as `check` refuses it.
    if folder.snapshot.is_some() {
        folder.integrity("generate")?;
    }
    let plan = plan(&folder, entities, contract)?;
    if !plan.is_empty() {
        plan.write(dir)?;
    }
    Ok(plan)
}

/// The drift check: the generated files the snapshot records are all there and unchanged, no
/// other generated file is, and the entities need no new migration. On drift, every problem is
/// listed, with `regenerate` (the command that writes the new files) where it fixes it.
pub fn check(dir: &Path, entities: &Entities, regenerate: &str) -> Result<(), Refused> {
    let folder = Folder::read(dir, "sql")?;
    folder.integrity(regenerate)?;
    let p = plan(&folder, entities, false)?;
    if p.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = p.files.iter().map(|f| f.file_name.as_str()).collect();
    Err(Refused::one(if names.is_empty() {
        format!(
            "{SNAPSHOT_FILE} does not match the entities: run `{regenerate}` and commit the result"
        )
    } else {
        format!(
            "the entities changed since the last migration ({} to write): run `{regenerate}` and commit the result",
            names.join(", ")
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postgres::migrate::ColumnDef;

    const fn col(name: &'static str) -> ColumnDef {
        ColumnDef {
            name,
            sql_type: "uuid",
            nullable: false,
            default: None,
            renamed_from: None,
        }
    }

    const COLUMNS: &[ColumnDef] = &[
        col("id"),
        col("org_id"),
        col("a_very_long_column_name_to_cut"),
    ];

    fn table(name: &'static str, append_only: bool) -> TableDef<'static> {
        TableDef {
            entity: "Item",
            schema: "public",
            table: name,
            scope: crate::Scope::OrgId,
            id: "id",
            columns: COLUMNS,
            filters: &[],
            orders: &[],
            uniques: &[],
            references: &[],
            append_only,
            drop_columns: &[],
        }
    }

    fn entities(defs: &[TableDef<'static>]) -> Entities {
        Entities {
            tables: defs.iter().map(Declared::of).collect(),
            ..Entities::default()
        }
    }

    /// The folder after `plan` was written and applied.
    fn after(plan: &Plan, before: &Folder<Snapshot>) -> Folder<Snapshot> {
        let mut generated = before.generated.clone();
        generated.extend(
            plan.files
                .iter()
                .map(|f| (f.file_name.clone(), f.sql.clone())),
        );
        Folder {
            dir: before.dir.clone(),
            snapshot: Some(plan.snapshot.clone()),
            last_version: before.last_version + plan.files.len() as u64,
            generated,
        }
    }

    fn empty() -> Folder<Snapshot> {
        Folder {
            dir: "migrations".into(),
            snapshot: None,
            generated: BTreeMap::new(),
            last_version: 0,
        }
    }

    /// `id`, `org_id` and these columns of `items`.
    fn items(columns: &'static [ColumnDef], drop_columns: &'static [&'static str]) -> Entities {
        let all: &'static [ColumnDef] = Box::leak(
            [col("id"), col("org_id")]
                .iter()
                .chain(columns)
                .copied()
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        entities(&[TableDef {
            columns: all,
            drop_columns,
            ..table("items", false)
        }])
    }

    fn problems(folder: &Folder<Snapshot>, e: &Entities) -> String {
        plan(folder, e, false).unwrap_err().to_string()
    }

    #[test]
    fn what_waits_for_the_contract_step_cannot_change_before_it() {
        const NOTE: ColumnDef = col("note");
        const TITLE: ColumnDef = ColumnDef {
            renamed_from: Some("note"),
            ..col("title")
        };
        const LABEL: ColumnDef = ColumnDef {
            renamed_from: Some("title"),
            ..col("label")
        };
        let v1 = plan(&empty(), &items(&[NOTE], &[]), false).unwrap();
        let f1 = after(&v1, &empty());
        let v2 = plan(&f1, &items(&[TITLE], &[]), false).unwrap();
        let f2 = after(&v2, &f1);
        let retired = &v2.snapshot.tables["public.items"].retired;
        assert_eq!(retired.len(), 1);
        assert_eq!(
            (retired[0].column.as_str(), retired[0].renamed_to.as_deref()),
            ("note", Some("title"))
        );
        // The renamed column cannot be renamed or dropped again, nor its old name reused.
        for e in [
            items(&[LABEL], &[]),
            items(&[], &["title"]),
            items(&[TITLE, NOTE], &[]),
        ] {
            assert!(problems(&f2, &e).contains("generate --contract"), "{e:?}");
        }
        // After the contract step, each is an ordinary change.
        let contract = plan(&f2, &items(&[LABEL], &[]), true).unwrap();
        assert!(contract.files[0].file_name.ends_with("_contract_items.sql"));
        assert!(
            contract.files[0]
                .sql
                .contains("DROP TRIGGER IF EXISTS \"tenant_store_title_sync\"")
        );
        assert!(
            contract.files[0]
                .sql
                .contains("DROP COLUMN IF EXISTS \"note\"")
        );
        assert!(
            contract.files[1]
                .sql
                .contains("sync_renamed('title', 'label')")
        );
    }

    #[test]
    fn a_dropped_required_column_keeps_a_value_the_release_before_can_read() {
        const NOTE: ColumnDef = col("note");
        const ODD: ColumnDef = ColumnDef {
            sql_type: "inet",
            ..col("odd")
        };
        let v1 = plan(&empty(), &items(&[NOTE, ODD], &[]), false).unwrap();
        let f1 = after(&v1, &empty());
        let v2 = plan(&f1, &items(&[ODD], &["note"]), false).unwrap();
        let alter = &v2.files[0].sql;
        assert!(
            alter.contains(
                "ALTER COLUMN \"note\" SET DEFAULT '00000000-0000-0000-0000-000000000000';"
            ),
            "{alter}"
        );
        assert!(!alter.contains("DROP COLUMN"), "{alter}");
        let refused = problems(&f1, &items(&[NOTE], &["odd"]));
        assert!(refused.contains("knows no value of `inet`"), "{refused}");
        // The id column keeps its name.
        const KEY: ColumnDef = ColumnDef {
            renamed_from: Some("id"),
            ..col("key")
        };
        const RENAMED_ID: &[ColumnDef] = &[KEY, col("org_id"), NOTE, ODD];
        let e = entities(&[TableDef {
            id: "key",
            columns: RENAMED_ID,
            ..table("items", false)
        }]);
        assert!(problems(&f1, &e).contains("keep their names"));
    }

    #[test]
    fn append_only_changes_reach_the_grants_both_ways() {
        let v1 = plan(&empty(), &entities(&[table("items", false)]), false).unwrap();
        let folder = after(&v1, &empty());
        let v2 = plan(&folder, &entities(&[table("items", true)]), false).unwrap();
        assert_eq!(v2.files.len(), 1);
        assert!(
            v2.files[0]
                .sql
                .contains("REVOKE UPDATE ON \"public\".\"items\" FROM tenant_store_app;"),
            "{}",
            v2.files[0].sql
        );
        let v3 = plan(
            &after(&v2, &folder),
            &entities(&[table("items", false)]),
            false,
        )
        .unwrap();
        assert!(
            v3.files[0]
                .sql
                .contains("GRANT UPDATE ON \"public\".\"items\" TO tenant_store_app;")
        );
    }

    #[test]
    fn the_order_of_declaration_does_not_change_the_files() {
        let (a, b) = (table("alpha", false), table("beta", false));
        let one = plan(&empty(), &entities(&[a, b]), false).unwrap();
        let other = plan(&empty(), &entities(&[b, a]), false).unwrap();
        assert_eq!(one.files, other.files);
        assert_eq!(one.snapshot, other.snapshot);
        let names: Vec<&str> = one.files.iter().map(|f| f.file_name.as_str()).collect();
        assert_eq!(
            names,
            [
                "0001_tenant_store_base.sql",
                "0002_create_alpha.sql",
                "0003_create_beta.sql"
            ]
        );
    }

    #[test]
    fn a_generated_file_is_never_planned_again_and_an_up_to_date_folder_plans_nothing() {
        let e = entities(&[table("items", false)]);
        let v1 = plan(&empty(), &e, false).unwrap();
        let again = plan(&after(&v1, &empty()), &e, false).unwrap();
        assert!(again.is_empty(), "{:?}", again.files);
    }

    #[test]
    fn object_names_are_cut_like_postgresql_cuts_them() {
        assert_eq!(
            pg_object_name("items", "org_id_parent", "fkey"),
            "items_org_id_parent_fkey"
        );
        let long = pg_object_name(&"t".repeat(40), &"c".repeat(40), "key");
        assert_eq!(long.len(), 63);
        assert!(long.ends_with("cc_key"), "{long}");
    }

    #[test]
    fn conversions_are_refused_unless_every_value_converts() {
        assert!(convertible("integer", "bigint"));
        assert!(convertible("uuid", "text"));
        assert!(!convertible("text", "uuid"));
        assert!(!convertible("bigint", "integer"));
        assert!(!convertible("bytea", "text"));
    }
}
