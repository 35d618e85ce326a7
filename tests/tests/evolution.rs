//! Schema evolution on a real server: one entity (`Gadget`, table `gadgets`) goes through six
//! versions, one kind of change each, with rows of two tenants written at every version. After
//! each step the generator writes only new files, sqlx's migrator applies them (no checksum
//! error), every row is still there with its values (renamed and converted fields included),
//! each tenant still sees only its own rows, the start-up audit passes, the drift check is
//! green, and a hand-written migration in the same folder is untouched.
//!
//! Each test migrates a database of its own, created for it and dropped after.

// Every version declares the whole entity; the test reads the fields each step is about.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tenant_store::Page;
use tenant_store::Principal;
use tenant_store::postgres::evolve::{self, Entities};
use tenant_store::postgres::{Db, DbOptions};
use tenant_store::tenant_store;
use tenant_store_tests::{
    ScratchDb, apply_folder, folder_files, install_key, key, raw_pool, tenant, with_database,
};
use uuid::Uuid;

#[tenant_store(backend = "postgres", scope = "org_id", table = "shelves")]
pub struct Shelf {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub label: String,
}

/// The first deploy.
mod v1 {
    use super::*;
    #[tenant_store(backend = "postgres", scope = "org_id", table = "gadgets")]
    pub struct Gadget {
        #[tenant_store(id)]
        pub id: Uuid,
        pub org_id: Uuid,
        #[tenant_store(filter)]
        pub name: String,
        pub count: i32,
        pub notes: String,
    }
}

/// A new nullable field, a new field with a default, and a new entity (`Shelf`).
mod v2 {
    use super::*;
    #[tenant_store(backend = "postgres", scope = "org_id", table = "gadgets")]
    pub struct Gadget {
        #[tenant_store(id)]
        pub id: Uuid,
        pub org_id: Uuid,
        #[tenant_store(filter)]
        pub name: String,
        pub count: i32,
        pub notes: String,
        pub color: Option<String>,
        #[tenant_store(default = "0")]
        pub priority: i32,
    }
}

/// A renamed field (a filter: its index follows) and a type PostgreSQL widens.
mod v3 {
    use super::*;
    #[tenant_store(backend = "postgres", scope = "org_id", table = "gadgets")]
    pub struct Gadget {
        #[tenant_store(id)]
        pub id: Uuid,
        pub org_id: Uuid,
        #[tenant_store(filter, renamed_from = "name")]
        pub title: String,
        pub count: i64,
        pub notes: String,
        pub color: Option<String>,
        #[tenant_store(default = "0")]
        pub priority: i32,
    }
}

/// A removed field (with the opt-in), a new filter index, a unique key and a reference.
mod v4 {
    use super::*;
    #[tenant_store(
        backend = "postgres",
        scope = "org_id",
        table = "gadgets",
        drop_column = "notes",
        unique(title)
    )]
    pub struct Gadget {
        #[tenant_store(id)]
        pub id: Uuid,
        pub org_id: Uuid,
        #[tenant_store(filter)]
        pub title: String,
        pub count: i64,
        #[tenant_store(filter)]
        pub color: Option<String>,
        #[tenant_store(default = "0")]
        pub priority: i32,
        #[tenant_store(references = Shelf)]
        pub shelf: Option<Uuid>,
    }
}

/// The filter on `title`, the unique key and the reference removed.
mod v5 {
    use super::*;
    #[tenant_store(backend = "postgres", scope = "org_id", table = "gadgets")]
    pub struct Gadget {
        #[tenant_store(id)]
        pub id: Uuid,
        pub org_id: Uuid,
        pub title: String,
        pub count: i64,
        #[tenant_store(filter)]
        pub color: Option<String>,
        #[tenant_store(default = "0")]
        pub priority: i32,
        pub shelf: Option<Uuid>,
    }
}

/// An optional field made required (its NULLs take the default), and `Shelf` removed with
/// `drop_table!` (see [`v6_entities`]).
mod v6 {
    use super::*;
    #[tenant_store(backend = "postgres", scope = "org_id", table = "gadgets")]
    pub struct Gadget {
        #[tenant_store(id)]
        pub id: Uuid,
        pub org_id: Uuid,
        pub title: String,
        pub count: i64,
        #[tenant_store(filter, default = "'unpainted'")]
        pub color: String,
        #[tenant_store(default = "0")]
        pub priority: i32,
        pub shelf: Option<Uuid>,
    }
}

/// Changes the generator must refuse, each with the way forward.
mod refused {
    use super::*;
    /// v1 with `notes` gone and no `drop_column`.
    #[tenant_store(backend = "postgres", scope = "org_id", table = "gadgets")]
    pub struct NotesGone {
        #[tenant_store(id)]
        pub id: Uuid,
        pub org_id: Uuid,
        #[tenant_store(filter)]
        pub name: String,
        pub count: i32,
    }
    /// v1 with a new required field and no default.
    #[tenant_store(backend = "postgres", scope = "org_id", table = "gadgets")]
    pub struct RequiredWithoutDefault {
        #[tenant_store(id)]
        pub id: Uuid,
        pub org_id: Uuid,
        #[tenant_store(filter)]
        pub name: String,
        pub count: i32,
        pub notes: String,
        pub weight: i32,
    }
    /// v1 with `notes` changed from text to uuid.
    #[tenant_store(backend = "postgres", scope = "org_id", table = "gadgets")]
    pub struct NotesToUuid {
        #[tenant_store(id)]
        pub id: Uuid,
        pub org_id: Uuid,
        #[tenant_store(filter)]
        pub name: String,
        pub count: i32,
        pub notes: Uuid,
    }
}

fn v6_entities() -> Entities {
    Entities::new()
        .entity::<v6::Gadget>()
        .drop_table("public", "shelves")
}

/// A database of its own and a migrations folder of its own, dropped on
/// [`Scratch::drop_database`].
struct Scratch {
    db: ScratchDb,
    dir: PathBuf,
}

impl Scratch {
    async fn new() -> Self {
        let db = ScratchDb::new("ts_evolve").await;
        let dir = std::env::temp_dir().join(&db.name);
        std::fs::create_dir_all(&dir).unwrap();
        Self { db, dir }
    }

    fn owner_url(&self) -> String {
        self.db.owner_url()
    }

    fn app_url(&self) -> String {
        self.db.app_url()
    }

    /// Generates, checks that only new files appeared (every earlier file byte for byte as it
    /// was), applies with sqlx's migrator, and returns the new files' names.
    async fn step(&self, entities: &Entities) -> Vec<String> {
        self.step_with(entities, evolve::generate).await
    }

    /// [`Scratch::step`] with the contract step first ([`evolve::generate_contract`]).
    async fn step_contract(&self, entities: &Entities) -> Vec<String> {
        self.step_with(entities, evolve::generate_contract).await
    }

    async fn step_with(
        &self,
        entities: &Entities,
        generate: fn(&Path, &Entities) -> Result<evolve::Plan, evolve::Refused>,
    ) -> Vec<String> {
        let before = folder_files(&self.dir);
        let plan = generate(&self.dir, entities).unwrap_or_else(|e| panic!("{e}"));
        let after = folder_files(&self.dir);
        for (name, text) in &before {
            if name != evolve::SNAPSHOT_FILE {
                assert_eq!(after.get(name), Some(text), "{name} was rewritten");
            }
        }
        let mut new: Vec<String> = after
            .keys()
            .filter(|n| !before.contains_key(*n) && n.ends_with(".sql"))
            .cloned()
            .collect();
        new.sort();
        let planned: Vec<String> = plan.files.iter().map(|f| f.file_name.clone()).collect();
        assert_eq!(new, planned);
        evolve::check(&self.dir, entities, "generate").unwrap_or_else(|e| panic!("{e}"));

        apply_folder(&self.owner_url(), &self.dir).await;
        install_key(&self.owner_url()).await;
        new
    }

    /// The application's audited connection (the start-up audit runs here).
    async fn db(&self) -> Db {
        Db::connect_with(
            &self.app_url(),
            key(),
            DbOptions::default().max_connections(2),
        )
        .await
        .unwrap_or_else(|e| panic!("the start-up audit or the connection failed: {e}"))
    }

    async fn drop_database(self) {
        self.db.drop().await;
        std::fs::remove_dir_all(&self.dir).unwrap();
    }
}

/// A row as every version can state it: id, name (or title), count.
type Seen = (Uuid, String, i64);

/// What each tenant wrote so far.
#[derive(Default)]
struct Expected(BTreeMap<Uuid, Vec<Seen>>);

impl Expected {
    fn add(&mut self, who: &Principal, row: Seen) {
        self.0.entry(who.org_id()).or_default().push(row);
    }

    /// Asserts each tenant's list is exactly its own rows, and that neither tenant can fetch a
    /// row of the other by id.
    async fn verify<F, G>(&self, db: &Db, who: [&Principal; 2], list: F, get: G)
    where
        F: AsyncFn(&mut tenant_store::postgres::TenantTx<'_>) -> Vec<Seen>,
        G: AsyncFn(&mut tenant_store::postgres::TenantTx<'_>, Uuid) -> bool,
    {
        for (me, other) in [(who[0], who[1]), (who[1], who[0])] {
            let mut seen = list(&mut db.begin(me).await.unwrap()).await;
            seen.sort();
            let mut want = self.0.get(&me.org_id()).cloned().unwrap_or_default();
            want.sort();
            assert_eq!(seen, want, "tenant {} sees exactly its rows", me.org_id());
            let mut tx = db.begin(me).await.unwrap();
            for (id, ..) in self.0.get(&other.org_id()).into_iter().flatten() {
                assert!(!get(&mut tx, *id).await, "{id} of another tenant is absent");
            }
        }
    }
}

macro_rules! list_of {
    ($entity:ty, $name:ident) => {
        async |tx: &mut tenant_store::postgres::TenantTx<'_>| {
            let rows = <$entity>::store()
                .list(tx, Default::default(), Page::first(100))
                .await
                .unwrap()
                .items;
            rows.into_iter()
                .map(|g| (g.id, g.$name, i64::from(g.count)))
                .collect::<Vec<Seen>>()
        }
    };
}

macro_rules! get_of {
    ($entity:ty) => {
        async |tx: &mut tenant_store::postgres::TenantTx<'_>, id: Uuid| {
            <$entity>::store().get(tx, id).await.unwrap().is_some()
        }
    };
}

#[tokio::test]
async fn one_entity_through_six_versions_keeps_every_row_of_both_tenants() {
    let scratch = Scratch::new().await;
    let (a, b) = (tenant(), tenant());
    let mut expected = Expected::default();

    // v1: the first deploy.
    let v1 = Entities::new().entity::<v1::Gadget>();
    let new = scratch.step(&v1).await;
    assert_eq!(
        new,
        ["0001_tenant_store_base.sql", "0002_create_gadgets.sql"]
    );
    // A migration the user writes by hand, beside the generated ones.
    let mine = scratch.dir.join("0003_hand_written.sql");
    let mine_sql = "CREATE TABLE public.hand_written (note text);\n";
    std::fs::write(&mine, mine_sql).unwrap();
    scratch.step(&v1).await;
    let db = scratch.db().await;
    for (who, n) in [(&a, 1), (&b, 2)] {
        let mut tx = db.begin(who).await.unwrap();
        let g = v1::Gadget::store()
            .create(
                &mut tx,
                v1::NewGadget {
                    id: None,
                    name: format!("v1-{n}"),
                    count: n,
                    notes: "first".into(),
                },
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        expected.add(who, (g.id, g.name, i64::from(n)));
    }
    expected
        .verify(
            &db,
            [&a, &b],
            list_of!(v1::Gadget, name),
            get_of!(v1::Gadget),
        )
        .await;
    drop(db);

    // v2: a nullable field, a field with a default, a new entity.
    let v2 = Entities::new().entity::<v2::Gadget>().entity::<Shelf>();
    let new = scratch.step(&v2).await;
    assert_eq!(new, ["0004_create_shelves.sql", "0005_alter_gadgets.sql"]);
    let db = scratch.db().await;
    for (who, n) in [(&a, 3), (&b, 4)] {
        let mut tx = db.begin(who).await.unwrap();
        // Rows from v1 got the default.
        let old = v2::Gadget::store()
            .list(&mut tx, Default::default(), Page::first(10))
            .await
            .unwrap()
            .items;
        assert!(old.iter().all(|g| g.priority == 0 && g.color.is_none()));
        let g = v2::Gadget::store()
            .create(
                &mut tx,
                v2::NewGadget {
                    id: None,
                    name: format!("v2-{n}"),
                    count: n,
                    notes: "second".into(),
                    color: Some("red".into()),
                    priority: 5,
                },
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        expected.add(who, (g.id, g.name, i64::from(n)));
    }
    expected
        .verify(
            &db,
            [&a, &b],
            list_of!(v2::Gadget, name),
            get_of!(v2::Gadget),
        )
        .await;
    drop(db);

    // v3: `name` renamed to `title` (values copied, a trigger keeps `name` equal to it for
    // the release before), `count` widened to bigint.
    let v3 = Entities::new().entity::<v3::Gadget>().entity::<Shelf>();
    assert_eq!(
        scratch.step(&v3).await,
        [
            "0006_alter_gadgets.sql",
            "0007_index_gadgets_org_id_title_idx.sql"
        ]
    );
    let db = scratch.db().await;
    for (who, n) in [(&a, 5), (&b, 6)] {
        let mut tx = db.begin(who).await.unwrap();
        let g = v3::Gadget::store()
            .create(
                &mut tx,
                v3::NewGadget {
                    id: None,
                    title: format!("v3-{n}"),
                    count: 5_000_000_000 + n,
                    notes: "third".into(),
                    color: None,
                    priority: 1,
                },
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        expected.add(who, (g.id, g.title, 5_000_000_000 + n));
    }
    expected
        .verify(
            &db,
            [&a, &b],
            list_of!(v3::Gadget, title),
            get_of!(v3::Gadget),
        )
        .await;
    // The renamed filter still filters, through its renamed index.
    let mut tx = db.begin(&a).await.unwrap();
    let found = v3::Gadget::store()
        .list(
            &mut tx,
            v3::GadgetFilter::new().title("v1-1".to_owned()),
            Page::first(10),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(found.len(), 1);
    drop(tx);
    drop(db);

    // v4, after v2 stopped: the contract drops `name`; `notes` retired (opted in), `color`
    // filtered, `title` unique, `shelf` referenced.
    let v4 = Entities::new().entity::<v4::Gadget>().entity::<Shelf>();
    assert_eq!(
        scratch.step_contract(&v4).await,
        [
            "0008_contract_gadgets.sql",
            "0009_alter_gadgets.sql",
            "0010_index_gadgets_org_id_color_idx.sql",
            "0011_index_gadgets_org_id_shelf_idx.sql",
            "0012_index_gadgets_org_id_title_key.sql",
            "0013_constrain_gadgets.sql",
        ]
    );
    let index =
        std::fs::read_to_string(scratch.dir.join("0010_index_gadgets_org_id_color_idx.sql"))
            .unwrap();
    assert!(index.starts_with("-- no-transaction\n"), "{index}");
    assert!(index.contains("CREATE INDEX CONCURRENTLY"), "{index}");
    let db = scratch.db().await;
    let mut shelves = BTreeMap::new();
    for (who, n) in [(&a, 7), (&b, 8)] {
        let mut tx = db.begin(who).await.unwrap();
        let shelf = Shelf::store()
            .create(
                &mut tx,
                NewShelf {
                    id: None,
                    label: format!("shelf of {n}"),
                },
            )
            .await
            .unwrap();
        shelves.insert(who.org_id(), shelf.id);
        let g = v4::Gadget::store()
            .create(
                &mut tx,
                v4::NewGadget {
                    id: None,
                    title: format!("v4-{n}"),
                    count: n,
                    color: Some("blue".into()),
                    priority: 2,
                    shelf: Some(shelf.id),
                },
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        expected.add(who, (g.id, g.title, n));
    }
    expected
        .verify(
            &db,
            [&a, &b],
            list_of!(v4::Gadget, title),
            get_of!(v4::Gadget),
        )
        .await;
    // The new unique key holds, per tenant.
    let mut tx = db.begin(&a).await.unwrap();
    let dup = v4::Gadget::store()
        .create(
            &mut tx,
            v4::NewGadget {
                id: None,
                title: "v4-7".into(),
                count: 0,
                color: None,
                priority: 0,
                shelf: None,
            },
        )
        .await;
    assert!(dup.is_err(), "a second `v4-7` in one tenant is refused");
    drop(tx);
    // The new reference stays inside the tenant: A cannot point at B's shelf.
    let mut tx = db.begin(&a).await.unwrap();
    let cross = v4::Gadget::store()
        .create(
            &mut tx,
            v4::NewGadget {
                id: None,
                title: "cross".into(),
                count: 0,
                color: None,
                priority: 0,
                shelf: Some(shelves[&b.org_id()]),
            },
        )
        .await;
    assert!(
        cross.is_err(),
        "a reference to another tenant's shelf is refused"
    );
    drop(tx);
    drop(db);

    // v5, after v3 stopped: the contract drops `notes`; the title's filter, the unique key and
    // the reference removed.
    let v5 = Entities::new().entity::<v5::Gadget>().entity::<Shelf>();
    assert_eq!(
        scratch.step_contract(&v5).await,
        [
            "0014_contract_gadgets.sql",
            "0015_alter_gadgets.sql",
            "0016_drop_index_gadgets_org_id_title_idx.sql",
            "0017_drop_index_gadgets_org_id_shelf_idx.sql",
        ]
    );
    let db = scratch.db().await;
    let mut tx = db.begin(&a).await.unwrap();
    let again = v5::Gadget::store()
        .create(
            &mut tx,
            v5::NewGadget {
                id: None,
                title: "v4-7".into(),
                count: 9,
                color: None,
                priority: 0,
                shelf: Some(Uuid::new_v4()),
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    expected.add(&a, (again.id, again.title, 9));
    expected
        .verify(
            &db,
            [&a, &b],
            list_of!(v5::Gadget, title),
            get_of!(v5::Gadget),
        )
        .await;
    drop(db);

    // v6: `color` required (NULLs become the default), `Shelf` dropped with the opt-in.
    assert_eq!(
        scratch.step(&v6_entities()).await,
        ["0018_alter_gadgets.sql", "0019_drop_shelves.sql"]
    );
    let db = scratch.db().await;
    for who in [&a, &b] {
        let mut tx = db.begin(who).await.unwrap();
        let rows = v6::Gadget::store()
            .list(&mut tx, Default::default(), Page::first(100))
            .await
            .unwrap()
            .items;
        assert!(rows.iter().any(|g| g.color == "unpainted"));
        assert!(rows.iter().any(|g| g.color == "blue"));
    }
    expected
        .verify(
            &db,
            [&a, &b],
            list_of!(v6::Gadget, title),
            get_of!(v6::Gadget),
        )
        .await;
    drop(db);

    assert_eq!(std::fs::read_to_string(&mine).unwrap(), mine_sql);
    // Every file the six versions generated, for review: a change to what the generator writes
    // shows in this snapshot's diff.
    let all: String = folder_files(&scratch.dir)
        .into_iter()
        .filter(|(name, _)| name.ends_with(".sql") && name != "0001_tenant_store_base.sql")
        .map(|(name, text)| format!("==> {name}\n{}", String::from_utf8(text).unwrap()))
        .collect();
    insta::assert_snapshot!("six_versions", all);
    scratch.drop_database().await;
}

/// A folder generated for v1, to refuse changes against.
fn v1_folder() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tenant-store-refusals-{}", Uuid::new_v4()));
    evolve::generate(
        &dir,
        &Entities::new().entity::<v1::Gadget>().entity::<Shelf>(),
    )
    .unwrap();
    dir
}

fn refusal(dir: &Path, entities: &Entities) -> String {
    let before = folder_files(dir);
    let err = evolve::generate(dir, entities)
        .expect_err("the generator refuses")
        .to_string();
    assert_eq!(folder_files(dir), before, "a refused plan writes nothing");
    err
}

#[test]
fn a_removed_field_without_the_opt_in_is_refused_with_the_way_forward() {
    let dir = v1_folder();
    let err = refusal(
        &dir,
        &Entities::new()
            .entity::<refused::NotesGone>()
            .entity::<Shelf>(),
    );
    assert!(err.contains("column `notes` of public.gadgets"), "{err}");
    assert!(err.contains("add `drop_column = \"notes\"`"), "{err}");
    assert!(err.contains("renamed_from = \"notes\""), "{err}");
}

#[test]
fn a_removed_entity_without_the_opt_in_is_refused_with_the_way_forward() {
    let dir = v1_folder();
    let err = refusal(&dir, &Entities::new().entity::<v1::Gadget>());
    assert!(
        err.contains("tenant_store::postgres::drop_table!(\"public\", \"shelves\");"),
        "{err}"
    );
}

#[test]
fn a_new_required_field_without_a_default_is_refused() {
    let dir = v1_folder();
    let err = refusal(
        &dir,
        &Entities::new()
            .entity::<refused::RequiredWithoutDefault>()
            .entity::<Shelf>(),
    );
    assert!(
        err.contains("`RequiredWithoutDefault.weight` is new and required"),
        "{err}"
    );
    assert!(err.contains("default = \"...\""), "{err}");
}

#[test]
fn a_type_postgresql_cannot_convert_is_refused() {
    let dir = v1_folder();
    let err = refusal(
        &dir,
        &Entities::new()
            .entity::<refused::NotesToUuid>()
            .entity::<Shelf>(),
    );
    assert!(
        err.contains("changed from `text` to `uuid`, and PostgreSQL cannot convert"),
        "{err}"
    );
}

#[tokio::test]
async fn a_changed_policy_reaches_a_database_that_has_the_old_one() {
    let scratch = Scratch::new().await;
    let v1 = Entities::new().entity::<v1::Gadget>();
    scratch.step(&v1).await;
    // What an older tenant-store made: a weaker policy and another context check, applied and
    // recorded in its snapshot.
    let owner = raw_pool(&scratch.owner_url(), 1).await;
    sqlx::raw_sql(
        "ALTER POLICY tenant_isolation ON public.gadgets USING (true) WITH CHECK (true);
         SET ROLE tenant_store_definer;
         CREATE OR REPLACE FUNCTION tenant_store_private.current_tenant(scope text) RETURNS uuid
             LANGUAGE sql STABLE AS $$ SELECT NULL::uuid $$;
         RESET ROLE;",
    )
    .execute(&owner)
    .await
    .unwrap();
    owner.close().await;
    let path = scratch.dir.join(evolve::SNAPSHOT_FILE);
    let mut snapshot: evolve::Snapshot =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    snapshot.tables.get_mut("public.gadgets").unwrap().policy = "(true)".into();
    snapshot
        .functions
        .insert("current_tenant".into(), "an older definition".into());
    std::fs::write(&path, snapshot.to_json()).unwrap();
    // The audit refuses the old database.
    let refused = Db::connect_with(&scratch.app_url(), key(), DbOptions::default())
        .await
        .expect_err("the audit refuses the old policy");
    assert!(refused.to_string().contains("gadgets"), "{refused}");

    let new = scratch.step(&v1).await;
    assert_eq!(
        new,
        ["0003_tenant_store_functions.sql", "0004_alter_gadgets.sql"]
    );
    let alter = std::fs::read_to_string(scratch.dir.join("0004_alter_gadgets.sql")).unwrap();
    assert!(alter.contains("ALTER POLICY tenant_isolation"), "{alter}");

    let db = scratch.db().await;
    let (a, b) = (tenant(), tenant());
    let mut expected = Expected::default();
    for who in [&a, &b] {
        let mut tx = db.begin(who).await.unwrap();
        let g = v1::Gadget::store()
            .create(
                &mut tx,
                v1::NewGadget {
                    id: None,
                    name: "after".into(),
                    count: 1,
                    notes: String::new(),
                },
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        expected.add(who, (g.id, g.name, 1));
    }
    expected
        .verify(
            &db,
            [&a, &b],
            list_of!(v1::Gadget, name),
            get_of!(v1::Gadget),
        )
        .await;
    drop(db);
    scratch.drop_database().await;
}

/// The command an application builds from `tenant_store::cli::run`: `generate`, `check`,
/// `apply` (as the owner only) and `status`, with their exit codes.
#[test]
fn the_migration_command_generates_checks_applies_and_reports() {
    use std::process::ExitCode;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let scratch = rt.block_on(Scratch::new());
    let migrations =
        tenant_store::cli::Migrations::postgres(Entities::new().entity::<v1::Gadget>());
    let dir = scratch.dir.to_str().unwrap().to_owned();
    let run = |args: &[&str]| {
        let argv = ["migrations", "--dir", &dir]
            .into_iter()
            .chain(args.iter().copied());
        tenant_store::cli::run(argv.map(str::to_owned).collect::<Vec<_>>(), &migrations)
    };
    let applied = |url: String| {
        rt.block_on(async {
            let pool = raw_pool(&url, 1).await;
            let exists: bool =
                sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            let n: i64 = match exists {
                false => -1,
                true => sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
                    .fetch_one(&pool)
                    .await
                    .unwrap(),
            };
            pool.close().await;
            n
        })
    };

    assert_eq!(run(&["check"]), ExitCode::FAILURE, "no snapshot yet");
    assert_eq!(run(&["generate"]), ExitCode::SUCCESS);
    assert_eq!(run(&["check"]), ExitCode::SUCCESS);
    // The application role may not migrate: refused before anything runs.
    assert_eq!(
        run(&["apply", "--database-url", &scratch.app_url()]),
        ExitCode::FAILURE
    );
    assert_eq!(applied(scratch.owner_url()), -1);
    assert_eq!(
        run(&["apply", "--database-url", &scratch.owner_url()]),
        ExitCode::SUCCESS
    );
    assert_eq!(applied(scratch.owner_url()), 2);
    assert_eq!(
        run(&["status", "--database-url", &scratch.owner_url()]),
        ExitCode::SUCCESS
    );
    // A rename keeps the old column for the release before, until `generate --contract`.
    let renamed = tenant_store::cli::Migrations::postgres(Entities::new().entity::<v3::Gadget>());
    let run_renamed = |args: &[&str]| {
        let argv = ["migrations", "--dir", &dir]
            .into_iter()
            .chain(args.iter().copied());
        tenant_store::cli::run(argv.map(str::to_owned).collect::<Vec<_>>(), &renamed)
    };
    assert_eq!(run_renamed(&["generate"]), ExitCode::SUCCESS);
    assert_eq!(
        evolve::waiting_for_contract(&scratch.dir).unwrap(),
        ["public.gadgets.name (renamed to title)"]
    );
    assert_eq!(run_renamed(&["generate", "--contract"]), ExitCode::SUCCESS);
    assert!(
        evolve::waiting_for_contract(&scratch.dir)
            .unwrap()
            .is_empty()
    );
    let contract = folder_files(&scratch.dir)
        .into_iter()
        .find(|(name, _)| name.ends_with("_contract_gadgets.sql"))
        .map(|(_, sql)| String::from_utf8(sql).unwrap())
        .expect("a contract file");
    assert!(
        contract.contains("DROP COLUMN IF EXISTS \"name\""),
        "{contract}"
    );
    // An applied file edited afterwards: status and check both fail.
    let create = scratch.dir.join("0002_create_gadgets.sql");
    let mut text = std::fs::read_to_string(&create).unwrap();
    text.push_str("-- edited\n");
    std::fs::write(&create, text).unwrap();
    assert_eq!(
        run(&["status", "--database-url", &scratch.owner_url()]),
        ExitCode::FAILURE
    );
    assert_eq!(run_renamed(&["check"]), ExitCode::FAILURE);
    assert_eq!(run(&["bogus"]), ExitCode::from(2));
    rt.block_on(scratch.drop_database());
}

/// The versions of a Neo4j label: an index added, an index removed, the label removed.
mod graph {
    use serde::{Deserialize, Serialize};
    use tenant_store::tenant_store;
    use uuid::Uuid;

    pub mod g1 {
        use super::*;
        #[tenant_store(backend = "neo4j", scope = "org_id", label = "EVOLVING_PART")]
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct Part {
            #[tenant_store(id)]
            pub id: String,
            pub org_id: Uuid,
            #[tenant_store(indexed)]
            pub name: String,
            pub kind: String,
        }
    }

    /// `kind` indexed, and a new field (nodes written before read with its default).
    pub mod g2 {
        use super::*;
        #[tenant_store(backend = "neo4j", scope = "org_id", label = "EVOLVING_PART")]
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct Part {
            #[tenant_store(id)]
            pub id: String,
            pub org_id: Uuid,
            #[tenant_store(indexed)]
            pub name: String,
            #[tenant_store(indexed)]
            pub kind: String,
            #[serde(default)]
            pub size: Option<i64>,
        }
    }

    /// `name` no longer indexed.
    pub mod g3 {
        use super::*;
        #[tenant_store(backend = "neo4j", scope = "org_id", label = "EVOLVING_PART")]
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct Part {
            #[tenant_store(id)]
            pub id: String,
            pub org_id: Uuid,
            pub name: String,
            #[tenant_store(indexed)]
            pub kind: String,
            #[serde(default)]
            pub size: Option<i64>,
        }
    }
}

#[tokio::test]
async fn a_neo4j_label_evolves_with_new_files_only_and_keeps_both_tenants_apart() {
    use graph::g2::PartStoreExt as _;
    use tenant_store::neo4j::evolve::{self as neo, Entities as Labels};
    let dir = std::env::temp_dir().join(format!("tenant-store-neo4j-{}", Uuid::new_v4()));
    let g = tenant_store_tests::graph().await;
    let (a, b) = (tenant(), tenant());
    let step = |labels: Labels| {
        let dir = dir.clone();
        let g = &g;
        async move {
            let before = if dir.exists() {
                folder_files(&dir)
            } else {
                BTreeMap::new()
            };
            let plan = neo::generate(&dir, &labels).unwrap_or_else(|e| panic!("{e}"));
            for (name, text) in &before {
                if name != evolve::SNAPSHOT_FILE {
                    assert_eq!(
                        folder_files(&dir).get(name),
                        Some(text),
                        "{name} was rewritten"
                    );
                }
            }
            neo::check(&dir, &labels, "generate").unwrap_or_else(|e| panic!("{e}"));
            g.apply_migrations(&dir).await.unwrap();
            plan.files
                .into_iter()
                .map(|f| (f.file_name, f.sql))
                .collect::<Vec<_>>()
        }
    };

    let new = step(Labels::new().entity::<graph::g1::Part>()).await;
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].0, "0001_evolving_part.cypher");
    // A file of the user's beside them: kept, and not run (it is not a schema statement).
    let mine = dir.join("0002_by_hand.cypher");
    std::fs::write(&mine, "MATCH (n) DETACH DELETE n;\n").unwrap();
    for (who, n) in [(&a, "a"), (&b, "b")] {
        graph::g1::Part::store()
            .create(
                &g.scoped(who),
                graph::g1::NewPart {
                    id: Some(format!("p-{n}")),
                    name: format!("part {n}"),
                    kind: "bolt".into(),
                },
            )
            .await
            .unwrap();
    }

    let new = step(Labels::new().entity::<graph::g2::Part>()).await;
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].0, "0003_evolving_part.cypher");
    assert_eq!(
        new[0].1.lines().skip(1).collect::<Vec<_>>(),
        [
            "CREATE INDEX evolving_part_org_id_kind IF NOT EXISTS FOR (n:EVOLVING_PART) ON (n.org_id, n.kind);"
        ]
    );
    for (me, n, theirs) in [(&a, "a", "p-b"), (&b, "b", "p-a")] {
        let scoped = g.scoped(me);
        let found = graph::g2::Part::store()
            .find_by_kind(&scoped, "bolt".into())
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "only the tenant's own node");
        assert_eq!(found[0].name, format!("part {n}"));
        assert_eq!(
            found[0].size, None,
            "a node from before reads with the default"
        );
        let theirs = theirs.to_owned();
        assert!(
            graph::g2::Part::store()
                .get(&scoped, &theirs)
                .await
                .unwrap()
                .is_none()
        );
    }

    let new = step(Labels::new().entity::<graph::g3::Part>()).await;
    assert_eq!(
        new[0].1.lines().skip(1).collect::<Vec<_>>(),
        ["DROP INDEX evolving_part_org_id_name IF EXISTS;"]
    );
    let new = step(Labels::new()).await;
    assert_eq!(new[0].0, "0005_drop_evolving_part.cypher");
    // Dropping the schema loses no data: the nodes are still there, each in its tenant.
    for (who, n) in [(&a, "a"), (&b, "b")] {
        let got = graph::g3::Part::store()
            .get(&g.scoped(who), &format!("p-{n}"))
            .await
            .unwrap();
        assert_eq!(got.map(|p| p.name), Some(format!("part {n}")));
    }
    assert_eq!(
        std::fs::read_to_string(&mine).unwrap(),
        "MATCH (n) DETACH DELETE n;\n"
    );
    for who in [&a, &b] {
        graph::g3::Part::store()
            .delete_tenant(&g.scoped(who))
            .await
            .unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The versions of an OpenSearch entity: a field added, then two fields whose mapped type
/// changes (integer to double, keyword to text).
mod search {
    use serde::{Deserialize, Serialize};
    use tenant_store::tenant_store;
    use uuid::Uuid;

    pub mod o1 {
        use super::*;
        #[tenant_store(backend = "opensearch", scope = "org_id", index = "evolving_notes")]
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct Note {
            #[tenant_store(id)]
            pub id: String,
            pub org_id: Uuid,
            #[tenant_store(text)]
            pub title: String,
            pub rank: String,
            pub score: i32,
        }
    }

    pub mod o2 {
        use super::*;
        #[tenant_store(backend = "opensearch", scope = "org_id", index = "evolving_notes")]
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct Note {
            #[tenant_store(id)]
            pub id: String,
            pub org_id: Uuid,
            #[tenant_store(text)]
            pub title: String,
            pub rank: String,
            pub score: i32,
            #[serde(default)]
            pub stars: Option<i64>,
        }
    }

    pub mod o3 {
        use super::*;
        #[tenant_store(backend = "opensearch", scope = "org_id", index = "evolving_notes")]
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct Note {
            #[tenant_store(id)]
            pub id: String,
            pub org_id: Uuid,
            #[tenant_store(text)]
            pub title: String,
            #[tenant_store(text)]
            pub rank: String,
            pub score: f64,
            #[serde(default)]
            pub stars: Option<i64>,
        }
    }
}

#[tokio::test]
async fn an_opensearch_mapping_evolves_while_a_searcher_always_sees_every_document() {
    use search::{o1, o2, o3};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use tenant_store::Error;
    use tenant_store::opensearch::evolve::IndexChange;
    use tenant_store_tests::{http_json, opensearch_url, search_client};

    // A clean slate: the index and what earlier runs left.
    let cat = http_json(
        "GET",
        &format!("{}/_cat/indices?format=json", opensearch_url()),
        None,
    );
    for i in cat.as_array().into_iter().flatten() {
        let name = i["index"].as_str().unwrap_or_default();
        if name.starts_with("evolving_notes") {
            http_json("DELETE", &format!("{}/{name}", opensearch_url()), None);
        }
    }
    let client = search_client().await;
    let (a, b) = (tenant(), tenant());
    assert_eq!(
        o1::Note::store()
            .evolve_index(&client)
            .await
            .unwrap()
            .shared,
        IndexChange::Created
    );
    for (who, n) in [(&a, 0), (&b, 10)] {
        let scoped = client.scoped(who);
        o1::Note::store()
            .create_tenant_alias(&scoped)
            .await
            .unwrap();
        for i in n..n + 3 {
            o1::Note::store()
                .create(
                    &scoped,
                    o1::NewNote {
                        id: Some(format!("n{i}")),
                        title: format!("note {i}"),
                        rank: format!("{i}"),
                        score: i,
                    },
                )
                .await
                .unwrap();
        }
    }

    // v2: a new field, added to the mapping in place.
    let evolution = o2::Note::store().evolve_index(&client).await.unwrap();
    assert_eq!(
        evolution.shared,
        IndexChange::Extended(vec!["stars".into()])
    );
    let hits = o2::Note::store()
        .search(&client.scoped(&a), "", 100, None)
        .await
        .unwrap()
        .hits;
    assert_eq!(hits.len(), 3);
    assert!(
        hits.iter().all(|h| h.stars.is_none()),
        "older documents read with the default"
    );
    // B moves to a dedicated index: it is rebuilt too when the types change.
    o2::Note::store()
        .promote_tenant(&client.scoped(&b))
        .await
        .unwrap();

    // v3: two types change. A searcher of A runs throughout and never sees fewer than A's
    // three documents; a writer of A retries what the rebuild refuses, and loses nothing.
    let stop = Arc::new(AtomicBool::new(false));
    let searches = Arc::new(AtomicUsize::new(0));
    let searcher = tokio::spawn({
        let (client, a, stop, searches) =
            (client.clone(), a.clone(), stop.clone(), searches.clone());
        async move {
            while !stop.load(Ordering::SeqCst) {
                let page = o2::Note::store()
                    .search(&client.scoped(&a), "", 100, None)
                    .await;
                let n = match page {
                    Ok(p) => p.hits.len(),
                    Err(e) => panic!("a search failed during the rebuild: {e}"),
                };
                assert!(n >= 3, "the searcher saw {n} documents");
                searches.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    let writer = tokio::spawn({
        let (client, a, stop) = (client.clone(), a.clone(), stop.clone());
        async move {
            let (mut written, mut refused) = (Vec::new(), 0);
            let mut i = 100;
            while !stop.load(Ordering::SeqCst) {
                let new = o2::NewNote {
                    id: Some(format!("w{i}")),
                    title: "written during the rebuild".into(),
                    rank: "1".into(),
                    score: 1,
                    stars: None,
                };
                match o2::Note::store().create(&client.scoped(&a), new).await {
                    Ok(_) => {
                        written.push(format!("w{i}"));
                        i += 1;
                    }
                    Err(Error::Unavailable(_)) => refused += 1,
                    Err(e) => panic!("a write failed otherwise than retryably: {e}"),
                }
            }
            (written, refused)
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let evolution = o3::Note::store().evolve_index(&client).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    stop.store(true, Ordering::SeqCst);
    searcher.await.unwrap();
    let (written, refused) = writer.await.unwrap();
    assert!(searches.load(Ordering::SeqCst) > 0);
    assert!(!written.is_empty());
    assert!(
        matches!(&evolution.shared, IndexChange::Reindexed { index, .. } if index == "evolving_notes.v2"),
        "{evolution:?}"
    );
    assert_eq!(evolution.dedicated.len(), 1, "{evolution:?}");
    assert!(matches!(
        evolution.dedicated[0].1,
        IndexChange::Reindexed { .. }
    ));
    eprintln!("writes refused (and retried) during the rebuild: {refused}");

    // Every document of both tenants is there, under the new mapping, and only its tenant's.
    for (me, own, theirs) in [(&a, "n0", "n10"), (&b, "n10", "n0")] {
        let scoped = client.scoped(me);
        let hits = o3::Note::store()
            .search(&scoped, "", 1000, None)
            .await
            .unwrap()
            .hits;
        assert!(hits.iter().all(|h| h.org_id == me.org_id()));
        assert!(hits.iter().any(|h| h.id == own));
        assert!(
            o3::Note::store()
                .get(&scoped, &theirs.to_owned())
                .await
                .unwrap()
                .is_none()
        );
    }
    let a_hits = o3::Note::store()
        .search(&client.scoped(&a), "", 1000, None)
        .await
        .unwrap()
        .hits;
    assert_eq!(
        a_hits.len(),
        3 + written.len(),
        "nothing written during the rebuild is lost"
    );
    // `rank` is full text now: a word of it matches.
    o3::Note::store()
        .create(
            &client.scoped(&a),
            o3::NewNote {
                id: Some("t1".into()),
                title: "x".into(),
                rank: "very high".into(),
                score: 0.5,
                stars: Some(4),
            },
        )
        .await
        .unwrap();
    let found = o3::Note::store()
        .search(&client.scoped(&a), "high", 10, None)
        .await
        .unwrap()
        .hits;
    assert_eq!(
        found.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(),
        ["t1"]
    );
    for who in [&a, &b] {
        o3::Note::store()
            .delete_tenant(&client.scoped(who))
            .await
            .unwrap();
    }
}

/// The versions of a Qdrant entity: filterable fields added, then one whose type changes.
mod vectors {
    use serde::{Deserialize, Serialize};
    use tenant_store::tenant_store;
    use uuid::Uuid;

    pub mod q1 {
        use super::*;
        #[tenant_store(backend = "qdrant", scope = "org_id", model = "evolving", dims = 4)]
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct Chunk {
            #[tenant_store(id)]
            pub id: Uuid,
            pub org_id: Uuid,
            pub source: String,
        }
    }

    /// `source` filterable, and a new filterable field (points from before read it as `None`).
    pub mod q2 {
        use super::*;
        #[tenant_store(backend = "qdrant", scope = "org_id", model = "evolving", dims = 4)]
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct Chunk {
            #[tenant_store(id)]
            pub id: Uuid,
            pub org_id: Uuid,
            #[tenant_store(filter)]
            pub source: String,
            #[tenant_store(filter)]
            #[serde(default)]
            pub year: Option<i64>,
        }
    }

    /// `year` becomes a float: its index is rebuilt.
    pub mod q3 {
        use super::*;
        #[tenant_store(backend = "qdrant", scope = "org_id", model = "evolving", dims = 4)]
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct Chunk {
            #[tenant_store(id)]
            pub id: Uuid,
            pub org_id: Uuid,
            #[tenant_store(filter)]
            pub source: String,
            #[tenant_store(filter)]
            #[serde(default)]
            pub year: Option<f64>,
        }
    }
}

#[tokio::test]
async fn qdrant_payload_indexes_follow_the_filter_fields() {
    use qdrant_client::qdrant::PayloadSchemaType;
    use tenant_store::qdrant::{Condition, Filter};
    use vectors::{q1, q2, q3};
    let raw = qdrant_client::Qdrant::from_url(&tenant_store_tests::qdrant_url())
        .skip_compatibility_check()
        .build()
        .unwrap();
    if raw.collection_exists("embeddings_evolving").await.unwrap() {
        raw.delete_collection("embeddings_evolving").await.unwrap();
    }
    let schema = async || {
        let info = raw
            .collection_info("embeddings_evolving")
            .await
            .unwrap()
            .result
            .unwrap();
        let mut out: Vec<(String, i32)> = info
            .payload_schema
            .into_iter()
            .map(|(k, v)| (k, v.data_type))
            .collect();
        out.sort();
        out
    };
    let client = tenant_store_tests::qdrant_client().await;
    let (a, b) = (tenant(), tenant());
    q1::Chunk::store().ensure_collection(&client).await.unwrap();
    let v = [1.0, 0.0, 0.0, 0.0];
    for (who, src) in [(&a, "a"), (&b, "b")] {
        q1::Chunk::store()
            .upsert(
                &client.scoped(who),
                q1::NewChunk {
                    id: None,
                    source: src.into(),
                },
                &v,
            )
            .await
            .unwrap();
    }
    let keyword = PayloadSchemaType::Keyword as i32;
    assert!(!schema().await.iter().any(|(k, _)| k == "source"));

    q2::Chunk::store().ensure_collection(&client).await.unwrap();
    let now = schema().await;
    assert!(now.contains(&("source".into(), keyword)), "{now:?}");
    assert!(
        now.contains(&("year".into(), PayloadSchemaType::Integer as i32)),
        "{now:?}"
    );
    for (who, src) in [(&a, "a"), (&b, "b")] {
        q2::Chunk::store()
            .upsert(
                &client.scoped(who),
                q2::NewChunk {
                    id: None,
                    source: src.into(),
                    year: Some(2026),
                },
                &v,
            )
            .await
            .unwrap();
    }

    q3::Chunk::store().ensure_collection(&client).await.unwrap();
    let now = schema().await;
    assert!(
        now.contains(&("year".into(), PayloadSchemaType::Float as i32)),
        "{now:?}"
    );
    // Both tenants' points, old and new, are there; a filter on an indexed field narrows
    // within the tenant and never reaches the other one.
    for (me, mine, theirs) in [(&a, "a", "b"), (&b, "b", "a")] {
        let scoped = client.scoped(me);
        assert_eq!(
            q3::Chunk::store()
                .count(&scoped, Default::default())
                .await
                .unwrap(),
            2
        );
        let recent = qdrant_client::qdrant::Range {
            gte: Some(2000.0),
            ..Default::default()
        };
        let dated = q3::Chunk::store()
            .search(
                &scoped,
                &v,
                10,
                Some(Filter::must([Condition::range("year", recent)])),
            )
            .await
            .unwrap();
        assert_eq!(
            dated.len(),
            1,
            "only the point written with a year, of this tenant"
        );
        assert_eq!(dated[0].entity.year, Some(2026.0));
        let by_source = |s: &str| Some(Filter::must([Condition::matches("source", s.to_owned())]));
        let own = q3::Chunk::store()
            .search(&scoped, &v, 10, by_source(mine))
            .await
            .unwrap();
        assert_eq!(own.len(), 2);
        assert!(own.iter().all(|h| h.entity.org_id == me.org_id()));
        let other = q3::Chunk::store()
            .search(&scoped, &v, 10, by_source(theirs))
            .await
            .unwrap();
        assert!(other.is_empty(), "another tenant's points stay absent");
        let olds = own.iter().filter(|h| h.entity.year.is_none()).count();
        assert_eq!(olds, 1, "the point from before reads with the default");
    }
    raw.delete_collection("embeddings_evolving").await.unwrap();
}

/// #31: a data migration copies values for every tenant. A hand-written `UPDATE` of a tenant
/// table, applied as the owner, sees no row (the owner is subject to FORCE and has no tenant
/// context) and still succeeds: `apply` refuses such a pending file, and the file
/// `new-data-migration` writes sees every tenant's rows, each row keeping its tenant.
#[test]
fn a_data_migration_sees_every_tenants_rows_and_a_blind_one_is_refused() {
    use std::process::ExitCode;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let scratch = rt.block_on(Scratch::new());
    let (a, b) = (tenant(), tenant());
    let v2 = || Entities::new().entity::<v2::Gadget>().entity::<Shelf>();
    rt.block_on(scratch.step(&v2()));
    // Each tenant's rows, as the application writes them.
    let colors = || {
        rt.block_on(async {
            let db = scratch.db().await;
            let mut out = Vec::new();
            for who in [&a, &b] {
                let mut tx = db.begin(who).await.unwrap();
                let mut rows: Vec<(String, Option<String>, String)> = v2::Gadget::store()
                    .list(&mut tx, Default::default(), Page::first(100))
                    .await
                    .unwrap()
                    .items
                    .into_iter()
                    .map(|g| (g.name, g.color, g.notes))
                    .collect();
                rows.sort();
                out.push(rows);
            }
            out
        })
    };
    rt.block_on(async {
        let db = scratch.db().await;
        for (who, tag) in [(&a, "a"), (&b, "b")] {
            let mut tx = db.begin(who).await.unwrap();
            for n in 0..3 {
                v2::Gadget::store()
                    .create(
                        &mut tx,
                        v2::NewGadget {
                            id: None,
                            name: format!("{tag}{n}"),
                            count: n,
                            notes: "kept".into(),
                            color: None,
                            priority: 0,
                        },
                    )
                    .await
                    .unwrap();
            }
            tx.commit().await.unwrap();
        }
    });
    let untouched = colors();

    // The hazard, with sqlx's migrator as any tool would apply it: 0 rows change, no error.
    std::fs::write(
        scratch.dir.join("0006_blind_by_hand.sql"),
        "UPDATE gadgets SET notes = 'changed';\n",
    )
    .unwrap();
    // The blind file applies without an error.
    rt.block_on(apply_folder(&scratch.owner_url(), &scratch.dir));
    assert_eq!(colors(), untouched, "as the owner, the UPDATE saw no row");

    // The migration command refuses a pending blind file, and applies nothing.
    let migrations = tenant_store::cli::Migrations::postgres(v2());
    let dir = scratch.dir.to_str().unwrap().to_owned();
    let run = |args: &[&str]| {
        let argv = ["migrations", "--dir", &dir]
            .into_iter()
            .chain(args.iter().copied());
        tenant_store::cli::run(argv.map(str::to_owned).collect::<Vec<_>>(), &migrations)
    };
    std::fs::write(
        scratch.dir.join("0007_copy_names_by_hand.sql"),
        "-- a comment\nUPDATE \"public\".\"gadgets\" SET color = name;\n",
    )
    .unwrap();
    assert_eq!(
        run(&["apply", "--database-url", &scratch.owner_url()]),
        ExitCode::FAILURE
    );
    std::fs::remove_file(scratch.dir.join("0007_copy_names_by_hand.sql")).unwrap();
    assert_eq!(colors(), untouched, "nothing was applied");

    // The supported way: the template, filled in, applied by the command.
    assert_eq!(
        run(&["new-data-migration", "copy_names", "--table", "nosuch"]),
        ExitCode::FAILURE,
        "a table no entity has"
    );
    assert_eq!(
        run(&["new-data-migration", "Copy names", "--table", "gadgets"]),
        ExitCode::FAILURE,
        "a name that is not a-z 0-9 _"
    );
    assert_eq!(
        run(&["new-data-migration", "copy_names", "--table", "gadgets"]),
        ExitCode::SUCCESS
    );
    let file = scratch.dir.join("0007_copy_names.sql");
    let template = std::fs::read_to_string(&file).expect("the template is 0007_copy_names.sql");
    std::fs::write(
        &file,
        template.replace(
            "-- Your statements here.",
            "UPDATE gadgets SET color = name;",
        ),
    )
    .unwrap();
    assert_eq!(
        run(&["check"]),
        ExitCode::SUCCESS,
        "a user file beside the generated ones"
    );
    assert_eq!(
        run(&["apply", "--database-url", &scratch.owner_url()]),
        ExitCode::SUCCESS
    );
    let want: Vec<Vec<(String, Option<String>, String)>> = untouched
        .iter()
        .map(|rows| {
            rows.iter()
                .map(|(name, _, notes)| (name.clone(), Some(name.clone()), notes.clone()))
                .collect()
        })
        .collect();
    assert_eq!(
        colors(),
        want,
        "both tenants' rows were copied, each within its own row and tenant"
    );
    // FORCE is back on: the owner again sees no row.
    let owner_sees: i64 = rt.block_on(async {
        let owner = raw_pool(&scratch.owner_url(), 1).await;
        let n = sqlx::query_scalar("SELECT count(*) FROM gadgets")
            .fetch_one(&owner)
            .await
            .unwrap();
        owner.close().await;
        n
    });
    assert_eq!(owner_sees, 0);
    rt.block_on(scratch.drop_database());
}

/// #31 item 4: `generate` refuses what `check` refuses (an applied file edited), and a lost
/// snapshot is met with the way back (restore it), not with advice that cannot work once the
/// folder has more than create files.
#[test]
fn generate_refuses_an_edited_file_and_a_lost_snapshot_says_to_restore_it() {
    let dir = v1_folder();
    let v2 = Entities::new().entity::<v2::Gadget>().entity::<Shelf>();
    evolve::generate(&dir, &v2).unwrap();

    let create = dir.join("0002_create_gadgets.sql");
    let original = std::fs::read_to_string(&create).unwrap();
    std::fs::write(&create, format!("{original}-- edited\n")).unwrap();
    let err = refusal(&dir, &v2);
    assert!(
        err.contains("0002_create_gadgets.sql was edited after it was generated"),
        "{err}"
    );
    let err = evolve::check(&dir, &v2, "generate")
        .unwrap_err()
        .to_string();
    assert!(err.contains("was edited after it was generated"), "{err}");
    std::fs::write(&create, original).unwrap();

    std::fs::remove_file(dir.join(evolve::SNAPSHOT_FILE)).unwrap();
    let err = evolve::check(&dir, &v2, "generate")
        .unwrap_err()
        .to_string();
    assert!(err.contains("restore it from version control"), "{err}");
    let err = refusal(&dir, &v2);
    assert!(err.contains("restore it from version control"), "{err}");
    assert!(!err.contains("put the entities back"), "{err}");
}

#[test]
fn a_snapshot_of_another_format_is_refused_by_its_number() {
    let dir = v1_folder();
    let v1 = Entities::new().entity::<v1::Gadget>().entity::<Shelf>();
    // A later format that moved the tables elsewhere: refused for its number, not for the
    // field this version would miss.
    std::fs::write(
        dir.join(evolve::SNAPSHOT_FILE),
        r#"{"format": 2, "files": {}, "schemas": {}}"#,
    )
    .unwrap();
    for err in [
        refusal(&dir, &v1),
        evolve::check(&dir, &v1, "generate")
            .unwrap_err()
            .to_string(),
    ] {
        assert!(
            err.contains("has format 2, and this tenant-store reads format 1"),
            "{err}"
        );
    }
}

/// References and what deleting their parent does (issue #31, item 2), on `Shelf`.
mod refs {
    use super::*;
    /// An optional reference without a rule: deleting the shelf keeps the bin.
    #[tenant_store(backend = "postgres", scope = "org_id", table = "bins")]
    pub struct Bin {
        #[tenant_store(id)]
        pub id: Uuid,
        pub org_id: Uuid,
        #[tenant_store(references = Shelf)]
        pub shelf: Option<Uuid>,
    }
    /// A shelf with a bracket cannot be deleted.
    #[tenant_store(backend = "postgres", scope = "org_id", table = "brackets")]
    pub struct Bracket {
        #[tenant_store(id)]
        pub id: Uuid,
        pub org_id: Uuid,
        #[tenant_store(references = Shelf, on_delete = "restrict")]
        pub shelf: Uuid,
    }
    /// An optional reference that asks for the cascade.
    #[tenant_store(backend = "postgres", scope = "org_id", table = "tags")]
    pub struct Tag {
        #[tenant_store(id)]
        pub id: Uuid,
        pub org_id: Uuid,
        #[tenant_store(references = Shelf, on_delete = "cascade")]
        pub shelf: Option<Uuid>,
    }
}

/// `refs::Tag` of the next release: the rule removed, so the optional field's default.
mod refs_v2 {
    use super::*;
    #[tenant_store(backend = "postgres", scope = "org_id", table = "tags")]
    pub struct Tag {
        #[tenant_store(id)]
        pub id: Uuid,
        pub org_id: Uuid,
        #[tenant_store(references = Shelf)]
        pub shelf: Option<Uuid>,
    }
}

/// One tenant's shelf and a row of each child entity on it.
struct OnShelf {
    shelf: Uuid,
    bin: Uuid,
    bracket: Uuid,
    tag: Uuid,
}

impl OnShelf {
    async fn new(db: &Db, who: &Principal) -> Self {
        let mut tenant = db.tenant(who);
        let new_shelf = NewShelf {
            id: None,
            label: "top".into(),
        };
        let shelf = Shelf::store()
            .create(&mut tenant, new_shelf)
            .await
            .unwrap()
            .id;
        let bin = refs::NewBin {
            id: None,
            shelf: Some(shelf),
        };
        let bracket = refs::NewBracket { id: None, shelf };
        let tag = refs::NewTag {
            id: None,
            shelf: Some(shelf),
        };
        Self {
            shelf,
            bin: refs::Bin::store()
                .create(&mut tenant, bin)
                .await
                .unwrap()
                .id,
            bracket: refs::Bracket::store()
                .create(&mut tenant, bracket)
                .await
                .unwrap()
                .id,
            tag: refs::Tag::store()
                .create(&mut tenant, tag)
                .await
                .unwrap()
                .id,
        }
    }

    /// Every row is there, the references as they were made.
    async fn intact(&self, db: &Db, who: &Principal) {
        let mut tenant = db.tenant(who);
        let shelf = Shelf::store().get(&mut tenant, self.shelf).await.unwrap();
        assert!(shelf.is_some(), "the shelf");
        let bin = refs::Bin::store().get(&mut tenant, self.bin).await.unwrap();
        assert_eq!(bin.map(|b| b.shelf), Some(Some(self.shelf)), "the bin");
        let bracket = refs::Bracket::store()
            .get(&mut tenant, self.bracket)
            .await
            .unwrap();
        assert_eq!(bracket.map(|b| b.shelf), Some(self.shelf), "the bracket");
        let tag = refs::Tag::store().get(&mut tenant, self.tag).await.unwrap();
        assert_eq!(tag.map(|t| t.shelf), Some(Some(self.shelf)), "the tag");
    }
}

#[tokio::test]
async fn deleting_a_parent_follows_each_references_rule_and_a_changed_rule_is_a_migration() {
    use tenant_store::Error;
    let scratch = Scratch::new().await;
    let (a, b) = (tenant(), tenant());
    let v1 = Entities::new()
        .entity::<Shelf>()
        .entity::<refs::Bin>()
        .entity::<refs::Bracket>()
        .entity::<refs::Tag>();
    scratch.step(&v1).await;
    let created = |table: &str| {
        std::fs::read_to_string(
            folder_files(&scratch.dir)
                .keys()
                .find(|n| n.ends_with(&format!("_create_{table}.sql")))
                .map(|n| scratch.dir.join(n))
                .unwrap_or_else(|| panic!("a create file for {table}")),
        )
        .unwrap()
    };
    assert!(created("bins").contains("ON DELETE SET NULL (\"shelf\")"));
    assert!(created("brackets").contains("ON DELETE RESTRICT"));
    assert!(created("tags").contains("ON DELETE CASCADE"));
    let db = scratch.db().await;
    for (me, other) in [(&a, &b), (&b, &a)] {
        let mine = OnShelf::new(&db, me).await;
        let theirs = OnShelf::new(&db, other).await;
        // The other tenant cannot delete it: it is absent there.
        let err = Shelf::store()
            .delete(&mut db.tenant(other), mine.shelf)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NotFound), "{err:?}");
        // Nor pin it with a `restrict` child of its own: the reference carries the tenant
        // column, so my shelf is absent there too.
        let pin = refs::NewBracket {
            id: None,
            shelf: mine.shelf,
        };
        let err = refs::Bracket::store()
            .create(&mut db.tenant(other), pin)
            .await
            .map(|b| b.id)
            .unwrap_err();
        assert!(matches!(err, Error::NotFound), "{err:?}");
        // The bracket's `restrict` refuses, and nothing changes.
        let err = Shelf::store()
            .delete(&mut db.tenant(me), mine.shelf)
            .await
            .unwrap_err();
        match &err {
            Error::Referenced(msg) => assert!(msg.contains("brackets"), "{msg}"),
            other => panic!("expected Error::Referenced, got {other:?}"),
        }
        mine.intact(&db, me).await;
        // The same refusal inside a transaction.
        let mut tx = db.begin(me).await.unwrap();
        let err = Shelf::store()
            .delete(&mut tx, mine.shelf)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Referenced(_)), "{err:?}");
        tx.rollback().await.unwrap();
        mine.intact(&db, me).await;
        // Without the bracket: the bin is kept with no shelf, the tag goes with the shelf.
        let mut tenant = db.tenant(me);
        refs::Bracket::store()
            .delete(&mut tenant, mine.bracket)
            .await
            .unwrap();
        Shelf::store()
            .delete(&mut tenant, mine.shelf)
            .await
            .unwrap();
        let bin = refs::Bin::store().get(&mut tenant, mine.bin).await.unwrap();
        assert_eq!(bin.map(|b| b.shelf), Some(None), "the bin is kept");
        let tag = refs::Tag::store().get(&mut tenant, mine.tag).await.unwrap();
        assert!(tag.is_none(), "the tag asked for the cascade");
        theirs.intact(&db, other).await;
    }
    drop(db);

    // The next release drops the tag's rule: its default for an optional field, as a
    // migration (the earlier files byte for byte as they were: `step` checks).
    let v2 = Entities::new()
        .entity::<Shelf>()
        .entity::<refs::Bin>()
        .entity::<refs::Bracket>()
        .entity::<refs_v2::Tag>();
    let new = scratch.step(&v2).await;
    let text: String = new
        .iter()
        .map(|n| std::fs::read_to_string(scratch.dir.join(n)).unwrap())
        .collect();
    assert!(
        text.contains("DROP CONSTRAINT \"tags_org_id_shelf_fkey\"")
            && text.contains("ON DELETE SET NULL (\"shelf\") NOT VALID")
            && text.contains("VALIDATE CONSTRAINT \"tags_org_id_shelf_fkey\""),
        "{new:?}: {text}"
    );
    assert!(scratch.step(&v2).await.is_empty(), "one migration");
    let db = scratch.db().await;
    for (me, other) in [(&a, &b), (&b, &a)] {
        let mut tenant = db.tenant(me);
        let shelf = Shelf::store()
            .create(
                &mut tenant,
                NewShelf {
                    id: None,
                    label: "low".into(),
                },
            )
            .await
            .unwrap()
            .id;
        let tag = refs_v2::NewTag {
            id: None,
            shelf: Some(shelf),
        };
        let tag = refs_v2::Tag::store()
            .create(&mut tenant, tag)
            .await
            .unwrap()
            .id;
        let theirs = OnShelf::new(&db, other).await;
        Shelf::store().delete(&mut tenant, shelf).await.unwrap();
        let kept = refs_v2::Tag::store().get(&mut tenant, tag).await.unwrap();
        assert_eq!(kept.map(|t| t.shelf), Some(None), "the tag is kept now");
        let their_tag = refs_v2::Tag::store()
            .get(&mut db.tenant(other), theirs.tag)
            .await
            .unwrap();
        assert_eq!(their_tag.map(|t| t.shelf), Some(Some(theirs.shelf)));
    }
    drop(db);
    scratch.drop_database().await;
}

/// A release started before its migrations (issue #31, item 5): `Db::connect` compares what the
/// entities read and write with the live tables and refuses, naming each gap, instead of the
/// first query failing with `column "..." does not exist`.
#[tokio::test]
async fn a_new_release_on_an_old_schema_is_refused_at_connect() {
    let scratch = Scratch::new().await;
    scratch.step(&Entities::new().entity::<v1::Gadget>()).await;
    let url = scratch.app_url();
    let connect = |entities: Entities| {
        Db::connect_with(
            &url,
            key(),
            DbOptions::default().max_connections(1).entities(entities),
        )
    };
    // v2 adds two columns and the `shelves` table; v3 widens `count`.
    for (release, gaps) in [
        (
            Entities::new().entity::<v2::Gadget>().entity::<Shelf>(),
            &[
                "entity `Gadget` needs column `color` (text) of public.gadgets, which the database lacks",
                "entity `Gadget` needs column `priority` (integer) of public.gadgets",
                "entity `Shelf` needs table public.shelves, which the database lacks",
            ][..],
        ),
        (
            Entities::new().entity::<v3::Gadget>(),
            &[
                "entity `Gadget` reads column `count` of public.gadgets as bigint, but it is integer",
            ],
        ),
    ] {
        match connect(release).await {
            Err(tenant_store::Error::Audit(msg)) => {
                for gap in gaps {
                    assert!(msg.contains(gap), "{gap}: {msg}");
                }
                assert!(msg.contains("apply the pending migrations"), "{msg}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    // The release the database was migrated for connects; so does the default (every
    // registered entity whose table this database has, each declared once).
    connect(Entities::new().entity::<v1::Gadget>())
        .await
        .unwrap();
    scratch.db().await;
    // Once migrated, v2 connects too.
    let v2 = Entities::new().entity::<v2::Gadget>().entity::<Shelf>();
    scratch.step(&v2).await;
    connect(v2).await.unwrap();
    scratch.drop_database().await;
}

/// v1 with a unique key on `name`.
mod unique_name {
    use super::*;
    #[tenant_store(
        backend = "postgres",
        scope = "org_id",
        table = "gadgets",
        unique(name)
    )]
    pub struct Gadget {
        #[tenant_store(id)]
        pub id: Uuid,
        pub org_id: Uuid,
        #[tenant_store(filter)]
        pub name: String,
        pub count: i32,
        pub notes: String,
    }
}

/// A unique key over duplicated rows (issue #31, item 3): the concurrent build fails and leaves
/// an INVALID index. `apply` says which key is duplicated, `status` shows the failed file with
/// that reason, and once the rows are fixed a plain re-run completes.
#[test]
fn a_failed_unique_build_says_why_and_a_rerun_completes_once_the_rows_are_fixed() {
    use std::process::ExitCode;
    use tenant_store::cli::{Migrations, run};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let scratch = rt.block_on(Scratch::new());
    let dir = scratch.dir.to_str().unwrap().to_owned();
    let owner = scratch.owner_url();
    let command = |migrations: &Migrations, args: &[&str]| {
        let database = match args[0] {
            "generate" => &[][..],
            _ => &["--database-url", owner.as_str()][..],
        };
        let argv = ["migrations", "--dir", &dir]
            .into_iter()
            .chain(args.iter().copied())
            .chain(database.iter().copied());
        run(argv.map(str::to_owned).collect::<Vec<_>>(), migrations)
    };
    let v1 = Migrations::postgres(Entities::new().entity::<v1::Gadget>());
    let unique = Migrations::postgres(Entities::new().entity::<unique_name::Gadget>());
    assert_eq!(command(&v1, &["generate"]), ExitCode::SUCCESS);
    assert_eq!(command(&v1, &["apply"]), ExitCode::SUCCESS);
    rt.block_on(install_key(&owner));
    let (a, b) = (tenant(), tenant());
    let db = rt.block_on(scratch.db());
    let create = |who: &Principal, name: &str| {
        rt.block_on(v1::Gadget::store().create(
            &mut db.tenant(who),
            v1::NewGadget {
                id: None,
                name: name.into(),
                count: 1,
                notes: String::new(),
            },
        ))
        .unwrap()
    };
    // Tenant a holds "bolt" twice; b holds it once (a key is per tenant).
    let first = create(&a, "bolt");
    create(&a, "bolt");
    create(&b, "bolt");
    drop(db);

    assert_eq!(command(&unique, &["generate"]), ExitCode::SUCCESS);
    let index = "\"public\".\"gadgets_org_id_name_key\"";
    let left = || {
        rt.block_on(async {
            let pool = raw_pool(&owner, 1).await;
            let row: Option<(bool, Option<String>)> = sqlx::query_as(
                "SELECT i.indisvalid, obj_description(i.indexrelid, 'pg_class')
                 FROM pg_index i WHERE i.indexrelid = to_regclass($1)",
            )
            .bind(index)
            .fetch_optional(&pool)
            .await
            .unwrap();
            pool.close().await;
            row
        })
    };
    for _ in 0..2 {
        assert_eq!(command(&unique, &["apply"]), ExitCode::FAILURE);
        let (valid, reason) = left().expect("the failed build leaves its index");
        assert!(!valid);
        let reason = reason.expect("the reason is kept on the index");
        // The server's message and the way forward; its detail goes only to the terminal
        // (the catalog is readable by every role).
        assert!(
            reason.contains("could not create unique index \"gadgets_org_id_name_key\"")
                && reason.contains("rows of one tenant share a value of this key")
                && !reason.contains("Duplicate keys exist"),
            "{reason}"
        );
        // The server leaves the values out (the owner is under RLS); the reason gives the
        // query that lists them, and it finds tenant a's.
        let query = reason
            .split("(it holds the table's lock while it reads): ")
            .nth(1);
        let query = query.expect("the query that lists the duplicates");
        let found: Vec<(Uuid, String, i64)> = rt.block_on(async {
            let pool = raw_pool(&owner, 1).await;
            let mut conn = pool.acquire().await.unwrap();
            let mut found = Vec::new();
            for statement in query.split_inclusive(';') {
                if statement.trim_start().starts_with("SELECT") {
                    found = sqlx::query_as(sqlx::AssertSqlSafe(statement.to_owned()))
                        .fetch_all(&mut *conn)
                        .await
                        .unwrap();
                } else {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
                        .execute(&mut *conn)
                        .await
                        .unwrap();
                }
            }
            found
        });
        assert_eq!(found, [(a.org_id(), "bolt".to_owned(), 2)]);
        assert_eq!(command(&unique, &["status"]), ExitCode::FAILURE);
    }

    // The rows fixed by their tenant, a plain re-run completes.
    let db = rt.block_on(scratch.db());
    rt.block_on(v1::Gadget::store().update(
        &mut db.tenant(&a),
        first.id,
        v1::GadgetPatch {
            name: Some("nut".into()),
            ..Default::default()
        },
    ))
    .unwrap();
    drop(db);
    assert_eq!(command(&unique, &["apply"]), ExitCode::SUCCESS);
    assert_eq!(left().map(|(valid, _)| valid), Some(true));
    assert_eq!(command(&unique, &["status"]), ExitCode::SUCCESS);
    // The key holds on both sides: a's second "bolt" is refused, b may still have its own.
    let db = rt.block_on(scratch.db());
    for who in [&a, &b] {
        let again = rt.block_on(unique_name::Gadget::store().create(
            &mut db.tenant(who),
            unique_name::NewGadget {
                id: None,
                name: "bolt".into(),
                count: 1,
                notes: String::new(),
            },
        ));
        assert!(
            matches!(again, Err(tenant_store::Error::Duplicate)),
            "{:?}",
            again.map(|g| g.id)
        );
    }
    drop(db);
    rt.block_on(scratch.drop_database());
}

/// The reason a failed build leaves on its index is in the catalog, which every role reads.
/// Applied by a role that bypasses RLS (a superuser, which `apply` accepts), the server's detail
/// names the duplicated key's values: another tenant reading `obj_description` must not see
/// them.
#[test]
fn a_failed_builds_reason_in_the_catalog_names_no_tenants_value() {
    use std::process::ExitCode;
    use tenant_store::cli::{Migrations, run};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let scratch = rt.block_on(Scratch::new());
    let dir = scratch.dir.to_str().unwrap().to_owned();
    let superuser = with_database(&tenant_store_tests::super_url(), &scratch.db.name);
    let command = |migrations: &Migrations, args: &[&str]| {
        let argv = ["migrations", "--dir", &dir]
            .into_iter()
            .chain(args.iter().copied());
        run(argv.map(str::to_owned).collect::<Vec<_>>(), migrations)
    };
    let v1 = Migrations::postgres(Entities::new().entity::<v1::Gadget>());
    let unique = Migrations::postgres(Entities::new().entity::<unique_name::Gadget>());
    assert_eq!(command(&v1, &["generate"]), ExitCode::SUCCESS);
    let owner = scratch.owner_url();
    let apply = ["apply", "--database-url", owner.as_str()];
    assert_eq!(command(&v1, &apply), ExitCode::SUCCESS);
    rt.block_on(install_key(&owner));
    let (a, b) = (tenant(), tenant());
    let db = rt.block_on(scratch.db());
    for _ in 0..2 {
        rt.block_on(v1::Gadget::store().create(
            &mut db.tenant(&a),
            v1::NewGadget {
                id: None,
                name: "secret-of-a".into(),
                count: 1,
                notes: String::new(),
            },
        ))
        .unwrap();
    }
    assert_eq!(command(&unique, &["generate"]), ExitCode::SUCCESS);
    let apply = ["apply", "--database-url", superuser.as_str()];
    assert_eq!(command(&unique, &apply), ExitCode::FAILURE);
    // Tenant b's hand-written SQL reads the catalog.
    let seen: Option<String> = rt.block_on(async {
        let mut raw = db.raw().await.unwrap();
        sqlx::query_scalar(
            "SELECT obj_description(to_regclass('public.gadgets_org_id_name_key'), 'pg_class')",
        )
        .fetch_one(&mut *raw)
        .await
        .unwrap()
    });
    let seen = seen.expect("the reason is kept on the index");
    assert!(seen.contains("could not create unique index"), "{seen}");
    assert!(
        !seen.contains("secret-of-a") && !seen.contains(&a.org_id().to_string()),
        "{seen}"
    );
    let _ = b;
    drop(db);
    rt.block_on(scratch.drop_database());
}

/// Wider than one decode chunk: a generated `from_row` decodes twelve columns per call
/// (`__private::pg::DECODED_AT_ONCE`), so the fields past the twelfth come from a second call
/// that starts at column 12.
#[tenant_store(backend = "postgres", scope = "org_id", table = "wide_rows")]
#[derive(Debug, Clone, PartialEq)]
pub struct WideRow {
    #[tenant_store(id)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub c02: String,
    pub c03: i64,
    pub c04: i32,
    pub c05: bool,
    pub c06: Option<String>,
    pub c07: f64,
    pub c08: i16,
    pub c09: Option<i64>,
    pub c10: String,
    pub c11: Uuid,
    pub c12: String,
    pub c13: i64,
    pub c14: Option<String>,
}

#[tokio::test]
async fn an_entity_wider_than_one_decode_chunk_reads_back_every_field() {
    let scratch = Scratch::new().await;
    scratch.step(&Entities::new().entity::<WideRow>()).await;
    let db = scratch.db().await;
    let who = tenant();
    let c11 = Uuid::new_v4();
    let new = NewWideRow {
        id: None,
        c02: "two".into(),
        c03: 3,
        c04: 4,
        c05: true,
        c06: Some("six".into()),
        c07: 7.5,
        c08: 8,
        c09: None,
        c10: "ten".into(),
        c11,
        c12: "twelve".into(),
        c13: 13,
        c14: Some("fourteen".into()),
    };
    let mut tx = db.begin(&who).await.unwrap();
    let created = WideRow::store().create(&mut tx, new).await.unwrap();
    tx.commit().await.unwrap();
    let read = WideRow::store()
        .get(&mut db.tenant(&who), created.id)
        .await
        .unwrap();
    drop(db);
    scratch.drop_database().await;
    let read = read.expect("the row reads back");
    // Against what was written, not against another decoded row: a shifted column would be
    // shifted in both.
    let expected = WideRow {
        id: created.id,
        org_id: who.org_id(),
        c02: "two".into(),
        c03: 3,
        c04: 4,
        c05: true,
        c06: Some("six".into()),
        c07: 7.5,
        c08: 8,
        c09: None,
        c10: "ten".into(),
        c11,
        c12: "twelve".into(),
        c13: 13,
        c14: Some("fourteen".into()),
    };
    assert_eq!(read, expected);
    assert_eq!(created, expected);
}
