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
//!   rewriting one) and the snapshot beside them;
//! - `check` is the drift check for CI: a non-zero exit, every problem, and the command that
//!   fixes it;
//! - `status` lists which files a database has applied, which are pending, and any applied file
//!   that changed since;
//! - `apply` applies the pending files as the tables' owner (after `check`).
//!
//! The folder is `--dir` (default `migrations`, or `TENANT_STORE_MIGRATIONS`); the database is
//! `--database-url` (or `DATABASE_URL`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;

use crate::postgres::context::DEFINER_ROLE;
use crate::postgres::evolve::{self, Entities};

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
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write the migrations the entities need: new files only, and the snapshot.
    Generate,
    /// Fail when the committed migrations do not match the entities (for CI).
    Check,
    /// Show which migrations a database has applied.
    Status {
        /// The database, as its owner or any role that can read `_sqlx_migrations`.
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
    },
    /// Apply the pending migrations, as the role that owns the tables.
    Apply {
        /// The database, as the tables' owner (a member of `tenant_store_definer`).
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
    },
}

/// Runs the command line of this process against every registered entity, and returns the
/// process's exit code.
pub fn main() -> ExitCode {
    run(std::env::args_os(), &Entities::registered())
}

/// Runs the command line `args` (the program's name first) against `entities`.
pub fn run(
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    entities: &Entities,
) -> ExitCode {
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
    match execute(&args, entities) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// How this program is run again to generate, for messages.
fn regenerate() -> String {
    let program = std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "migrations".into());
    format!("cargo run --bin {program} -- generate")
}

fn execute(args: &Args, entities: &Entities) -> Result<(), String> {
    let dir = &args.dir;
    match &args.command {
        Command::Generate => {
            let plan = evolve::generate(dir, entities).map_err(|e| e.to_string())?;
            if plan.files.is_empty() {
                println!("{}: up to date", dir.display());
            }
            for f in &plan.files {
                println!("wrote {}", dir.join(&f.file_name).display());
            }
            Ok(())
        }
        Command::Check => {
            evolve::check(dir, entities, &regenerate()).map_err(|e| e.to_string())?;
            println!("{}: matches the entities", dir.display());
            Ok(())
        }
        Command::Status { database_url } => block_on(status(dir, database_url)),
        Command::Apply { database_url } => {
            evolve::check(dir, entities, &regenerate()).map_err(|e| {
                format!("not applying a folder that does not match the entities:\n{e}")
            })?;
            block_on(apply(dir, database_url))
        }
    }
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
        let state = match applied.iter().find(|(v, ..)| *v == m.version) {
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
    }
    for (v, ..) in applied
        .iter()
        .filter(|(v, ..)| !migrator.version_exists(*v))
    {
        trouble += 1;
        println!("{v:>14}  (no file)  applied, but not in {}", dir.display());
    }
    pool.close().await;
    match trouble {
        0 => Ok(()),
        n => Err(format!("{n} migration(s) need attention")),
    }
}

async fn apply(dir: &Path, url: &str) -> Result<(), String> {
    let migrator = migrator(dir).await?;
    let pool = connect(url).await?;
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
    let result = migrator.run(&pool).await;
    let after = applied(&pool).await?;
    for m in migrator.iter() {
        if !before.contains(&m.version) && after.iter().any(|(v, ok, _)| *v == m.version && *ok) {
            println!("applied {:>14}  {}", m.version, m.description);
        }
    }
    pool.close().await;
    result.map_err(|e| format!("applying {}: {e}", dir.display()))?;
    if after.len() == before.len() {
        println!("nothing to apply");
    }
    Ok(())
}
