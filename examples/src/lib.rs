//! The stores of the product plan, written as a user of tenant-store writes them.
//!
//! [`ENTITIES`] lists every PostgreSQL entity in migration order: append new entities at the end
//! so existing migration numbers never change. `cargo run -p tenant-store-examples --bin
//! gen-migrations` writes `migrations/` from it.

pub mod code_graph;
pub mod embedding;
pub mod episodic;
pub mod experiment;
pub mod feedback;
pub mod lifecycle;
pub mod memory;
pub mod search;

use tenant_store::postgres::migrate::{self, EntityMigration, MigrationFile};

/// The command that regenerates `migrations/`, named by the drift check.
pub const REGENERATE: &str = "cargo run -p tenant-store-examples --bin gen-migrations";

/// Every PostgreSQL entity's migration, in migration order.
pub fn entities() -> Vec<EntityMigration> {
    use experiment::{Assignment, Experiment, StatusChange, Variant};
    vec![
        EntityMigration::of::<memory::Memory>(),
        EntityMigration::of::<feedback::FeedbackEvent>(),
        EntityMigration::of::<Experiment>(),
        EntityMigration::of::<Variant>(),
        EntityMigration::of::<Assignment>(),
        EntityMigration::of::<StatusChange>(),
        EntityMigration::admin_audit(),
    ]
}

/// The migration files the entities generate.
pub fn migration_files() -> Vec<MigrationFile> {
    migrate::files(&entities())
}

/// Every Neo4j entity's Cypher migration, in order.
pub fn neo4j_migration_files() -> Vec<MigrationFile> {
    [
        ("code_symbol", code_graph::SymbolStore::migration_cypher()),
        ("code_repo", code_graph::RepoStore::migration_cypher()),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (name, cypher))| MigrationFile {
        file_name: format!("{:04}_{name}.cypher", i + 1),
        sql: cypher.to_owned(),
    })
    .collect()
}

/// The repository's `migrations/neo4j/` folder.
pub fn neo4j_migrations_dir() -> std::path::PathBuf {
    migrations_dir().join("neo4j")
}

/// The repository's `migrations/` folder.
pub fn migrations_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations")
}
