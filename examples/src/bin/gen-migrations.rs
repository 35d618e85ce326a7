//! Writes `migrations/` from the entities: `cargo run -p tenant-store-examples --bin gen-migrations`.

fn main() -> std::io::Result<()> {
    let dir = tenant_store_examples::migrations_dir();
    let files = tenant_store_examples::migration_files();
    tenant_store::postgres::migrate::write(&dir, &files)?;
    for f in &files {
        println!("wrote migrations/{}", f.file_name);
    }
    let neo4j = tenant_store_examples::neo4j_migration_files();
    tenant_store::migrations::write(
        &tenant_store_examples::neo4j_migrations_dir(),
        &neo4j,
        "cypher",
    )?;
    for f in &neo4j {
        println!("wrote migrations/neo4j/{}", f.file_name);
    }
    Ok(())
}
