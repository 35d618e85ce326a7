//! Two releases side by side, as a rolling deploy runs them: release N (`old::Gadget`) serves
//! while the migrations of N+1 (`new::Gadget`: `name` renamed to `title`, `count` renamed to
//! `amount` and widened, `notes` dropped, a field added) apply, then both serve at once, then N stops and the contract step applies
//! while N+1 serves. Each release runs as its own `Db` with only its own entity
//! (`DbOptions::entities`), calling every operation for two tenants without pause, and updates
//! the rows the other release created.
//!
//! Asserted: no call of either release fails at any point; no call returns a row of the other
//! tenant; after both stop, every row either release wrote reads back, through N+1, with the
//! value last written to it by either release, and is absent for the other tenant. On the code
//! before the expand and contract split, N failed from the moment the rename applied
//! (`column "name" does not exist`).

// Each release declares its whole entity; the test reads the fields the change is about.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tenant_store::Page;
use tenant_store::Principal;
use tenant_store::postgres::evolve::{self, Entities};
use tenant_store::postgres::{Db, DbOptions};
use tenant_store::tenant_store;
use tenant_store_tests::{ScratchDb, apply_folder, install_key, key, tenant};
use tokio::sync::Mutex;
use uuid::Uuid;

/// Release N.
mod old {
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

/// Release N+1: `name` renamed, `notes` dropped, `color` added.
mod new {
    use super::*;
    #[tenant_store(
        backend = "postgres",
        scope = "org_id",
        table = "gadgets",
        drop_column = "notes"
    )]
    pub struct Gadget {
        #[tenant_store(id)]
        pub id: Uuid,
        pub org_id: Uuid,
        #[tenant_store(filter, renamed_from = "name")]
        pub title: String,
        #[tenant_store(renamed_from = "count")]
        pub amount: i64,
        pub color: Option<String>,
    }
}

/// Which release wrote a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Release {
    Old,
    New,
}

/// Every live row either release created: its tenant, who created it, and the value its
/// `name` (`title`) was last given. Each row is renamed only by the release that did not
/// create it, under the lock, so this order is the database's order.
#[derive(Default)]
struct Ledger {
    rows: BTreeMap<Uuid, (Uuid, Release, String)>,
}

/// What a release's calls saw.
#[derive(Default, Debug)]
struct Outcome {
    calls: u64,
    failed: Vec<String>,
    foreign: Vec<String>,
}

impl Outcome {
    fn check(&mut self, release: &str, what: &str, r: Result<(), String>) {
        self.calls += 1;
        if let Err(e) = r {
            self.failed.push(format!("{release} {what}: {e}"));
        }
    }
}

struct Run {
    stop: AtomicBool,
    ledger: Mutex<Ledger>,
}

/// One operation of a release for one tenant: create (every fifth deleted again at once),
/// read back, a filtered listing, a full listing, and a rename of a row the other release
/// created.
macro_rules! round {
    ($m:ident, $field:ident, $release:expr, $db:expr, $who:expr, $i:expr, $run:expr, $out:expr) => {{
        let (db, who, i, run, out): (&Db, &Principal, u64, &Run, &mut Outcome) =
            ($db, $who, $i, $run, $out);
        let me = who.org_id();
        let label = format!("{:?}", $release);
        let value = format!("{label}-{i}-{}", Uuid::new_v4());
        let created = $m::Gadget::store()
            .create(
                &mut db.tenant(who),
                $m::NewGadget {
                    $field: value.clone(),
                    ..new_gadget!($m)
                },
            )
            .await;
        out.check(
            &label,
            "create",
            created.as_ref().map(|_| ()).map_err(|e| e.to_string()),
        );
        let kept = i % 5 != 0;
        if let Ok(g) = &created {
            if !kept {
                let gone = $m::Gadget::store().delete(&mut db.tenant(who), g.id).await;
                out.check(&label, "delete", gone.map_err(|e| e.to_string()));
            }
            let back = $m::Gadget::store().get(&mut db.tenant(who), g.id).await;
            match back {
                Ok(found) if found.is_some() == kept => out.calls += 1,
                Ok(found) => {
                    out.failed
                        .push(format!("{label} get of {}: {}", g.id, found.is_some()))
                }
                Err(e) => out.check(&label, "get", Err(e.to_string())),
            }
        }
        let filtered = $m::Gadget::store()
            .list(
                &mut db.tenant(who),
                $m::GadgetFilter::new().$field(value.clone()),
                Page::first(10),
            )
            .await;
        match filtered {
            Ok(page) => {
                out.calls += 1;
                if page.items.len() != usize::from(kept)
                    || page.items.iter().any(|g| g.$field != value)
                {
                    out.failed.push(format!(
                        "{label} list by {}: {} rows for {value}",
                        stringify!($field),
                        page.items.len()
                    ));
                }
                for g in page.items.iter().filter(|g| g.org_id != me) {
                    out.foreign.push(format!("{label} filtered list: {}", g.id));
                }
            }
            Err(e) => out.check(&label, "list by value", Err(e.to_string())),
        }
        // Only now may the other release rename it.
        if let (Ok(g), true) = (&created, kept) {
            run.ledger
                .lock()
                .await
                .rows
                .insert(g.id, (me, $release, value.clone()));
        }
        match $m::Gadget::store()
            .list(&mut db.tenant(who), Default::default(), Page::first(50))
            .await
        {
            Ok(page) => {
                out.calls += 1;
                for g in page.items.iter().filter(|g| g.org_id != me) {
                    out.foreign.push(format!("{label} list: {}", g.id));
                }
            }
            Err(e) => out.check(&label, "list", Err(e.to_string())),
        }
        // A row of this tenant the other release created: renamed here, the ledger held
        // meanwhile so its order is the database's (two instances of N rename too).
        let mut ledger = run.ledger.lock().await;
        let theirs = ledger
            .rows
            .iter()
            .rev()
            .find(|(_, (t, by, _))| *t == me && *by != $release)
            .map(|(id, _)| *id);
        if let Some(id) = theirs {
            let renamed = format!("{value}-renamed");
            let r = $m::Gadget::store()
                .update(
                    &mut db.tenant(who),
                    id,
                    $m::GadgetPatch {
                        $field: Some(renamed.clone()),
                        ..Default::default()
                    },
                )
                .await;
            match r {
                Ok(g) if g.$field == renamed && g.org_id == me => {
                    out.calls += 1;
                    ledger.rows.get_mut(&id).unwrap().2 = renamed;
                }
                Ok(g) => out.failed.push(format!(
                    "{label} update of {id} returned {:?} of tenant {}",
                    g.$field, g.org_id
                )),
                Err(e) => out.check(&label, "update", Err(e.to_string())),
            }
        }
    }};
}

macro_rules! new_gadget {
    (old) => {
        old::NewGadget {
            id: None,
            name: String::new(),
            count: 1,
            notes: "kept for the old release".into(),
        }
    };
    (new) => {
        new::NewGadget {
            id: None,
            title: String::new(),
            amount: 2,
            color: Some("red".into()),
        }
    };
}

/// Release N's calls, for both tenants in turn, until `run.stop`.
async fn old_release(db: Db, who: [Principal; 2], run: Arc<Run>) -> Outcome {
    let mut out = Outcome::default();
    let mut i = 0;
    while !run.stop.load(Ordering::Relaxed) {
        i += 1;
        round!(
            old,
            name,
            Release::Old,
            &db,
            &who[(i % 2) as usize],
            i,
            &run,
            &mut out
        );
    }
    out
}

/// Release N+1's calls, for both tenants in turn, until `stop`.
async fn new_release(db: Db, who: [Principal; 2], run: Arc<Run>, stop: Arc<AtomicBool>) -> Outcome {
    let mut out = Outcome::default();
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        round!(
            new,
            title,
            Release::New,
            &db,
            &who[(i % 2) as usize],
            i,
            &run,
            &mut out
        );
    }
    out
}

/// Generates with `generate` into `dir` and applies the new files as the owner; returns their
/// names.
async fn deploy(
    scratch: &ScratchDb,
    dir: &Path,
    entities: &Entities,
    generate: fn(&Path, &Entities) -> Result<evolve::Plan, evolve::Refused>,
) -> Vec<String> {
    let plan = generate(dir, entities).unwrap_or_else(|e| panic!("{e}"));
    apply_folder(&scratch.owner_url(), dir).await;
    plan.files.into_iter().map(|f| f.file_name).collect()
}

/// A connection of one release: the start-up audit and the schema check for its entity only.
async fn connect(scratch: &ScratchDb, entities: Entities) -> Db {
    Db::connect_with(
        &scratch.app_url(),
        key(),
        DbOptions::default().max_connections(2).entities(entities),
    )
    .await
    .unwrap_or_else(|e| panic!("a release could not start: {e}"))
}

fn settle() -> tokio::time::Sleep {
    tokio::time::sleep(Duration::from_millis(1500))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_n_and_n_plus_1_serve_through_expand_and_contract_without_a_failed_call() {
    let scratch = ScratchDb::new("ts_side_by_side").await;
    let dir: PathBuf = std::env::temp_dir().join(&scratch.name);
    std::fs::create_dir_all(&dir).unwrap();
    let old_entities = || Entities::new().entity::<old::Gadget>();
    let new_entities = || Entities::new().entity::<new::Gadget>();
    let who = [tenant(), tenant()];
    let run = Arc::new(Run {
        stop: AtomicBool::new(false),
        ledger: Mutex::new(Ledger::default()),
    });

    // Release N deployed and serving.
    deploy(&scratch, &dir, &old_entities(), evolve::generate).await;
    install_key(&scratch.owner_url()).await;
    let n = tokio::spawn(old_release(
        connect(&scratch, old_entities()).await,
        who.clone(),
        run.clone(),
    ));
    settle().await;

    // N+1's migrations apply while N serves; an instance of N can still start after them.
    let expand = deploy(&scratch, &dir, &new_entities(), evolve::generate).await;
    assert!(
        expand.iter().any(|f| f.contains("alter_gadgets")),
        "{expand:?}"
    );
    let late_n = tokio::spawn(old_release(
        connect(&scratch, old_entities()).await,
        who.clone(),
        run.clone(),
    ));
    // N+1 starts; both serve.
    let stop_new = Arc::new(AtomicBool::new(false));
    let n1 = tokio::spawn(new_release(
        connect(&scratch, new_entities()).await,
        who.clone(),
        run.clone(),
        stop_new.clone(),
    ));
    settle().await;

    // N stops; the contract applies while N+1 serves.
    run.stop.store(true, Ordering::Relaxed);
    let (n, late_n) = (n.await.unwrap(), late_n.await.unwrap());
    let contract = deploy(&scratch, &dir, &new_entities(), evolve::generate_contract).await;
    assert_eq!(contract.len(), 1, "{contract:?}");
    assert!(contract[0].contains("contract_gadgets"), "{contract:?}");
    settle().await;
    stop_new.store(true, Ordering::Relaxed);
    let n1 = n1.await.unwrap();

    for (release, out) in [("N", &n), ("N, started late", &late_n), ("N+1", &n1)] {
        println!("{release}: {} calls", out.calls);
        assert!(out.calls > 20, "{release} made only {} calls", out.calls);
        assert!(out.failed.is_empty(), "{release}: {:#?}", out.failed);
        assert!(out.foreign.is_empty(), "{release}: {:#?}", out.foreign);
    }
    // Both releases renamed rows the other created.
    let ledger = std::mem::take(&mut *run.ledger.lock().await);
    for by in [Release::Old, Release::New] {
        assert!(
            ledger
                .rows
                .values()
                .any(|(_, creator, v)| *creator != by && v.ends_with("-renamed")),
            "no row created by the other release was renamed by {by:?}"
        );
    }

    // Every row reads back through N+1 with its last value, in its tenant only.
    let db = connect(&scratch, new_entities()).await;
    for (id, (tenant_id, creator, value)) in &ledger.rows {
        let (mine, other) = match who[0].org_id() == *tenant_id {
            true => (&who[0], &who[1]),
            false => (&who[1], &who[0]),
        };
        let row = new::Gadget::store()
            .get(&mut db.tenant(mine), *id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("row {id} is gone"));
        assert_eq!(&row.title, value, "row {id}");
        let amount = match creator {
            Release::Old => 1,
            Release::New => 2,
        };
        assert_eq!(row.amount, amount, "row {id} created by {creator:?}");
        let seen = new::Gadget::store()
            .get(&mut db.tenant(other), *id)
            .await
            .unwrap();
        assert!(seen.is_none(), "the other tenant reads row {id}");
    }
    drop(db);
    scratch.drop().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
