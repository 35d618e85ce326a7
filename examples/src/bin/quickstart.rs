//! The quickstart: two tenants write memories; each lists only its own; a cross-tenant get
//! returns None. Run with `scripts/demo.sh` (starts PostgreSQL, applies migrations, runs this).

use tenant_store::postgres::{Db, SigningKey, keys};
use tenant_store::{Page, Principal};
use tenant_store_examples::memory::{Memory, MemoryFilter, MemoryState, NewMemory};
use uuid::Uuid;

fn env(var: &str) -> Result<String, Box<dyn std::error::Error>> {
    std::env::var(var).map_err(|_| format!("{var} is not set; run `scripts/demo.sh`").into())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Operators apply migrations as the tables' owner...
    let owner = sqlx::PgPool::connect(&env("TENANT_STORE_PG_OWNER_URL")?).await?;
    sqlx::migrate::Migrator::new(tenant_store_examples::migrations_dir())
        .await?
        .run(&owner)
        .await?;
    println!("applied migrations/ as the owner role");
    // ...and install the key the application signs its tenant contexts with (in production:
    // `tenant-store-keys generate <id>` once, the key handed to the application as a secret).
    // A key of its own for each run, retired at the end.
    let key = SigningKey::generate(format!("qs-{}", &Uuid::new_v4().simple().to_string()[..12]))?;
    keys::install(&mut *owner.acquire().await?, &key).await?;
    println!("installed signing key `{}`", key.id());
    let key_id = key.id().to_owned();

    // The application connects as its own role, which the audit checks first.
    let db = Db::connect(&env("TENANT_STORE_PG_URL")?, key).await?;
    println!("connected as the application role; RLS audit and key check passed");

    let alice = Principal::from_unverified_claims(&serde_json::json!({
        "user_id": Uuid::new_v4().to_string(), "org_id": Uuid::new_v4().to_string()
    }))?;
    let bob = Principal::from_unverified_claims(&serde_json::json!({
        "user_id": Uuid::new_v4().to_string(), "org_id": Uuid::new_v4().to_string()
    }))?;
    let app_id = Uuid::new_v4();

    let mut alice_ids = Vec::new();
    for (who, texts) in [
        (&alice, ["likes tea", "lives in Lyon"]),
        (&bob, ["prefers email", "uses vim"]),
    ] {
        let mut tx = db.begin(who).await?;
        for content in texts {
            let m = Memory::store()
                .create(
                    &mut tx,
                    NewMemory {
                        app_id,
                        content: content.into(),
                        ..Default::default()
                    },
                )
                .await?;
            if who == &alice {
                alice_ids.push(m.id);
            }
            println!("user {} wrote memory {} ({content:?})", who.user_id(), m.id);
        }
        tx.commit().await?;
    }

    for (name, who) in [("alice", &alice), ("bob", &bob)] {
        let mut tx = db.begin(who).await?;
        let mine = Memory::store()
            .list(
                &mut tx,
                MemoryFilter::new().state(MemoryState::Active),
                Page::first(50),
            )
            .await?;
        tx.release();
        let contents: Vec<&str> = mine.iter().map(|m| m.content.as_str()).collect();
        println!("{name} lists {} memories: {contents:?}", mine.len());
        assert!(
            mine.iter().all(|m| m.user_id == who.user_id()),
            "a tenant saw another's memory"
        );
        assert_eq!(mine.len(), 2);
    }

    let mut tx = db.begin(&bob).await?;
    let stolen = Memory::store().get(&mut tx, alice_ids[0]).await?;
    println!("bob gets alice's memory {} by id: {stolen:?}", alice_ids[0]);
    assert!(stolen.is_none());
    // Hand-written SQL cannot claim alice either: the tenant context is signed.
    tx.execute(
        sqlx::query("SELECT set_config('tenant_store.ctx', $1, true)").bind(format!(
            "v1.{key_id}.0.0.{}.{}.00",
            alice.user_id(),
            alice.org_id()
        )),
    )
    .await?;
    let claimed = tx
        .fetch_all(sqlx::query("SELECT content FROM public.memories"))
        .await?;
    tx.release();
    println!("bob's forged tenant context sees {} rows", claimed.len());
    assert!(claimed.is_empty());
    keys::retire(&mut *owner.acquire().await?, &key_id).await?;
    owner.close().await;
    println!("retired signing key `{key_id}`");
    println!("quickstart: OK");
    Ok(())
}
