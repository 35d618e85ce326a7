//! The stores of the product plan, written as a user of tenant-store writes them.
//!
//! [`ENTITIES`] lists every PostgreSQL entity in migration order: append new entities at the end
//! so existing migration numbers never change. `cargo run -p tenant-store-examples --bin
//! gen-migrations` writes `migrations/` from it.

pub mod episodic;
pub mod experiment;
pub mod feedback;
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
    ]
}

/// The migration files the entities generate.
pub fn migration_files() -> Vec<MigrationFile> {
    migrate::files(&entities())
}

/// The repository's `migrations/` folder.
pub fn migrations_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations")
}
