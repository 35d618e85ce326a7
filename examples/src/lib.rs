//! The stores of the product plan, written as a user of tenant-store writes them.
//!
//! Every PostgreSQL entity registers itself: `cargo run -p tenant-store-examples --bin
//! gen-migrations -- generate` writes the new files `migrations/` needs (see
//! `tenant_store::cli`).

pub mod code_graph;
pub mod embedding;
pub mod episodic;
pub mod experiment;
pub mod feedback;
pub mod lifecycle;
pub mod memory;
pub mod search;
pub mod service;

// The experiment platform's admin tools use the audited admin scope: its table is migrated too.
tenant_store::postgres::admin_audit!();

/// How the migrations are regenerated, named by the drift checks.
pub const REGENERATE: &str = "cargo run -p tenant-store-examples --bin gen-migrations -- generate";

/// Every PostgreSQL entity of this crate (each registered itself), with the admin audit table.
pub fn entities() -> tenant_store::postgres::evolve::Entities {
    tenant_store::postgres::evolve::Entities::registered_in_crate("tenant_store_examples")
}

/// Every Neo4j entity of this crate (each registered itself).
pub fn neo4j_entities() -> tenant_store::neo4j::evolve::Entities {
    tenant_store::neo4j::evolve::Entities::registered_in_crate("tenant_store_examples")
}

/// The repository's `migrations/neo4j/` folder.
pub fn neo4j_migrations_dir() -> std::path::PathBuf {
    migrations_dir().join("neo4j")
}

/// The repository's `migrations/` folder.
pub fn migrations_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations")
}
