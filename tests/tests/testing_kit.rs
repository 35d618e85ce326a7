//! `tenant_store::testing`, the kit users run on their own entities: it passes on every
//! backend's example store as generated, and fails, naming the cause, on a database or a
//! store deliberately broken in the ways a user's own could be.

use serde::{Deserialize, Serialize};
use tenant_store::Principal;
use tenant_store::contract::TenantStore;
use tenant_store::testing::{self, Report};
use tenant_store_examples::memory::{Memory, NewMemory};
use tenant_store_tests::fixtures::{self, Fixture};
use tenant_store_tests::{ScratchDb, raw_pool, super_url, with_database};

async fn kit<F: Fixture>() -> Report
where
    <F::S as TenantStore>::Id: std::fmt::Debug + Ord,
{
    let conn = F::conn().await;
    let started = std::time::Instant::now();
    let report = testing::isolation(&F::store(), &conn, F::new).await;
    // What the kit costs, printed with `-- --nocapture` (for the README; never asserted).
    eprintln!(
        "{} on {}: {:?}",
        report.entity,
        report.backend,
        started.elapsed()
    );
    report
}

fn new_memory(n: u32, id: Option<uuid::Uuid>) -> NewMemory {
    fixtures::Pg::new(n, id)
}

/// The check named `name` failed, and its failure says `cause`.
fn failed_with(report: &Report, name: &str, cause: &str) {
    let check = report
        .checks
        .iter()
        .find(|c| c.name.contains(name))
        .unwrap_or_else(|| panic!("no check named {name:?}:\n{report}"));
    let failure = check
        .failure
        .as_deref()
        .unwrap_or_else(|| panic!("{name:?} passed on a broken store:\n{report}"));
    assert!(
        failure.contains(cause),
        "{name:?} does not say {cause:?}:\n{report}"
    );
}

/// `me`'s `get` and `list` returned `other`'s entities.
fn reads_leak(report: &Report, me: &str, other: &str) {
    failed_with(
        report,
        &format!("`get` of {other}'s ids, as {me}"),
        &format!("returned {other}'s entity"),
    );
    failed_with(
        report,
        &format!("`list`, every page, as {me}"),
        &format!("listed {other}'s ids"),
    );
}

#[tokio::test]
async fn the_generated_postgres_schema_passes_every_check() {
    let db = tenant_store_tests::db().await;
    let started = std::time::Instant::now();
    let report = testing::postgres::isolation::<Memory>(&db, new_memory).await;
    eprintln!("Memory on postgres: {:?}", started.elapsed());
    report.assert_isolated();
    // The contract's attacks from both sides, the audit and the SQL checks all ran.
    assert!(report.checks.len() >= 25, "{report}");
    assert_eq!((report.entity, report.backend), ("Memory", "postgres"));
}

#[tokio::test]
async fn every_document_backend_passes_every_check() {
    for report in [
        kit::<fixtures::Valkey>().await,
        kit::<fixtures::OpenSearch>().await,
        kit::<fixtures::Neo4j>().await,
        kit::<fixtures::Qdrant>().await,
    ] {
        report.assert_isolated();
        assert!(report.checks.len() >= 20, "{report}");
    }
}

/// A scratch database with the examples' schema, `break_it` run on it as the tables' owner,
/// and the kit's report on `Memory` there.
async fn kit_on_broken(break_it: &str) -> Report {
    kit_on_broken_as(break_it, false).await
}

/// [`kit_on_broken`], with `break_it` run by a superuser when `superuser`.
async fn kit_on_broken_as(break_it: &str, superuser: bool) -> Report {
    let scratch = ScratchDb::new("ts_kit").await;
    let db = scratch.examples_db(4).await;
    let url = match superuser {
        true => with_database(&super_url(), &scratch.name),
        false => scratch.owner_url(),
    };
    let owner = raw_pool(&url, 1).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(break_it.to_owned()))
        .execute(&owner)
        .await
        .unwrap();
    owner.close().await;
    let report = testing::postgres::isolation::<Memory>(&db, new_memory).await;
    drop(db);
    // The audit command finds each of these too, without starting the application (on the
    // generated schema it exits 0: `audit.rs`).
    let url = scratch.app_url();
    let exit = tokio::task::spawn_blocking(move || {
        let migrations = tenant_store::cli::Migrations::postgres(tenant_store_examples::entities());
        let args = ["migrations", "audit", "--database-url", &url];
        tenant_store::cli::run(args.map(str::to_owned).to_vec(), &migrations)
    })
    .await
    .unwrap();
    scratch.drop().await;
    assert_eq!(
        exit,
        std::process::ExitCode::FAILURE,
        "audit --database-url after {break_it}"
    );
    report
}

#[tokio::test]
async fn a_loosened_policy_fails_the_audit_and_leaks_reads_from_both_sides() {
    let report = kit_on_broken(
        "ALTER POLICY tenant_isolation ON public.memories USING (true) WITH CHECK (true)",
    )
    .await;
    assert!(!report.is_isolated());
    failed_with(&report, "the start-up audit", "public.memories");
    for (me, other) in [("A", "B"), ("B", "A")] {
        reads_leak(&report, me, other);
        failed_with(
            &report,
            &format!("hand-written SQL in {me}'s transaction"),
            &format!("of {other}'s rows"),
        );
    }
}

#[tokio::test]
async fn a_policy_that_also_trusts_a_plain_setting_leaks_to_a_context_set_by_hand() {
    // A "support" backdoor: the generated condition, or the setting's text as the tenant id.
    // Generated statements still work (their context is a signed token, not an id).
    let report = kit_on_broken(
        "ALTER POLICY tenant_isolation ON public.memories
             USING (\"user_id\" = (SELECT tenant_store_private.current_tenant('user_id'))
                    OR \"user_id\"::text = current_setting('tenant_store.ctx', true))",
    )
    .await;
    failed_with(&report, "the start-up audit", "public.memories");
    for (me, other) in [("A", "B"), ("B", "A")] {
        failed_with(
            &report,
            &format!("a context set by hand in {me}'s transaction shows none of {other}'s"),
            "rows after setting",
        );
        // What the generated store does is not touched: its reads stay the tenant's own.
        let get = format!("`get` of {other}'s ids, as {me}");
        assert!(
            report
                .checks
                .iter()
                .any(|c| c.name == get && c.failure.is_none()),
            "{report}"
        );
    }
}

#[tokio::test]
async fn an_extra_permissive_policy_is_found_by_the_audit_and_by_the_reads() {
    let report = kit_on_broken(
        "CREATE POLICY support_reads ON public.memories FOR SELECT TO tenant_store_app USING (true)",
    )
    .await;
    failed_with(&report, "the start-up audit", "support_reads");
    failed_with(&report, "`get` of B's ids, as A", "returned B's entity");
    failed_with(&report, "`count`, as A", "counted");
}

#[tokio::test]
async fn a_unique_index_without_the_tenant_column_is_found_from_both_sides() {
    // A user's own index, over every tenant: "already exists" tells one tenant what another
    // wrote.
    let report =
        kit_on_broken("CREATE UNIQUE INDEX memories_content_key ON public.memories (content)")
            .await;
    failed_with(
        &report,
        "the start-up audit",
        "unique index public.memories_content_key of table public.memories leaves out the tenant column user_id",
    );
    for (me, other) in [("A", "B"), ("B", "A")] {
        failed_with(
            &report,
            &format!("`insert` of {other}'s values, as {me}"),
            "a unique key without the tenant column",
        );
    }
}

#[tokio::test]
async fn a_reference_without_the_tenant_column_is_found_by_the_audit() {
    // A user's own key over the id alone, which a user may think unique enough (it is a UUID).
    let report = kit_on_broken(
        "CREATE UNIQUE INDEX experiments_id_key ON public.experiments (id);
         ALTER TABLE public.experiment_variants ADD CONSTRAINT variants_experiment_global
             FOREIGN KEY (experiment_id) REFERENCES public.experiments (id)",
    )
    .await;
    failed_with(
        &report,
        "the start-up audit",
        "foreign key variants_experiment_global of table public.experiment_variants references \
         experiments without pairing the tenant columns",
    );
}

/// An exclusion constraint with `=` rejects a row for another tenant's row as a unique key
/// does, but its index is not marked unique.
#[tokio::test]
async fn an_exclusion_constraint_without_the_tenant_column_is_found_by_the_audit() {
    let report = kit_on_broken(
        "ALTER TABLE public.memories ADD CONSTRAINT memories_content_excl
             EXCLUDE USING btree (content WITH =)",
    )
    .await;
    failed_with(
        &report,
        "the start-up audit",
        "exclusion index public.memories_content_excl of table public.memories leaves out the tenant column user_id",
    );
}

/// An exclusion that names the tenant column with another operator than `=` spans tenants:
/// `user_id WITH <>` refuses a row for an equal `content` in any *other* tenant.
#[tokio::test]
async fn an_exclusion_over_the_tenant_column_with_another_operator_is_found_by_the_audit() {
    let report = kit_on_broken_as(
        "CREATE EXTENSION IF NOT EXISTS btree_gist;
         ALTER TABLE public.memories ADD CONSTRAINT memories_content_elsewhere
             EXCLUDE USING gist (user_id WITH <>, content WITH =)",
        true,
    )
    .await;
    failed_with(
        &report,
        "the start-up audit",
        "exclusion index public.memories_content_elsewhere of table public.memories leaves out",
    );
}

/// A table without a tenant column, with a key into a tenant table. Its writer names any
/// tenant's `(user_id, id)`: referential checks bypass RLS, so whether the insert succeeds
/// says whether that tenant has the row.
const NOTES_REFERENCE_MEMORIES: &str =
    "CREATE TABLE public.memory_notes (user_id uuid, memory_id uuid, note text,
         CONSTRAINT memory_notes_memory FOREIGN KEY (user_id, memory_id)
             REFERENCES public.memories (user_id, id));
     GRANT SELECT, INSERT ON public.memory_notes TO tenant_store_app";

/// Whether `me` may write a note naming `(user_id, id)` in `memory_notes`.
async fn probe(
    db: &tenant_store::postgres::Db,
    me: &Principal,
    user_id: uuid::Uuid,
    id: uuid::Uuid,
) -> bool {
    let mut tx = db.begin(me).await.unwrap();
    let insert = sqlx::query("INSERT INTO public.memory_notes VALUES ($1, $2, 'probe')")
        .bind(user_id)
        .bind(id);
    tx.execute(insert).await.is_ok()
}

#[tokio::test]
async fn a_reference_from_a_table_outside_the_tenants_shows_their_rows() {
    // The attack itself, as the application role, tenant A probing for B's memory.
    let scratch = ScratchDb::new("ts_kit_ref").await;
    let db = scratch.examples_db(2).await;
    let owner = raw_pool(&scratch.owner_url(), 1).await;
    sqlx::raw_sql(NOTES_REFERENCE_MEMORIES)
        .execute(&owner)
        .await
        .unwrap();
    owner.close().await;
    let (a, b) = (tenant_store_tests::tenant(), tenant_store_tests::tenant());
    let mut tx = db.begin(&b).await.unwrap();
    let theirs = Memory::store()
        .create(&mut tx, new_memory(1, None))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let exists = probe(&db, &a, b.user_id(), theirs.id).await;
    let absent = probe(&db, &a, b.user_id(), uuid::Uuid::new_v4()).await;
    drop(db);
    scratch.drop().await;
    assert!(exists && !absent, "the probe tells B's row from no row");
}

#[tokio::test]
async fn a_reference_from_a_table_outside_the_tenants_is_found_by_the_audit() {
    let report = kit_on_broken(NOTES_REFERENCE_MEMORIES).await;
    failed_with(
        &report,
        "the start-up audit",
        "foreign key memory_notes_memory of table public.memory_notes references memories",
    );
}

#[tokio::test]
async fn a_table_without_force_is_found_by_the_audit() {
    let report = kit_on_broken("ALTER TABLE public.memories NO FORCE ROW LEVEL SECURITY").await;
    failed_with(&report, "the start-up audit", "FORCE");
    // The application role does not own the table, so its reads stay isolated: only the
    // audit can see this one.
    let others: Vec<_> = report
        .failures()
        .filter(|c| !c.name.contains("audit"))
        .collect();
    assert!(others.is_empty(), "{report}");
}

#[tokio::test]
async fn a_view_that_bypasses_rls_is_found_by_the_audit() {
    // A superuser's view reads as its owner, past RLS. (The owner's own view stays filtered:
    // FORCE makes the policy apply to the owner.)
    let report = kit_on_broken_as(
        "CREATE VIEW public.all_memories AS SELECT * FROM public.memories;
         GRANT SELECT ON public.all_memories TO tenant_store_app",
        true,
    )
    .await;
    failed_with(&report, "the start-up audit", "all_memories");
}

/// A store written by hand over a generated one that forgets whose call it is: every call
/// runs as one fixed tenant. What a user's own wrapper (a cache, a repository layer) can get
/// wrong on any backend.
struct Forgetful(<fixtures::Valkey as Fixture>::S, Principal);

impl TenantStore for Forgetful {
    type Conn = tenant_store::valkey::Client;
    type Entity = tenant_store_examples::episodic::Episode;
    type New = tenant_store_examples::episodic::NewEpisode;
    type Id = (String, String);
    const BACKEND: &'static str = "valkey";
    const UPSERTS: bool = true;
    fn id_of(e: &Self::Entity) -> Self::Id {
        <<fixtures::Valkey as Fixture>::S as TenantStore>::id_of(e)
    }
    fn insert<'a>(
        &'a self,
        c: &'a Self::Conn,
        _: &'a Principal,
        new: Self::New,
    ) -> tenant_store::contract::Boxed<'a, Self::Entity> {
        TenantStore::insert(&self.0, c, &self.1, new)
    }
    fn get<'a>(
        &'a self,
        c: &'a Self::Conn,
        _: &'a Principal,
        id: &'a Self::Id,
    ) -> tenant_store::contract::Boxed<'a, Option<Self::Entity>> {
        TenantStore::get(&self.0, c, &self.1, id)
    }
    fn list<'a>(
        &'a self,
        c: &'a Self::Conn,
        _: &'a Principal,
        page: tenant_store::Page,
    ) -> tenant_store::contract::Boxed<'a, tenant_store::Listing<Self::Entity>> {
        TenantStore::list(&self.0, c, &self.1, page)
    }
    fn count<'a>(
        &'a self,
        c: &'a Self::Conn,
        _: &'a Principal,
    ) -> tenant_store::contract::Boxed<'a, u64> {
        TenantStore::count(&self.0, c, &self.1)
    }
    fn update<'a>(
        &'a self,
        c: &'a Self::Conn,
        _: &'a Principal,
        id: &'a Self::Id,
        new: Self::New,
    ) -> tenant_store::contract::Boxed<'a, Self::Entity> {
        TenantStore::update(&self.0, c, &self.1, id, new)
    }
    fn delete<'a>(
        &'a self,
        c: &'a Self::Conn,
        _: &'a Principal,
        id: &'a Self::Id,
    ) -> tenant_store::contract::Boxed<'a, ()> {
        TenantStore::delete(&self.0, c, &self.1, id)
    }
    fn delete_tenant<'a>(
        &'a self,
        c: &'a Self::Conn,
        _: &'a Principal,
    ) -> tenant_store::contract::Boxed<'a, u64> {
        TenantStore::delete_tenant(&self.0, c, &self.1)
    }
}

#[tokio::test]
async fn a_store_that_forgets_the_caller_fails_from_both_sides() {
    let conn = fixtures::Valkey::conn().await;
    let shared = tenant_store_tests::tenant();
    let store = Forgetful(fixtures::Valkey::store(), shared);
    let report = testing::isolation(&store, &conn, fixtures::Valkey::new).await;
    for (me, other) in [("A", "B"), ("B", "A")] {
        reads_leak(&report, me, other);
        failed_with(
            &report,
            &format!("`update` of {other}'s id, as {me}"),
            "updated the other tenant's entity",
        );
    }
    failed_with(&report, "`delete_tenant` of A keeps B's", "B lists");
}

/// A Qdrant entity of its own model, so its collection can be broken without touching the one
/// the other tests use.
#[tenant_store::tenant_store(
    backend = "qdrant",
    scope = "org_id",
    model = "kit_probe",
    dims = 4,
    distance = "cosine"
)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    #[tenant_store(id)]
    pub id: uuid::Uuid,
    pub org_id: uuid::Uuid,
    pub text: String,
}

fn new_chunk(n: u32, id: Option<uuid::Uuid>) -> (NewChunk, Vec<f32>) {
    let new = NewChunk {
        id,
        text: format!("chunk #{n}"),
    };
    (new, vec![1.0, 0.5, 0.25, n as f32])
}

#[tokio::test]
async fn a_qdrant_collection_without_its_tenant_index_is_found() {
    let client = tenant_store_tests::qdrant_client().await;
    let store = Chunk::store();
    store.ensure_collection(&client).await.unwrap();
    testing::qdrant::isolation::<Chunk>(&client, new_chunk)
        .await
        .assert_isolated();

    // Dropped by hand (or never made: a collection created outside `ensure_collection`).
    let raw = qdrant_client::Qdrant::from_url(&tenant_store_tests::qdrant_url())
        .build()
        .unwrap();
    raw.delete_field_index(qdrant_client::qdrant::DeleteFieldIndexCollection {
        collection_name: tenant_store::qdrant::collection_name::<Chunk>(),
        field_name: "org_id".into(),
        wait: Some(true),
        ..Default::default()
    })
    .await
    .unwrap();
    let report = testing::qdrant::isolation::<Chunk>(&client, new_chunk).await;
    failed_with(
        &report,
        "the collection's tenant payload index",
        "no keyword payload index on `org_id` marked `is_tenant`",
    );
    // Filters still keep the tenants apart; only the index is missing.
    assert_eq!(report.failures().count(), 1, "{report}");

    store.ensure_collection(&client).await.unwrap();
    testing::qdrant::isolation::<Chunk>(&client, new_chunk)
        .await
        .assert_isolated();
}
