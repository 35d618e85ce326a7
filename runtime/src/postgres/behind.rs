//! Is the database behind this build? At [`Db::connect`](super::Db::connect), every entity the
//! program serves is compared with the live table: a column it reads or writes that the table
//! lacks, has another type, or another nullability, and the connection is refused with
//! [`Error::Audit`] naming each one and the way forward (apply the pending migrations), instead
//! of the first query failing with `column "..." does not exist`.
//!
//! ## Which entities
//! [`DbOptions::entities`](super::DbOptions::entities) when given. Otherwise every registered
//! entity ([`Entities::registered`]) whose table this database has: a program may serve
//! several databases, so a table the database does not have is taken to be another's; and a
//! table declared by two entities of the program (two versions of one entity in a test
//! binary, say) is skipped, since nothing tells which one this `Db` serves. An explicit set
//! also reports its missing tables.
//!
//! The comparison is done by the server (`to_regtype` of the entity's SQL type against the
//! column's type), so `int4` and `integer` are one type. Extra columns are fine: a new release
//! adds them before the old one stops.

use std::collections::BTreeMap;

use sqlx::PgConnection;

use super::evolve::{Entities, Table};
use crate::Result;

/// The live columns of `table` as `(name, type, nullable)`, or `None` when it does not exist.
async fn live_columns(
    conn: &mut PgConnection,
    table: &Table,
) -> Result<Option<BTreeMap<String, (String, bool, bool)>>> {
    let exists: bool = sqlx::query_scalar(
        "SELECT pg_catalog.to_regclass(pg_catalog.format('%I.%I', $1::text, $2::text)) IS NOT NULL",
    )
    .bind(&table.schema)
    .bind(&table.table)
    .persistent(false)
    .fetch_one(&mut *conn)
    .await?;
    if !exists {
        return Ok(None);
    }
    let rows: Vec<(String, String, bool, bool)> = sqlx::query_as(
        "SELECT w.name, pg_catalog.format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
                a.atttypid = pg_catalog.to_regtype(w.ty)
         FROM unnest($3::text[], $4::text[]) AS w(name, ty)
         JOIN pg_catalog.pg_attribute a
           ON a.attrelid = pg_catalog.format('%I.%I', $1::text, $2::text)::regclass
          AND a.attname = w.name AND a.attnum > 0 AND NOT a.attisdropped",
    )
    .bind(&table.schema)
    .bind(&table.table)
    .bind(
        table
            .columns
            .iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        table
            .columns
            .iter()
            .map(|c| c.sql_type.clone())
            .collect::<Vec<_>>(),
    )
    .persistent(false)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Some(
        rows.into_iter()
            .map(|(name, ty, nullable, same)| (name, (ty, nullable, same)))
            .collect(),
    ))
}

/// What `table` (declared by `entity`) needs that the database's table does not give.
fn compare(table: &Table, live: &BTreeMap<String, (String, bool, bool)>, out: &mut Vec<String>) {
    let (entity, key) = (&table.entity, table.key());
    for c in &table.columns {
        match live.get(&c.name) {
            None => out.push(format!(
                "entity `{entity}` needs column `{}` ({}) of {key}, which the database lacks",
                c.name, c.sql_type
            )),
            Some((ty, _, false)) => out.push(format!(
                "entity `{entity}` reads column `{}` of {key} as {}, but it is {ty} in the database",
                c.name, c.sql_type
            )),
            Some((_, true, _)) if !c.nullable => out.push(format!(
                "entity `{entity}` needs column `{}` of {key} to be NOT NULL (its field is required), \
                 but the database's accepts NULL",
                c.name
            )),
            Some((_, false, _)) if c.nullable => out.push(format!(
                "entity `{entity}` writes NULL into column `{}` of {key} (its field is optional), \
                 but the database's is NOT NULL",
                c.name
            )),
            Some(_) => {}
        }
    }
}

/// The findings for `entities` (or the registered ones, see the module doc); empty when the
/// database has everything they need.
pub(crate) async fn check(
    conn: &mut PgConnection,
    entities: Option<&Entities>,
) -> Result<Vec<String>> {
    let registered;
    let (entities, explicit) = match entities {
        Some(e) => (e, true),
        None => {
            registered = Entities::registered();
            (&registered, false)
        }
    };
    let mut declared: BTreeMap<String, Vec<&Table>> = BTreeMap::new();
    for t in entities.tables() {
        declared.entry(t.key()).or_default().push(t);
    }
    let mut findings = Vec::new();
    for (key, tables) in declared {
        let [table] = tables[..] else {
            if explicit {
                findings.push(format!(
                    "{key} is declared by {} entities; give `DbOptions::entities` one of them",
                    tables.len()
                ));
            }
            continue;
        };
        match live_columns(conn, table).await? {
            Some(live) => compare(table, &live, &mut findings),
            None if explicit => findings.push(format!(
                "entity `{}` needs table {key}, which the database lacks",
                table.entity
            )),
            None => {}
        }
    }
    if !findings.is_empty() {
        findings.push(
            "the database is behind this build: apply the pending migrations first (the \
             migration command's `status` lists them, `apply` applies them), then start it"
                .to_owned(),
        );
    }
    Ok(findings)
}
