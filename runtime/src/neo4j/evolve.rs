//! Neo4j schema migrations, generated and numbered by the runtime from the registered entities,
//! and evolved as they change: the same folder rules as PostgreSQL's
//! ([`crate::migrations`]: a committed snapshot, new files only, the user's files untouched).
//!
//! An entity's schema is a set of named objects: an index on the scope, a uniqueness constraint
//! on (scope, id), an index per `indexed` property ([`GraphEntity::MIGRATION`]). The snapshot
//! records each label's objects by name; a step writes one `NNNN_<label>.cypher` per label
//! whose objects changed: `CREATE ... IF NOT EXISTS` for a new object, `DROP ... IF EXISTS` for
//! one that went (a changed object is dropped and created). A label no entity declares any more
//! has its objects dropped; its nodes stay (dropping an index loses no data).
//!
//! Every statement is idempotent, and Neo4j keeps no record of applied migrations, so
//! [`Client::apply_migrations`](super::Client::apply_migrations) runs every generated file of
//! the folder in order, every time: the schema ends as the last file leaves it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::GraphEntity;
use crate::migrations::{Folder, MigrationFile, Writer};
pub use crate::migrations::{Refused, SNAPSHOT_FILE};

/// One registration the generated code submits. Not constructed by hand.
#[doc(hidden)]
#[derive(Debug)]
pub struct Registration {
    pub entity: &'static str,
    pub label: &'static str,
    pub migration: &'static str,
    /// `module_path!()` where it was registered: its first segment is the crate.
    pub module: &'static str,
}

inventory::collect!(Registration);

/// The schema objects of one label, by name, each with the statement that creates it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    /// The entity that declares the label.
    pub entity: String,
    /// Every index and constraint, by name.
    pub objects: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
struct Declared {
    label: String,
    schema: Label,
    /// The entity's whole migration, as the create-only generator wrote it (for adoption).
    migration: &'static str,
}

impl Declared {
    fn of(entity: &str, label: &str, migration: &'static str) -> Self {
        let objects = statements(migration)
            .into_iter()
            .map(|s| (object_name(&s).to_owned(), s))
            .collect();
        Self {
            label: label.to_owned(),
            schema: Label {
                entity: entity.to_owned(),
                objects,
            },
            migration,
        }
    }
}

/// The statements of a migration: `;`-terminated, `//` comment lines dropped.
pub(crate) fn statements(cypher: &str) -> Vec<String> {
    cypher
        .split(";\n")
        .map(|s| {
            s.lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n")
                .trim()
                .trim_end_matches(';')
                .to_owned()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// `CREATE INDEX <name> ...` and `CREATE CONSTRAINT <name> ...`: the third word.
fn object_name(statement: &str) -> &str {
    statement.split_whitespace().nth(2).unwrap_or_default()
}

/// `DROP INDEX <name> IF EXISTS` for a `CREATE INDEX <name> ...` (likewise constraints).
fn drop_statement(create: &str) -> String {
    let kind = create.split_whitespace().nth(1).unwrap_or_default();
    format!("DROP {kind} {} IF EXISTS", object_name(create))
}

/// The Neo4j entities the migrations must serve.
#[derive(Debug, Clone, Default)]
pub struct Entities {
    labels: Vec<Declared>,
}

impl Entities {
    /// Nothing yet; add with [`entity`](Self::entity).
    pub fn new() -> Self {
        Self::default()
    }

    /// Every `#[tenant_store(backend = "neo4j")]` entity linked into the program.
    pub fn registered() -> Self {
        Self::registered_in(None)
    }

    /// The entities registered in the crate `krate` (as `module_path!` names it).
    pub fn registered_in_crate(krate: &str) -> Self {
        Self::registered_in(Some(krate))
    }

    fn registered_in(krate: Option<&str>) -> Self {
        let mut out = Self::new();
        for r in inventory::iter::<Registration>.into_iter() {
            if crate::migrations::in_crate(r.module, krate) {
                out.labels
                    .push(Declared::of(r.entity, r.label, r.migration));
            }
        }
        out
    }

    /// Adds entity `E`.
    pub fn entity<E: GraphEntity>(mut self) -> Self {
        self.labels
            .push(Declared::of(E::ENTITY, E::LABEL, E::MIGRATION));
        self
    }

    /// Whether no entity is declared.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    fn by_label(&self) -> Result<BTreeMap<&str, &Declared>, Refused> {
        let mut out = BTreeMap::new();
        for d in &self.labels {
            if let Some(other) = out.insert(d.label.as_str(), d) {
                return Err(Refused::one(format!(
                    "`{}` and `{}` both declare label {}",
                    other.schema.entity, d.schema.entity, d.label
                )));
            }
        }
        Ok(out)
    }
}

/// What the committed Cypher migrations produce, and which files they are.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Snapshot {
    /// The snapshot format; this version writes 1.
    pub format: u32,
    /// Every label's objects.
    pub labels: BTreeMap<String, Label>,
    /// Every generated file, with the SHA-256 of its contents.
    pub files: BTreeMap<String, String>,
}

impl crate::migrations::Snapshot for Snapshot {
    const FORMAT: u32 = 1;
}

/// The new files for a folder, and the snapshot that describes the folder with them.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The files to add, in order. Empty when the folder is up to date.
    pub files: Vec<MigrationFile>,
    /// The snapshot after the files are added.
    pub snapshot: Snapshot,
    changed: bool,
}

impl Plan {
    /// Whether the folder already matches the entities.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && !self.changed
    }
}

fn header(entity: &str) -> String {
    format!(
        "// Generated by tenant-store from `{entity}`. Do not edit: regenerate from the entities.\n"
    )
}

fn plan(folder: &Folder<Snapshot>, entities: &Entities) -> Result<Plan, Refused> {
    let declared = entities.by_label()?;
    let (old, adopted) = match &folder.snapshot {
        Some(s) => (s.clone(), false),
        None if folder.generated.is_empty() => (Snapshot::default(), false),
        None => (adopt(folder, &declared)?, true),
    };
    let mut out = Writer::after(folder, "cypher");
    let mut next = Snapshot {
        format: 1,
        labels: BTreeMap::new(),
        files: old.files.clone(),
    };
    for (label, d) in &declared {
        let description = label.to_ascii_lowercase();
        match old.labels.get(*label) {
            // A new label: the entity's migration as it stands.
            None => out.file(&description, d.migration.to_owned()),
            Some(before) => {
                let mut text = String::new();
                for (name, create) in &before.objects {
                    if d.schema.objects.get(name) != Some(create) {
                        text.push_str(&format!("{};\n", drop_statement(create)));
                    }
                }
                for (name, create) in &d.schema.objects {
                    if before.objects.get(name) != Some(create) {
                        text.push_str(&format!("{create};\n"));
                    }
                }
                if !text.is_empty() {
                    out.file(&description, format!("{}{text}", header(&d.schema.entity)));
                }
            }
        }
        next.labels.insert((*label).to_owned(), d.schema.clone());
    }
    for (label, before) in &old.labels {
        if declared.contains_key(label.as_str()) {
            continue;
        }
        let drops: String = before
            .objects
            .values()
            .map(|create| format!("{};\n", drop_statement(create)))
            .collect();
        out.file(
            &format!("drop_{}", label.to_ascii_lowercase()),
            format!(
                "// Generated by tenant-store: `{}` ({label}) removed; its nodes stay.\n{drops}",
                before.entity
            ),
        );
    }
    let files = out.finish(&mut next.files)?;
    let changed = adopted || folder.snapshot.as_ref() != Some(&next);
    Ok(Plan {
        files,
        snapshot: next,
        changed,
    })
}

/// The snapshot of a folder the create-only generator wrote (one file per entity, no
/// snapshot): every generated file must be an entity's migration as it is today.
fn adopt(
    folder: &Folder<Snapshot>,
    declared: &BTreeMap<&str, &Declared>,
) -> Result<Snapshot, Refused> {
    let mut snapshot = Snapshot {
        format: 1,
        ..Snapshot::default()
    };
    let mut problems = Vec::new();
    for (name, text) in &folder.generated {
        match declared.values().find(|d| d.migration == text) {
            Some(d) => {
                snapshot.labels.insert(d.label.clone(), d.schema.clone());
            }
            None => problems.push(format!(
                "{name} in {} was generated, but not from the entities as they are now, and the \
                 folder has no {SNAPSHOT_FILE}: {}",
                folder.dir.display(),
                crate::migrations::LOST_SNAPSHOT
            )),
        }
        snapshot
            .files
            .insert(name.clone(), crate::migrations::sha256(text));
    }
    match problems.is_empty() {
        true => Ok(snapshot),
        false => Err(Refused { problems }),
    }
}

/// Plans `dir` against `entities` and writes the new files and the snapshot.
pub fn generate(dir: &Path, entities: &Entities) -> Result<Plan, Refused> {
    let folder = Folder::read(dir, "cypher")?;
    // An edited or missing recorded file: refused here as `check` refuses it.
    if folder.snapshot.is_some() {
        folder.integrity("generate")?;
    }
    let plan = plan(&folder, entities)?;
    if !plan.is_empty() {
        crate::migrations::write(dir, &plan.files, &plan.snapshot)?;
    }
    Ok(plan)
}

/// The drift check: the recorded files are intact and the entities need no new file.
pub fn check(dir: &Path, entities: &Entities, regenerate: &str) -> Result<(), Refused> {
    let folder = Folder::read(dir, "cypher")?;
    folder.integrity(regenerate)?;
    if plan(&folder, entities)?.is_empty() {
        Ok(())
    } else {
        Err(Refused::one(format!(
            "the Neo4j entities changed since the last migration in {}: run `{regenerate}` and commit the result",
            dir.display()
        )))
    }
}

/// The generated `.cypher` files of `dir`, in order (the user's own files are not run: a
/// migration may only hold the schema statements tenant-store generates).
pub(crate) fn generated_files(dir: &Path) -> Result<Vec<MigrationFile>, Refused> {
    let folder: Folder<Snapshot> = Folder::read(dir, "cypher")?;
    Ok(folder
        .generated
        .into_iter()
        .map(|(file_name, sql)| MigrationFile { file_name, sql })
        .collect())
}
