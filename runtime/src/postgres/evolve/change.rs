//! One existing table's step from the snapshot to the entity: the contract file, the `ALTER`
//! file, the concurrent index files and the constrain file (the module doc's steps).

use std::fmt::Write as _;

use super::super::migrate::{APP_ROLE, HEADER, SYNC_RENAMED};
use super::schema::pg_object_name;
use super::{Column, Declared, Retired, Table};
use crate::migrations::Writer;

/// The first line sqlx reads to run a file outside a transaction.
const NO_TRANSACTION: &str = "-- no-transaction\n";

/// Plans the migration of one existing table from `before` to `declared`, in the order of the
/// module doc's steps: the contract file (with `contract`), the `ALTER` file, the concurrent
/// index files, the constrain file. Returns the columns that wait for a contract step.
pub(super) fn evolve(
    before: &Table,
    declared: &Declared,
    contract: bool,
    out: &mut Writer,
) -> Vec<Retired> {
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

/// `UPDATE {t} {set}` over every tenant's rows: the owner that applies the migrations is
/// subject to the policy (`FORCE`) and has no tenant context, so a plain `UPDATE` would see no
/// row. `FORCE` is lifted for this one statement, inside the file's transaction, so no session
/// sees the table without it.
fn every_row(t: &str, set: &str) -> String {
    format!(
        "ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY;\nUPDATE {t} {set};\nALTER TABLE {t} FORCE ROW LEVEL SECURITY;\n"
    )
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
            a.push_str(&every_row(&t, &format!("SET \"{new}\" = \"{old}\"::{ty}")));
            if !now.nullable {
                let _ = writeln!(a, "ALTER TABLE {t} ALTER COLUMN \"{new}\" SET NOT NULL;");
            }
            let _ = write!(
                a,
                "SET LOCAL ROLE tenant_store_definer;\n{}RESET ROLE;\n\
                 CREATE TRIGGER \"{}\" BEFORE INSERT OR UPDATE ON {t} FOR EACH ROW \
                 EXECUTE FUNCTION tenant_store_private.sync_renamed('{old}', '{new}');\n",
                SYNC_RENAMED.replace(),
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
                    Some(d) => {
                        self.locks.push(format!(
                            "`{c}` made required updates its NULL rows and scans the whole table \
                             under an ACCESS EXCLUSIVE lock: every read and write of {t} waits \
                             until it ends"
                        ));
                        self.alter.push_str(&every_row(t, &format!("SET \"{c}\" = {d} WHERE \"{c}\" IS NULL")));
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
pub(super) fn convertible(from: &str, to: &str) -> bool {
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
