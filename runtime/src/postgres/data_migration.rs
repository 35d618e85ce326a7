//! Data migrations: SQL the user writes to change rows (copy a column into a new one, fill a
//! field from another), applied by `apply` in order with the generated files.
//!
//! ## Why a template
//! Migrations are applied by the role that owns the tables, and every tenant table has `FORCE
//! ROW LEVEL SECURITY`: the owner is subject to the tenant policy, and a migration has no
//! tenant context, so to it every tenant table looks empty. A plain `UPDATE gadgets SET ...`
//! changes no row and succeeds; the next version's `drop_column`, as advised, then drops the
//! only copy of the values. The generator's own backfills lift `FORCE` around their statement
//! inside the file's transaction; a data migration does the same, from [`template`]
//! (`<program> new-data-migration <name> --table <table>`):
//!
//! ```sql
//! ALTER TABLE "public"."gadgets" NO FORCE ROW LEVEL SECURITY;
//! -- the user's statements
//! ALTER TABLE "public"."gadgets" FORCE ROW LEVEL SECURITY;
//! ```
//!
//! `ALTER TABLE` takes the table's `ACCESS EXCLUSIVE` lock, held until the file's transaction
//! commits: no session ever sees the table without its policy (the application's statements on
//! it wait), and the file should be short.
//!
//! ## What the data it writes keeps
//! The statements run over every tenant's rows at once, and the policy's `WITH CHECK` does not
//! apply to them. An `UPDATE` that computes a row's columns from that same row cannot move data
//! between tenants; a statement that reads other rows (a join, a sub-select) must also match
//! the tenant column (`WHERE c.org_id = p.org_id`), or it copies one tenant's data into
//! another's rows.
//!
//! ## Blind writes
//! [`blind_writes`] finds the tenant tables a hand-written file `UPDATE`s, `DELETE`s from or
//! `MERGE`s into without lifting `FORCE` on them: such a statement changes no row. `apply`
//! refuses a pending file that has one, naming the template. (An `INSERT` is not blind: the
//! policy refuses the row with an error.)

use std::path::{Path, PathBuf};

use super::evolve::{Entities, Table};
use crate::migrations::{Folder, Refused, is_generated};

/// The text of a new data migration over `tables`: `FORCE` lifted on each, a place for the
/// user's statements, `FORCE` restored.
pub fn template(name: &str, tables: &[&Table]) -> String {
    let list = |verb: &str| {
        tables
            .iter()
            .map(|t| {
                format!(
                    "ALTER TABLE \"{}\".\"{}\" {verb} ROW LEVEL SECURITY;\n",
                    t.schema, t.table
                )
            })
            .collect::<String>()
    };
    format!(
        "-- Data migration `{name}`, written by hand (tenant-store wrote this template and never\n\
         -- rewrites it). `apply` runs it once, in one transaction, as the tables' owner.\n\
         --\n\
         -- The owner is subject to the tables' row-level security and has no tenant context:\n\
         -- without the lines around your statements, an UPDATE or DELETE sees no row and still\n\
         -- succeeds. They take each table's ACCESS EXCLUSIVE lock until the transaction commits,\n\
         -- so no session sees a table without its policy; keep the file short.\n\
         --\n\
         -- Your statements see every tenant's rows, and the policy does not check what they\n\
         -- write: compute a row from that same row (UPDATE t SET new_col = old_col::uuid), and\n\
         -- a statement that reads other rows (a join, a sub-select) matches the tenant column\n\
         -- too, or it copies one tenant's data into another's rows.\n\
         {}\n\
         -- Your statements here.\n\
         \n\
         {}",
        list("NO FORCE"),
        list("FORCE"),
    )
}

/// Writes `NNNN_<name>.sql` (numbered after the folder's last file) from [`template`] for the
/// named tables (`table` or `schema.table`, each one of `entities`); returns its path.
pub fn write(
    dir: &Path,
    entities: &Entities,
    name: &str,
    tables: &[String],
) -> Result<PathBuf, Refused> {
    let plain = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !plain {
        return Err(Refused::one(format!(
            "the migration's name {name:?} is not made of `a-z 0-9 _`"
        )));
    }
    if tables.is_empty() {
        return Err(Refused::one(
            "name the tables the migration changes: `--table <table>`, once per table".into(),
        ));
    }
    let mut chosen = Vec::new();
    for wanted in tables {
        let (schema, table) = wanted
            .split_once('.')
            .map_or((None, wanted.as_str()), |(s, t)| (Some(s), t));
        let found = entities
            .tables()
            .find(|t| t.table == table && schema.is_none_or(|s| s == t.schema));
        match found {
            Some(t) => chosen.push(t),
            None => {
                let known: Vec<String> = entities.tables().map(Table::key).collect();
                return Err(Refused::one(format!(
                    "`{wanted}` is not the table of an entity here; the tables are: {}",
                    known.join(", ")
                )));
            }
        }
    }
    let folder: Folder<super::evolve::Snapshot> = Folder::read(dir, "sql")?;
    let path = dir.join(format!("{:04}_{name}.sql", folder.last_version + 1));
    std::fs::create_dir_all(dir)
        .and_then(|()| {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
        })
        .and_then(|mut f| std::io::Write::write_all(&mut f, template(name, &chosen).as_bytes()))
        .map_err(|e| Refused::one(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

/// The tenant tables `sql` (a hand-written file) writes with `UPDATE`, `DELETE` or `MERGE`
/// without lifting `FORCE` on them first, as `schema.table`. Generated files are never blind.
pub fn blind_writes<'t>(sql: &str, tables: impl IntoIterator<Item = &'t Table>) -> Vec<String> {
    if is_generated(sql) {
        return Vec::new();
    }
    let words = words(sql);
    let names = |t: &Table, at: &[String]| {
        at.first()
            .is_some_and(|w| *w == t.table || *w == format!("{}.{}", t.schema, t.table))
    };
    let mut out = Vec::new();
    for t in tables {
        let mut lifted = false;
        let mut blind = false;
        for i in 0..words.len() {
            let rest = &words[i..];
            let w = |k: usize| rest.get(k).map(String::as_str);
            // `ALTER TABLE [ONLY] t NO FORCE ROW LEVEL SECURITY`
            if w(0) == Some("alter") && w(1) == Some("table") {
                let at = if w(2) == Some("only") { 3 } else { 2 };
                if names(t, &rest[at.min(rest.len())..])
                    && rest
                        .get(at + 1..at + 3)
                        .is_some_and(|s| s == ["no", "force"])
                {
                    lifted = true;
                }
            }
            let target = match (w(0), w(1)) {
                (Some("update"), _) => Some(1),
                (Some("delete"), Some("from")) | (Some("merge"), Some("into")) => Some(2),
                _ => None,
            };
            if let Some(at) = target {
                let at = if rest.get(at).is_some_and(|s| s == "only") {
                    at + 1
                } else {
                    at
                };
                if names(t, &rest[at.min(rest.len())..]) && !lifted {
                    blind = true;
                }
            }
        }
        if blind {
            out.push(t.key());
        }
    }
    out
}

/// The words of `sql` in lower case, comments and string literals left out, double quotes
/// dropped (so `"public"."gadgets"` reads `public.gadgets`).
fn words(sql: &str) -> Vec<String> {
    let (b, mut i, mut out, mut cur) = (sql.as_bytes(), 0, Vec::new(), String::new());
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        if !cur.is_empty() {
            out.push(std::mem::take(cur));
        }
    };
    while i < b.len() {
        match b[i] {
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                // PostgreSQL's block comments nest.
                let mut depth = 0;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                flush(&mut cur, &mut out);
                continue;
            }
            b'\'' => {
                flush(&mut cur, &mut out);
                i += 1;
                while i < b.len() {
                    if b[i] == b'\'' && b.get(i + 1) != Some(&b'\'') {
                        break;
                    }
                    i += if b[i] == b'\'' { 2 } else { 1 };
                }
            }
            b'"' => {}
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c >= 0x80 => {
                cur.push(char::from(c.to_ascii_lowercase()));
            }
            _ => flush(&mut cur, &mut out),
        }
        i += 1;
    }
    flush(&mut cur, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gadgets() -> Table {
        Table {
            entity: "Gadget".into(),
            schema: "public".into(),
            table: "gadgets".into(),
            scope: "org_id".into(),
            id: "id".into(),
            columns: Vec::new(),
            filters: Vec::new(),
            orders: Vec::new(),
            uniques: Vec::new(),
            references: Vec::new(),
            append_only: false,
            policy: String::new(),
            retired: Vec::new(),
        }
    }

    #[test]
    fn a_write_without_the_lift_is_blind_and_one_after_it_is_not() {
        let t = gadgets();
        for blind in [
            "UPDATE gadgets SET color = name;",
            "update \"public\".\"gadgets\" set color = name",
            "UPDATE ONLY public.gadgets SET color = name",
            "DELETE FROM gadgets WHERE color IS NULL",
            "MERGE INTO gadgets g USING x ON true WHEN MATCHED THEN DELETE",
            "DO $$ BEGIN UPDATE gadgets SET color = name; END $$;",
            // The lift comes after the write, or in a comment, or names another table.
            "UPDATE gadgets SET color = name; ALTER TABLE gadgets NO FORCE ROW LEVEL SECURITY;",
            "-- ALTER TABLE gadgets NO FORCE ROW LEVEL SECURITY;\nUPDATE gadgets SET color = name",
            "ALTER TABLE shelves NO FORCE ROW LEVEL SECURITY; UPDATE gadgets SET color = name",
        ] {
            assert_eq!(blind_writes(blind, [&t]), ["public.gadgets"], "{blind}");
        }
        for fine in [
            "ALTER TABLE \"public\".\"gadgets\" NO FORCE ROW LEVEL SECURITY;\nUPDATE gadgets SET color = name;\nALTER TABLE \"public\".\"gadgets\" FORCE ROW LEVEL SECURITY;",
            "UPDATE shelves SET label = 'x'",
            "INSERT INTO gadgets SELECT * FROM old_gadgets",
            "SELECT 'UPDATE gadgets SET x = 1'",
            "/* UPDATE /* nested */ gadgets */ SELECT 1",
            "UPDATE gadgets_archive SET x = 1",
        ] {
            assert!(blind_writes(fine, [&t]).is_empty(), "{fine}");
        }
    }

    #[test]
    fn the_template_is_not_blind_and_not_generated() {
        let t = gadgets();
        let text = template("copy_names", &[&t]);
        assert!(!is_generated(&text));
        let with_update = text.replace(
            "-- Your statements here.",
            "UPDATE gadgets SET color = name;",
        );
        assert!(blind_writes(&with_update, [&t]).is_empty(), "{with_update}");
    }
}
