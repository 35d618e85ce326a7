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
//! ## Files
//! `schema.rs`: the snapshot's tables, columns, keys and references, the names PostgreSQL gives
//! what derives from them, and a table's create file. `entities.rs`: the entities a folder
//! serves (registered or listed) and their evolution hints. `change.rs`: one existing table's
//! step, one method per numbered step below. This file: the snapshot, the plan, and the
//! commands (`generate`, `generate_contract`, `check`).
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
//! | `renamed_from = "old"` | a new column, filled from `old`, and a trigger (`tenant_store_private.sync_renamed`) that keeps both equal on every write; new keys and indexes built beside the old ones | `old` is there, and each release's writes reach the other's column | the trigger and `old` dropped, the new column's default set |
//!
//! The contract is a later `generate --contract` ([`generate_contract`]), shipped once no
//! instance of N is left; the snapshot lists what waits for it (`Table::retired`). Whatever N+1
//! does not name is left to the contract, so N+1 works before and after it. Other changes are
//! not expand-only and say so in the README's deploy order: a type changed in place (N reads
//! the old type: rename the field to change its type side by side), a field made required or
//! optional (N writes NULL, or reads it), `append_only` (N's updates are refused), and an
//! entity removed with `drop_table!` (ship it in the release after the one that stopped
//! calling the entity).

mod change;
mod entities;
mod schema;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::audit_table_sql;
use super::migrate::{APP_ROLE, FUNCTIONS, HEADER, MigrationFile, base_sql};
use crate::migrations::{Folder, LOST_SNAPSHOT, Writer, sha256};
pub use crate::migrations::{Refused, SNAPSHOT_FILE};
pub use change::LOCKS;
use change::evolve;
pub use entities::{Declared, Entities};
#[doc(hidden)]
pub use entities::{Registered, Registration};
pub(crate) use schema::create_sql;
pub use schema::{Column, Reference, Retired, Table, table_sql};

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
                sql.push_str(&f.replace());
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

    let files = out.finish(&mut next.files)?;
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
    use super::change::convertible;
    use super::schema::pg_object_name;
    use super::*;
    use crate::postgres::migrate::{ColumnDef, OnDelete, TableDef};

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
            recorded: plan.snapshot.files.clone(),
            last_version: before.last_version + plan.files.len() as u64,
            generated,
        }
    }

    fn empty() -> Folder<Snapshot> {
        Folder {
            dir: "migrations".into(),
            snapshot: None,
            recorded: BTreeMap::new(),
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
    fn every_statement_of_a_table_names_its_schema() {
        let col = |name| ColumnDef {
            name,
            sql_type: "uuid",
            nullable: false,
            default: None,
            renamed_from: None,
        };
        let sql = table_sql(&TableDef {
            entity: "Item",
            schema: "app",
            table: "items",
            scope: crate::Scope::OrgId,
            id: "id",
            columns: &[col("id"), col("org_id"), col("parent")],
            filters: &["parent"],
            orders: &[],
            uniques: &[],
            references: &[crate::postgres::migrate::ReferenceDef {
                column: "parent",
                parent_schema: "core",
                parent_table: "parents",
                parent_id: "id",
                on_delete: OnDelete::SetNull,
            }],
            append_only: false,
            drop_columns: &[],
        });
        // Every mention of a table is qualified; the index name alone is not a table.
        let unqualified = sql
            .match_indices("\"items\"")
            .filter(|(i, _)| !sql[..*i].ends_with("\"app\"."))
            .count();
        assert_eq!(unqualified, 0, "{sql}");
        assert!(
            sql.contains(
                "REFERENCES \"core\".\"parents\" (\"org_id\", \"id\") ON DELETE SET NULL (\"parent\")"
            ),
            "{sql}"
        );
        assert!(
            sql.contains(
                "USING (\"org_id\" = (SELECT tenant_store_private.current_tenant('org_id')))"
            ),
            "{sql}"
        );
        assert!(
            sql.contains(
                "INSERT INTO tenant_store_private.tenant_tables VALUES ('app', 'items', 'org_id');"
            ),
            "{sql}"
        );
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
