//! Isolation proofs for your own entities (feature `testing`, for dev-dependencies).
//!
//! One call in your own test runs the attacks this library defends against on *your* entity,
//! *your* schema and *your* server, from both sides, and returns a [`Report`]:
//!
//! ```no_run
//! # #[tenant_store::tenant_store(backend = "postgres", scope = "org_id", table = "invoices")]
//! # #[derive(Debug)]
//! # pub struct Invoice { #[tenant_store(id)] pub id: uuid::Uuid, pub org_id: uuid::Uuid, pub total: i64 }
//! # async fn t(db: &tenant_store::postgres::Db) {
//! let report = tenant_store::testing::postgres::isolation::<Invoice>(db, |n, id| NewInvoice {
//!     id,
//!     total: i64::from(n),
//! })
//! .await;
//! report.assert_isolated(); // panics with every failed check, naming what leaked
//! # }
//! ```
//!
//! ## What a run does
//! [`isolation`] works on any generated store through [`TenantStore`], so it serves every
//! backend. It makes two fresh tenants, A and B, and seeds [`SEEDED`] entities in each through
//! the store, with the values your `new(n, id)` makes (`n` tells the seeded entities apart;
//! `id`, when given, is the id the entity must get). Then, as A against B and as B against A:
//!
//! | check | passes when |
//! | --- | --- |
//! | own entities | the tenant reads back each of its own (so the checks below are not empty) |
//! | `get` of the other's ids | `None`: another tenant's entity looks like absence |
//! | `list` | every page, followed to the end, holds exactly the tenant's own ids |
//! | `count` | the number of the tenant's own entities |
//! | the other's cursor | a cursor made for the other tenant is refused (`InvalidInput`) |
//! | `update` of the other's id | `NotFound`, and the other's entity is unchanged |
//! | `delete` of the other's id | `NotFound`, and the other still has its entity |
//! | `insert` of the other's values | a new entity, not `Duplicate` (a unique key without the tenant column would say the values exist elsewhere) |
//! | `insert` with the other's id | a new entity in the caller's tenant; not `Duplicate` (which would say the id exists elsewhere), and the other's entity is unchanged |
//! | `delete_tenant` | removes the tenant's entities (at least its live ones) and none of the other's |
//!
//! "Unchanged" compares the entity's `Debug` text before and after, so the entity must derive
//! `Debug`. [`postgres::isolation`] adds what only PostgreSQL has: the start-up audit of the
//! database, hand-written SQL on the tenant's own transaction, and state left on a pooled
//! connection. `qdrant::isolation` adds the check of the collection's tenant index.
//!
//! ## Types
//! `isolation` builds a [`Report`] (the entity, the backend, one [`Check`] per attack and
//! side); a check that fails carries what it saw. Nothing panics inside a run: an error of the
//! store is a failed check, so one report holds every finding.

#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "qdrant")]
pub mod qdrant;

use std::collections::BTreeSet;
use std::fmt::{self, Debug};

use crate::contract::TenantStore;
use crate::{Error, Page, Principal};

/// How many entities each tenant gets before the attacks.
pub const SEEDED: u32 = 3;

/// The `n` of A's first seeded entity, and of B's.
const A_FIRST: u32 = 0;
const B_FIRST: u32 = 100;

/// What one run found: one [`Check`] per attack and side.
#[derive(Debug, Clone)]
pub struct Report {
    /// The entity's type name, without its path.
    pub entity: &'static str,
    /// The backend ([`TenantStore::BACKEND`]).
    pub backend: &'static str,
    /// Every check, in the order it ran.
    pub checks: Vec<Check>,
}

/// One attack from one side, and what it saw when it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was tried, naming the side: "`get` of B's ids, as A".
    pub name: String,
    /// `None` when the check passed; otherwise what leaked or went wrong.
    pub failure: Option<String>,
}

impl Report {
    fn new<S: TenantStore>() -> Self {
        let full = std::any::type_name::<S::Entity>();
        let entity = full.rsplit("::").next().unwrap_or(full);
        Self {
            entity,
            backend: S::BACKEND,
            checks: Vec::new(),
        }
    }

    /// Records a check named `name` that failed with `failure`, or passed when it is `None`.
    fn check(&mut self, name: impl Into<String>, failure: Option<String>) {
        self.checks.push(Check {
            name: name.into(),
            failure,
        });
    }

    /// Whether every check passed.
    pub fn is_isolated(&self) -> bool {
        self.failures().next().is_none()
    }

    /// The checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.failure.is_some())
    }

    /// Panics with the report when a check failed.
    #[track_caller]
    pub fn assert_isolated(&self) {
        assert!(self.is_isolated(), "{self}");
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed = self.failures().count();
        writeln!(
            f,
            "{} on {}: {} checks, {failed} failed",
            self.entity,
            self.backend,
            self.checks.len()
        )?;
        for c in &self.checks {
            match &c.failure {
                None => writeln!(f, "  ok      {}", c.name)?,
                Some(why) => writeln!(f, "  FAILED  {}: {why}", c.name)?,
            }
        }
        Ok(())
    }
}

/// A fresh tenant: a new user in a new organisation.
pub(crate) fn fresh_tenant() -> Principal {
    Principal::new(uuid::Uuid::new_v4(), uuid::Uuid::new_v4()).expect("random ids are not nil")
}

/// Runs the contract's attacks on `store` through `conn` between two fresh tenants, from both
/// sides (see the [module](self) docs). `new(n, id)` makes the `New` value of the `n`th seeded
/// entity, with the id `id` when it is given.
pub async fn isolation<S>(
    store: &S,
    conn: &S::Conn,
    new: impl Fn(u32, Option<S::Id>) -> S::New,
) -> Report
where
    S: TenantStore,
    S::Entity: Debug,
    S::Id: Debug + Ord,
{
    let mut report = Report::new::<S>();
    let mut probe = Probe {
        store,
        conn,
        new: &new,
        report: &mut report,
    };
    let (a, b) = (fresh_tenant(), fresh_tenant());
    let (Some(a_ids), Some(b_ids)) = (
        probe.seed(&a, "A", A_FIRST).await,
        probe.seed(&b, "B", B_FIRST).await,
    ) else {
        return report;
    };
    for (me, my, other, theirs, their_first, names) in [
        (&a, &a_ids, &b, &b_ids, B_FIRST, ("A", "B")),
        (&b, &b_ids, &a, &a_ids, A_FIRST, ("B", "A")),
    ] {
        probe.reads(me, my, theirs, names).await;
        probe.cursor(me, other, names).await;
        probe.writes(me, other, theirs, names).await;
        probe.same_values(me, their_first, names).await;
    }
    probe.delete_tenant(&a, &b, &b_ids).await;
    report
}

/// One run's store, connection and value maker, and the report it fills.
struct Probe<'r, S: TenantStore, N> {
    store: &'r S,
    conn: &'r S::Conn,
    new: &'r N,
    report: &'r mut Report,
}

impl<S, N> Probe<'_, S, N>
where
    S: TenantStore,
    S::Entity: Debug,
    S::Id: Debug + Ord,
    N: Fn(u32, Option<S::Id>) -> S::New,
{
    /// Inserts [`SEEDED`] entities for `who`, numbered from `from`; their ids, or `None` (and a
    /// failed check) when the store refused.
    async fn seed(&mut self, who: &Principal, name: &str, from: u32) -> Option<BTreeSet<S::Id>> {
        let mut ids = BTreeSet::new();
        for n in from..from + SEEDED {
            match self.store.insert(self.conn, who, (self.new)(n, None)).await {
                Ok(e) => {
                    ids.insert(S::id_of(&e));
                }
                Err(e) => {
                    self.report.check(
                        format!("seeding {name}"),
                        Some(format!("insert failed: {e}")),
                    );
                    return None;
                }
            }
        }
        self.report.check(format!("seeding {name}"), None);
        Some(ids)
    }

    /// The entity `id` as `who` reads it, as `Debug` text; `Err` with what went wrong.
    async fn read(&self, who: &Principal, id: &S::Id) -> Result<Option<String>, String> {
        match self.store.get(self.conn, who, id).await {
            Ok(e) => Ok(e.map(|e| format!("{e:?}"))),
            Err(e) => Err(format!("get failed: {e}")),
        }
    }

    /// Own reads, `get` of the other's ids, `list` and `count`, as `me`.
    async fn reads(
        &mut self,
        me: &Principal,
        my: &BTreeSet<S::Id>,
        theirs: &BTreeSet<S::Id>,
        (m, o): (&str, &str),
    ) {
        let mut own = None;
        let mut leaked = None;
        for id in my {
            if let Ok(None) | Err(_) = self.read(me, id).await {
                own = Some(format!("its own entity {id:?} does not read back"));
            }
        }
        for id in theirs {
            match self.read(me, id).await {
                Ok(None) => {}
                Ok(Some(e)) => leaked = Some(format!("returned {o}'s entity {e}")),
                Err(e) => leaked = Some(e),
            }
        }
        self.report.check(format!("own entities, as {m}"), own);
        self.report
            .check(format!("`get` of {o}'s ids, as {m}"), leaked);
        let listed = self.list_all(me).await;
        let failure = match &listed {
            Err(e) => Some(e.clone()),
            Ok(ids) if ids.iter().any(|id| theirs.contains(id)) => Some(format!(
                "listed {o}'s ids {:?}",
                ids.intersection(theirs).collect::<Vec<_>>()
            )),
            Ok(ids) if ids != my => Some(format!("listed {ids:?}, its own are {my:?}")),
            Ok(_) => None,
        };
        self.report
            .check(format!("`list`, every page, as {m}"), failure);
        let failure = match self.store.count(self.conn, me).await {
            Ok(n) if n == my.len() as u64 => None,
            Ok(n) => Some(format!("counted {n}, its own are {}", my.len())),
            Err(e) => Some(format!("count failed: {e}")),
        };
        self.report.check(format!("`count`, as {m}"), failure);
    }

    /// Every id of `who`'s listing, following its pages of two.
    async fn list_all(&self, who: &Principal) -> Result<BTreeSet<S::Id>, String> {
        let (mut ids, mut page) = (BTreeSet::new(), Page::first(2));
        loop {
            let listing = self
                .store
                .list(self.conn, who, page)
                .await
                .map_err(|e| format!("list failed: {e}"))?;
            ids.extend(listing.items.iter().map(S::id_of));
            match listing.next {
                Some(next) => page = next,
                None => return Ok(ids),
            }
        }
    }

    /// `other` lists with a cursor `me` was given.
    async fn cursor(&mut self, me: &Principal, other: &Principal, (m, o): (&str, &str)) {
        let next = match self.store.list(self.conn, me, Page::first(1)).await {
            Ok(listing) => listing.next,
            Err(e) => {
                let failure = Some(format!("list failed: {e}"));
                self.report
                    .check(format!("{m}'s cursor, used by {o}"), failure);
                return;
            }
        };
        let failure = match next {
            None => Some(format!("{m}'s first page of one has no next page")),
            Some(next) => match self.store.list(self.conn, other, next).await {
                Err(Error::InvalidInput(_)) => None,
                Err(e) => Some(format!("refused with {e:?}, not `InvalidInput`")),
                Ok(l) => Some(format!("accepted: a page of {} entities", l.items.len())),
            },
        };
        self.report
            .check(format!("{m}'s cursor, used by {o}"), failure);
    }

    /// `update`, `delete` and `insert` with the other's ids, as `me`: each must leave the
    /// other's entity as it was.
    async fn writes(
        &mut self,
        me: &Principal,
        other: &Principal,
        theirs: &BTreeSet<S::Id>,
        (m, o): (&str, &str),
    ) {
        let id = theirs.first().expect("seeded").clone();
        let before = self.read(other, &id).await;
        let outcome = self
            .store
            .update(self.conn, me, &id, (self.new)(900, None))
            .await;
        let failure = self
            .untouched(outcome, other, &id, &before, "updated")
            .await;
        self.report
            .check(format!("`update` of {o}'s id, as {m}"), failure);

        let outcome = self.store.delete(self.conn, me, &id).await;
        let failure = self
            .untouched(outcome, other, &id, &before, "deleted")
            .await;
        self.report
            .check(format!("`delete` of {o}'s id, as {m}"), failure);

        let failure = match self
            .store
            .insert(self.conn, me, (self.new)(901, Some(id.clone())))
            .await
        {
            Ok(_) => {
                let after = self.read(other, &id).await;
                (after != before).then(|| format!("{o}'s entity became {after:?}"))
            }
            Err(Error::Duplicate) => Some(format!(
                "`Duplicate` for an id only {o} has: the answer says the id exists elsewhere"
            )),
            Err(e) => Some(format!("insert failed: {e}")),
        };
        // The entity made with the other's id is the caller's own: gone before its listing is
        // checked again.
        let _ = self.store.delete(self.conn, me, &id).await;
        self.report
            .check(format!("`insert` with {o}'s id, as {m}"), failure);
    }

    /// `insert`, as `me`, of the values the other's first entity was made with (a new id): a
    /// unique key without the tenant column would answer `Duplicate`, saying the other
    /// tenant holds those values.
    async fn same_values(&mut self, me: &Principal, their_first: u32, (m, o): (&str, &str)) {
        let failure = match self
            .store
            .insert(self.conn, me, (self.new)(their_first, None))
            .await
        {
            Ok(e) => {
                let _ = self.store.delete(self.conn, me, &S::id_of(&e)).await;
                None
            }
            Err(Error::Duplicate) => Some(format!(
                "`Duplicate` for values only {o} holds: a unique key without the tenant column \
                 says they exist"
            )),
            Err(e) => Some(format!("insert failed: {e}")),
        };
        self.report
            .check(format!("`insert` of {o}'s values, as {m}"), failure);
    }

    /// The failure of a write that had to answer `NotFound` and leave `id` of `other` as
    /// `before`.
    async fn untouched<T>(
        &self,
        outcome: crate::Result<T>,
        other: &Principal,
        id: &S::Id,
        before: &Result<Option<String>, String>,
        verb: &str,
    ) -> Option<String> {
        let after = self.read(other, id).await;
        match outcome {
            Ok(_) => Some(format!(
                "{verb} the other tenant's entity; it is now {after:?}"
            )),
            Err(Error::NotFound) if after == *before => None,
            Err(Error::NotFound) => Some(format!(
                "answered `NotFound`, but the entity changed from {before:?} to {after:?}"
            )),
            Err(e) => Some(format!("answered {e:?}, not `NotFound`")),
        }
    }

    /// `delete_tenant` of A, then of B: each removes its own and none of the other's.
    async fn delete_tenant(&mut self, a: &Principal, b: &Principal, b_ids: &BTreeSet<S::Id>) {
        let failure = match self.store.delete_tenant(self.conn, a).await {
            Err(e) => Some(format!("delete_tenant failed: {e}")),
            Ok(_) => match (self.list_all(a).await, self.list_all(b).await) {
                (Ok(left), _) if !left.is_empty() => Some(format!("A still lists {left:?}")),
                (_, Ok(kept)) if kept != *b_ids => {
                    Some(format!("B lists {kept:?} afterwards, it had {b_ids:?}"))
                }
                (Err(e), _) | (_, Err(e)) => Some(e),
                _ => None,
            },
        };
        self.report
            .check("`delete_tenant` of A keeps B's entities", failure);
        // The count may include what a soft delete kept: at least B's live entities.
        let failure = match self.store.delete_tenant(self.conn, b).await {
            Ok(n) if n < b_ids.len() as u64 => Some(format!("removed {n}, B had {}", b_ids.len())),
            Ok(_) => match self.list_all(b).await {
                Ok(left) if left.is_empty() => None,
                Ok(left) => Some(format!("B still lists {left:?}")),
                Err(e) => Some(e),
            },
            Err(e) => Some(format!("delete_tenant failed: {e}")),
        };
        self.report
            .check("`delete_tenant` of B removes what B had", failure);
    }
}
