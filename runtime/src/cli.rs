//! The migration command an application runs from its own crate (feature `cli`).
//!
//! ```no_run
//! // src/bin/migrations.rs: every entity linked into the program registers itself.
//! use my_app as _; // the crate that declares the entities, if this binary is another crate's
//! fn main() -> std::process::ExitCode {
//!     tenant_store::cli::main()
//! }
//! # mod my_app {}
//! ```
//!
//! - `generate` writes the new files the entities need into the migrations folder (never
//!   rewriting one) and the snapshot beside them; `generate --contract` first drops what
//!   earlier files kept for the release before them (see [`evolve`]'s "Two releases side by
//!   side");
//! - `check` is the drift check for CI: a non-zero exit, every problem, and the command that
//!   fixes it;
//! - `status` lists which files a database has applied, which are pending (with what each
//!   pending `ALTER` file locks, and for how long), which failed, and any applied file that
//!   changed since;
//! - `new-data-migration <name> --table <table>` writes a data migration to fill in, one that
//!   sees every tenant's rows (see [`data_migration`]);
//! - `keys generate <id> | install | retire <id> | list` manages the keys that sign tenant
//!   contexts, as the tables' owner (see [`keys`](crate::postgres::keys));
//! - `audit --database-url <the application's URL> [--json]` runs the start-up audit
//!   ([`audit_report`](crate::postgres::audit_report)) without starting the application: every
//!   finding with what fixes it (and, with `TENANT_STORE_PG_KEY` set, whether the database
//!   verifies that key), exiting non-zero on any;
//! - `native [--off] --database-url <a superuser's URL>` turns the native tenant check on or
//!   off (see [`native`](crate::postgres::native));
//! - `apply` applies the pending files as the tables' owner (after `check`), and refuses a
//!   pending hand-written file whose `UPDATE`, `DELETE` or `MERGE` of a tenant table would see
//!   no row.
//!
//! The folder is `--dir` (default `migrations`, or `TENANT_STORE_MIGRATIONS`); the database is
//! `--database-url` (or `DATABASE_URL`). With the `neo4j` feature, `generate` and `check` also
//! serve the Neo4j entities in `--neo4j-dir` (default `<dir>/neo4j`); those migrations are
//! applied by the application itself ([`Client::apply_migrations`](crate::neo4j::Client::apply_migrations)),
//! being idempotent.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;

use crate::postgres::context::DEFINER_ROLE;
use crate::postgres::{data_migration, evolve};

/// The entities a migration command serves.
#[derive(Debug, Clone, Default)]
pub struct Migrations {
    postgres: evolve::Entities,
    #[cfg(feature = "neo4j")]
    neo4j: crate::neo4j::evolve::Entities,
}

impl Migrations {
    /// Every entity registered in the program (each `#[tenant_store]` entity registers itself).
    pub fn registered() -> Self {
        Self {
            postgres: evolve::Entities::registered(),
            #[cfg(feature = "neo4j")]
            neo4j: crate::neo4j::evolve::Entities::registered(),
        }
    }

    /// These PostgreSQL entities, and no other backend's.
    pub fn postgres(entities: evolve::Entities) -> Self {
        Self {
            postgres: entities,
            #[cfg(feature = "neo4j")]
            neo4j: Default::default(),
        }
    }

    /// These Neo4j entities beside the PostgreSQL ones.
    #[cfg(feature = "neo4j")]
    pub fn with_neo4j(mut self, entities: crate::neo4j::evolve::Entities) -> Self {
        self.neo4j = entities;
        self
    }
}

#[derive(Debug, Parser)]
#[command(about = "tenant-store migrations for the entities of this program")]
struct Args {
    /// The migrations folder.
    #[arg(
        long,
        global = true,
        env = "TENANT_STORE_MIGRATIONS",
        default_value = "migrations"
    )]
    dir: PathBuf,
    /// The Neo4j migrations folder [default: <dir>/neo4j].
    #[cfg(feature = "neo4j")]
    #[arg(long, global = true)]
    neo4j_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write the migrations the entities need: new files only, and the snapshot.
    Generate {
        /// First drop what earlier files kept for the release before them (the old column of
        /// a rename, a `drop_column`): only once no instance of that release runs.
        #[arg(long)]
        contract: bool,
    },
    /// Fail when the committed migrations do not match the entities (for CI).
    Check,
    /// Show which migrations a database has applied.
    Status {
        /// The database, as its owner or any role that can read `_sqlx_migrations`.
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
    },
    /// Write a data migration to fill in: a file that sees every tenant's rows of the named
    /// tables (see `tenant_store::postgres::data_migration`).
    NewDataMigration {
        /// The file's name after its number (`a-z 0-9 _`).
        name: String,
        /// A table the migration changes (`table` or `schema.table`); once per table.
        #[arg(long = "table", required = true)]
        tables: Vec<String>,
    },
    /// The keys that sign tenant contexts (see `tenant_store::postgres::keys`), as the tables'
    /// owner.
    Keys {
        /// The database, as the tables' owner (a member of `tenant_store_definer`).
        #[arg(long, env = "DATABASE_URL", global = true)]
        database_url: Option<String>,
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Run the start-up audit against a database without starting the application: every
    /// finding with what fixes it, and a non-zero exit on any (for CI).
    Audit {
        /// The database, as the application's role (the audit checks that role).
        #[arg(long, env = "TENANT_STORE_PG_URL")]
        database_url: String,
        /// Print `{"database": ..., "findings": [...]}` instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Turn the native tenant check on, or off with `--off` (see
    /// `tenant_store::postgres::native`), as a superuser. Its library must be installed on the
    /// server first (`make -C pgext install`).
    Native {
        /// The database, as a superuser (creating a C function takes one).
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        /// Put the PL/pgSQL check back.
        #[arg(long)]
        off: bool,
    },
    /// Apply the pending migrations, as the role that owns the tables.
    Apply {
        /// The database, as the tables' owner (a member of `tenant_store_definer`).
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
    },
}

/// `keys ...`. Rotation: `generate new`, deploy the application with the printed key,
/// `retire old`.
#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Make a new key, install it, and print the `TENANT_STORE_PG_KEY=...` line to give the
    /// application (the only time the secret is shown).
    Generate {
        /// The key's id (`A-Z a-z 0-9 - _`).
        id: String,
    },
    /// Install the key in `TENANT_STORE_PG_KEY` (one made elsewhere, or again).
    Install,
    /// End a key: contexts signed with it stop verifying.
    Retire {
        /// The key's id.
        id: String,
    },
    /// The keys' ids and dates (never their secrets).
    List,
}

/// Runs the command line of this process against every registered entity, and returns the
/// process's exit code.
pub fn main() -> ExitCode {
    run(std::env::args_os(), &Migrations::registered())
}

/// Runs the command line `args` (the program's name first) against `entities`.
pub fn run(
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    entities: &Migrations,
) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let program = args
        .first()
        .map(PathBuf::from)
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "migrations".into());
    let args = match Args::try_parse_from(args) {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    // How this program is run again to generate, for messages.
    let regenerate = format!("cargo run --bin {program} -- generate");
    match execute(&args, entities, &regenerate) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Whether a folder is in use: entities for it, or a snapshot or `.<ext>` files from earlier
/// runs (an application with no entity of a backend leaves that backend's folder alone).
fn in_use(has_entities: bool, dir: &Path, ext: &str) -> bool {
    has_entities
        || dir.join(evolve::SNAPSHOT_FILE).exists()
        || dir.read_dir().is_ok_and(|mut d| {
            d.any(|e| e.is_ok_and(|e| e.path().extension().is_some_and(|x| x == ext)))
        })
}

fn execute(args: &Args, entities: &Migrations, regenerate: &str) -> Result<(), String> {
    let dir = &args.dir;
    let postgres = in_use(entities.postgres.tables().next().is_some(), dir, "sql");
    #[cfg(feature = "neo4j")]
    let neo4j_dir = args.neo4j_dir.clone().unwrap_or_else(|| dir.join("neo4j"));
    #[cfg(feature = "neo4j")]
    let neo4j = in_use(!entities.neo4j.is_empty(), &neo4j_dir, "cypher");
    match &args.command {
        Command::Generate { contract } => {
            let mut written = Vec::new();
            if postgres {
                let generate = match contract {
                    true => evolve::generate_contract,
                    false => evolve::generate,
                };
                let plan = generate(dir, &entities.postgres).map_err(|e| e.to_string())?;
                written.extend(plan.files.iter().map(|f| dir.join(&f.file_name)));
            }
            #[cfg(feature = "neo4j")]
            if neo4j {
                let plan = crate::neo4j::evolve::generate(&neo4j_dir, &entities.neo4j)
                    .map_err(|e| e.to_string())?;
                written.extend(plan.files.iter().map(|f| neo4j_dir.join(&f.file_name)));
            }
            if written.is_empty() {
                println!("{}: up to date", dir.display());
            }
            for f in written {
                println!("wrote {}", f.display());
            }
            Ok(())
        }
        Command::Check => {
            let mut problems = Vec::new();
            if postgres && let Err(e) = evolve::check(dir, &entities.postgres, regenerate) {
                problems.extend(e.problems);
            }
            #[cfg(feature = "neo4j")]
            if neo4j
                && let Err(e) = crate::neo4j::evolve::check(&neo4j_dir, &entities.neo4j, regenerate)
            {
                problems.extend(e.problems);
            }
            if !problems.is_empty() {
                return Err(problems.join("\n"));
            }
            println!("{}: matches the entities", dir.display());
            Ok(())
        }
        Command::Status { database_url } => block_on(status(dir, database_url)),
        Command::Audit { database_url, json } => {
            block_on(audit(database_url, &entities.postgres, *json))
        }
        Command::NewDataMigration { name, tables } => {
            let path = data_migration::write(dir, &entities.postgres, name, tables)
                .map_err(|e| e.to_string())?;
            println!("wrote {} (fill in your statements)", path.display());
            Ok(())
        }
        Command::Keys {
            database_url,
            command,
        } => {
            let url = database_url.as_deref().ok_or(
                "no database: pass `--database-url` (the tables' owner) or set DATABASE_URL",
            )?;
            block_on(keys(url, command))
        }
        Command::Native { database_url, off } => block_on(native(database_url, *off)),
        Command::Apply { database_url } => {
            evolve::check(dir, &entities.postgres, regenerate).map_err(|e| {
                format!("not applying a folder that does not match the entities:\n{e}")
            })?;
            block_on(apply(dir, database_url, entities, regenerate))
        }
    }
}

/// `audit`: the findings of [`audit_report`](crate::postgres::audit_report) for the program's
/// entities, as lines or JSON; an error (a non-zero exit) when there is any.
async fn audit(url: &str, entities: &evolve::Entities, json: bool) -> Result<(), String> {
    use std::str::FromStr as _;
    let options = sqlx::postgres::PgConnectOptions::from_str(url)
        .map_err(|e| format!("bad database URL: {e}"))?;
    let key = match std::env::var_os(crate::postgres::context::KEY_ENV) {
        Some(_) => Some(crate::postgres::SigningKey::from_env().map_err(|e| e.to_string())?),
        None => None,
    };
    let entities = (entities.tables().next().is_some()).then_some(entities);
    let findings = crate::postgres::audit_report(&options, key.as_ref(), entities)
        .await
        .map_err(|e| e.to_string())?;
    let database = crate::postgres::pool_endpoint(&options);
    if json {
        let report = serde_json::json!({ "database": database, "findings": findings });
        println!("{report}");
    } else if findings.is_empty() {
        println!("{database}: no finding");
    } else {
        findings.iter().for_each(|f| println!("- {f}"));
    }
    match findings.len() {
        0 => Ok(()),
        n => Err(format!("{n} finding(s) on {database}")),
    }
}

/// `native`: the native tenant check on or off, in one transaction.
async fn native(url: &str, off: bool) -> Result<(), String> {
    use crate::postgres::native;
    let pool = connect(url).await?;
    let sql = if off {
        native::disable_sql()
    } else {
        native::enable_sql()
    };
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&pool)
        .await
        .map_err(|e| {
            format!(
                "{e}; the native check needs a superuser and its library `{}` on the server \
                 (`make -C pgext install`)",
                native::LIBRARY
            )
        })?;
    println!(
        "the native tenant check is {}",
        if off { "off" } else { "on" }
    );
    Ok(())
}

fn block_on(f: impl std::future::Future<Output = Result<(), String>>) -> Result<(), String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?
        .block_on(f)
}

async fn connect(url: &str) -> Result<sqlx::PgPool, String> {
    PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .map_err(|e| format!("cannot connect to the database: {e}"))
}

async fn migrator(dir: &Path) -> Result<Migrator, String> {
    Migrator::new(dir.to_owned())
        .await
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))
}

/// `(version, success, checksum)` of every applied migration; none when sqlx never ran here.
async fn applied(pool: &sqlx::PgPool) -> Result<Vec<(i64, bool, Vec<u8>)>, String> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await
        .map_err(|e| e.to_string())?;
    if !exists {
        return Ok(Vec::new());
    }
    sqlx::query_as("SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version")
        .fetch_all(pool)
        .await
        .map_err(|e| format!("cannot read _sqlx_migrations: {e}"))
}

async fn status(dir: &Path, url: &str) -> Result<(), String> {
    let migrator = migrator(dir).await?;
    let pool = connect(url).await?;
    let applied = applied(&pool).await?;
    let mut trouble = 0;
    for m in migrator.iter() {
        let failed = match applied.iter().any(|(v, ..)| *v == m.version) {
            false => failed_build(&pool, m.sql.as_str()).await?,
            true => None,
        };
        let state = match applied.iter().find(|(v, ..)| *v == m.version) {
            None if failed.is_some() => {
                trouble += 1;
                "FAILED"
            }
            None => "pending",
            Some((_, false, _)) => {
                trouble += 1;
                "FAILED (fix it by hand, then delete its row from _sqlx_migrations)"
            }
            Some((.., sum)) if **sum != *m.checksum => {
                trouble += 1;
                "CHANGED since it was applied (restore the file from version control)"
            }
            Some(_) => "applied",
        };
        println!("{:>14}  {}  {state}", m.version, m.description);
        if state == "pending" {
            for lock in m
                .sql
                .as_str()
                .lines()
                .filter_map(|l| l.strip_prefix(evolve::LOCKS))
            {
                println!("{:>14}  locks: {lock}", "");
            }
        }
        if let Some(reason) = failed {
            println!("{:>14}  {reason}", "");
            println!(
                "{:>14}  fix the cause, then `apply` again: it builds the index anew",
                ""
            );
        }
    }
    for (v, ..) in applied
        .iter()
        .filter(|(v, ..)| !migrator.version_exists(*v))
    {
        trouble += 1;
        println!("{v:>14}  (no file)  applied, but not in {}", dir.display());
    }
    let waiting = evolve::waiting_for_contract(dir).map_err(|e| e.to_string())?;
    if !waiting.is_empty() {
        println!(
            "kept for the release before, until `generate --contract` (once none of it runs): {}",
            waiting.join(", ")
        );
    }
    pool.close().await;
    match trouble {
        0 => Ok(()),
        n => Err(format!("{n} migration(s) need attention")),
    }
}

/// The pending hand-written files that write a tenant table without lifting `FORCE`: such a
/// statement changes no row (see [`data_migration`]).
fn blind(
    migrator: &Migrator,
    applied: &[(i64, bool, Vec<u8>)],
    entities: &Migrations,
    program: &str,
) -> Result<(), String> {
    let problems: Vec<String> = migrator
        .iter()
        .filter(|m| !applied.iter().any(|(v, ..)| *v == m.version))
        .filter_map(|m| {
            let tables = data_migration::blind_writes(m.sql.as_str(), entities.postgres.tables());
            (!tables.is_empty()).then(|| {
                let name = m.description.replace(' ', "_");
                format!(
                    "{:04}_{name}.sql writes {} as the tables' owner, who is subject to their \
                     row-level security and has no tenant context: its UPDATE, DELETE or MERGE \
                     sees no row and succeeds. Move its statements into the file \
                     `{program} new-data-migration {name} --table {}` writes, which lifts FORCE \
                     inside the file's transaction",
                    m.version,
                    tables.join(", "),
                    tables.join(" --table "),
                )
            })
        })
        .collect();
    match problems.is_empty() {
        true => Ok(()),
        false => Err(format!("not applying:\n{}", problems.join("\n"))),
    }
}

async fn apply(
    dir: &Path,
    url: &str,
    entities: &Migrations,
    regenerate: &str,
) -> Result<(), String> {
    let migrator = migrator(dir).await?;
    let pool = connect(url).await?;
    let program = regenerate.strip_suffix(" generate").unwrap_or(regenerate);
    blind(&migrator, &applied(&pool).await?, entities, program)?;
    let owner: bool = sqlx::query_scalar("SELECT pg_has_role(current_user, $1, 'MEMBER')")
        .bind(DEFINER_ROLE)
        .fetch_one(&pool)
        .await
        .map_err(|e| e.to_string())?;
    if !owner {
        return Err(format!(
            "the migrations are applied by the role that owns the tables, a member of `{DEFINER_ROLE}`; \
             this connection's role is not (see tenant_store::postgres::migrate for the set-up)"
        ));
    }
    let before: Vec<i64> = applied(&pool).await?.iter().map(|(v, ..)| *v).collect();
    for m in migrator.iter().filter(|m| !before.contains(&m.version)) {
        if let Some(build) = Build::of(m.sql.as_str())
            && build.invalid(&pool).await?
        {
            println!(
                "dropping the invalid index {} a failed run of {:04}_{} left, to build it again",
                build.qualified(),
                m.version,
                m.description.replace(' ', "_")
            );
            build.drop(&pool).await?;
        }
    }
    let result = migrator.run(&pool).await;
    let after = applied(&pool).await?;
    for m in migrator.iter() {
        if !before.contains(&m.version) && after.iter().any(|(v, ok, _)| *v == m.version && *ok) {
            println!("applied {:>14}  {}", m.version, m.description);
        }
    }
    let result = match result {
        Ok(()) => Ok(()),
        Err(e) => Err(failure(&pool, &migrator, e).await),
    };
    pool.close().await;
    result.map_err(|e| format!("applying {}: {e}", dir.display()))?;
    if after.len() == before.len() {
        println!("nothing to apply");
    }
    Ok(())
}

/// What went wrong applying a file: the server's message with its detail and hint, and for a
/// unique key over duplicated rows the query that lists them. A failed concurrent build keeps
/// the message and the way forward (not the detail: see below) on the INVALID index it left
/// (`COMMENT ON INDEX`), where `status` reads it.
async fn failure(
    pool: &sqlx::PgPool,
    migrator: &Migrator,
    e: sqlx::migrate::MigrateError,
) -> String {
    let sqlx::migrate::MigrateError::ExecuteMigration(sqlx::Error::Database(db), version) = &e
    else {
        return e.to_string();
    };
    // The detail and hint go to the operator's terminal only. The catalog comment below is
    // readable by every role, and a detail may name a row's values (PostgreSQL leaves them out
    // of an index build's, which runs as the table's owner under FORCE, but nothing here relies
    // on that).
    let mut detail = String::new();
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        for extra in [pg.detail(), pg.hint()].into_iter().flatten() {
            detail.push_str(": ");
            detail.push_str(extra.trim_end_matches('.'));
        }
    }
    let Some(m) = migrator.iter().find(|m| m.version == *version) else {
        return format!("{}{detail}", db.message());
    };
    let file = format!("{:04}_{}.sql", m.version, m.description.replace(' ', "_"));
    let build = Build::of(m.sql.as_str());
    let way_forward = match build.as_ref() {
        Some(b) if b.unique && db.is_unique_violation() => format!(
            "; rows of one tenant share a value of this key. To list them, run as the owner \
             (it holds the table's lock while it reads): {}",
            b.duplicates_query()
        ),
        _ => String::new(),
    };
    if let Some(build) = build
        && let Ok(true) = build.invalid(pool).await
    {
        let note = format!("the build of {file} failed: {}{way_forward}", db.message());
        // Best effort: the error below says it all the same.
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "COMMENT ON INDEX {} IS {}",
            build.qualified(),
            quote_literal(&note)
        )))
        .execute(pool)
        .await;
    }
    let reason = format!("{}{detail}{way_forward}", db.message());
    format!("{file} failed: {reason}")
}

/// `text` as a SQL string literal.
fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Why a pending file is stuck: the reason kept on the INVALID index its failed build left.
async fn failed_build(pool: &sqlx::PgPool, sql: &str) -> Result<Option<String>, String> {
    let Some(build) = Build::of(sql) else {
        return Ok(None);
    };
    if !build.invalid(pool).await? {
        return Ok(None);
    }
    let comment: Option<String> = sqlx::query_scalar(
        "SELECT pg_catalog.obj_description(pg_catalog.to_regclass($1), 'pg_class')",
    )
    .bind(build.qualified())
    .fetch_one(pool)
    .await
    .map_err(|e| e.to_string())?;
    Ok(Some(comment.unwrap_or_else(|| {
        format!(
            "a concurrent build left the index {} INVALID",
            build.qualified()
        )
    })))
}

/// The index a generated `-- no-transaction` file builds (`CREATE [UNIQUE] INDEX CONCURRENTLY
/// IF NOT EXISTS "name" ON "schema"."table" ...`). A failed build leaves it INVALID, and the
/// file's `IF NOT EXISTS` would skip it on the next run while the constraint that needs it
/// fails: `apply` drops it first, so a re-run builds it anew. Hand-written files are not
/// touched.
struct Build {
    schema: String,
    table: String,
    name: String,
    /// The key's columns as the file writes them (`"org_id", "name"`).
    columns: String,
    unique: bool,
}

impl Build {
    fn of(sql: &str) -> Option<Self> {
        if !crate::migrations::is_generated(sql) {
            return None;
        }
        let between = |s: &str, after: &str, end: char| -> Option<String> {
            let rest = &s[s.find(after)? + after.len()..];
            Some(rest[..rest.find(end)?].to_owned())
        };
        let name = between(sql, "INDEX CONCURRENTLY IF NOT EXISTS \"", '"')?;
        let on = &sql[sql.find(" ON \"")?..];
        Some(Self {
            schema: between(on, " ON \"", '"')?,
            table: between(on, "\".\"", '"')?,
            columns: between(on, " (", ')')?,
            unique: sql.contains("CREATE UNIQUE INDEX"),
            name,
        })
    }

    /// For a unique key over duplicated rows: how to list them. The server leaves the values
    /// out of its error (the owner is under the table's row-level security), and the owner sees
    /// no row without lifting `FORCE`, which takes the table's lock for the transaction.
    fn duplicates_query(&self) -> String {
        let t = format!("\"{}\".\"{}\"", self.schema, self.table);
        format!(
            "BEGIN; ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY; SELECT {c}, count(*) FROM {t} \
             GROUP BY {c} HAVING count(*) > 1; ROLLBACK;",
            c = self.columns
        )
    }

    fn qualified(&self) -> String {
        format!("\"{}\".\"{}\"", self.schema, self.name)
    }

    async fn invalid(&self, pool: &sqlx::PgPool) -> Result<bool, String> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_index
                            WHERE indexrelid = pg_catalog.to_regclass($1) AND NOT indisvalid)",
        )
        .bind(self.qualified())
        .fetch_one(pool)
        .await
        .map_err(|e| e.to_string())
    }

    async fn drop(&self, pool: &sqlx::PgPool) -> Result<(), String> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP INDEX CONCURRENTLY IF EXISTS {}",
            self.qualified()
        )))
        .execute(pool)
        .await
        .map(drop)
        .map_err(|e| format!("dropping the invalid index {}: {e}", self.qualified()))
    }
}

async fn keys(url: &str, command: &KeysCommand) -> Result<(), String> {
    use crate::postgres::{SigningKey, context, keys};
    let pool = connect(url).await?;
    let mut conn = pool.acquire().await.map_err(|e| e.to_string())?;
    let result = match command {
        KeysCommand::Generate { id } => {
            let key = SigningKey::generate(id.as_str()).map_err(|e| e.to_string())?;
            keys::install(&mut conn, &key)
                .await
                .map_err(|e| e.to_string())?;
            eprintln!("installed key `{id}`; give the application this secret:");
            println!("{}={}", context::KEY_ENV, key.export());
            Ok(())
        }
        KeysCommand::Install => {
            let key = SigningKey::from_env().map_err(|e| e.to_string())?;
            keys::install(&mut conn, &key)
                .await
                .map_err(|e| e.to_string())?;
            println!("installed key `{}`", key.id());
            Ok(())
        }
        KeysCommand::Retire { id } => match keys::retire(&mut conn, id).await {
            Ok(true) => {
                println!("retired key `{id}`");
                Ok(())
            }
            Ok(false) => Err(format!("no active key `{id}`")),
            Err(e) => Err(e.to_string()),
        },
        KeysCommand::List => keys::list(&mut conn)
            .await
            .map(|all| {
                for k in all {
                    let state = match k.retired_at {
                        Some(at) => format!("retired {at}"),
                        None => "active".to_owned(),
                    };
                    println!("{}\tcreated {}\t{state}", k.id, k.created_at);
                }
            })
            .map_err(|e| e.to_string()),
    };
    drop(conn);
    pool.close().await;
    result
}
