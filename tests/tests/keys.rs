//! Signing keys as an operator handles them: install, rotate with two keys valid at once,
//! retire; a retired or unknown key verifies nothing, seen from both tenants' sides.

use tenant_store::Error;
use tenant_store::postgres::{Db, SigningKey, keys};
use tenant_store_examples::memory::{Memory, NewMemory};
use tenant_store_tests::{app_url, migrate, owner_url, raw_pool, tenant};
use uuid::Uuid;

fn fresh_id(prefix: &str) -> String {
    format!("{prefix}-{}", &Uuid::new_v4().simple().to_string()[..12])
}

async fn owner_conn() -> sqlx::pool::PoolConnection<sqlx::Postgres> {
    raw_pool(&owner_url(), 1).await.acquire().await.unwrap()
}

#[tokio::test]
async fn a_rotation_keeps_both_keys_valid_until_the_old_one_is_retired() {
    migrate().await;
    let (old, new) = (
        SigningKey::generate(fresh_id("old")).unwrap(),
        SigningKey::generate(fresh_id("new")).unwrap(),
    );
    keys::install(&mut *owner_conn().await, &old).await.unwrap();
    let before = Db::connect(&app_url(), old.clone()).await.unwrap();
    let (a, b) = (tenant(), tenant());
    for who in [&a, &b] {
        let mut tx = before.begin(who).await.unwrap();
        Memory::store()
            .create(&mut tx, NewMemory::default())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    // Step 1: install the new key. Both verify; each tenant sees exactly its own row.
    keys::install(&mut *owner_conn().await, &new).await.unwrap();
    let after = Db::connect(&app_url(), new.clone()).await.unwrap();
    for db in [&before, &after] {
        for who in [&a, &b] {
            let mut tx = db.begin(who).await.unwrap();
            let mine = Memory::store()
                .list(&mut tx, Default::default(), tenant_store::Page::first(10))
                .await
                .unwrap()
                .items;
            assert_eq!(mine.len(), 1);
            assert_eq!(mine[0].user_id, who.user_id());
        }
    }

    // Step 3: retire the old key. Contexts signed with it verify nothing at once, and a new
    // connection with it is refused; the new key goes on working.
    assert!(
        keys::retire(&mut *owner_conn().await, old.id())
            .await
            .unwrap()
    );
    assert!(
        !keys::retire(&mut *owner_conn().await, old.id())
            .await
            .unwrap()
    );
    for who in [&a, &b] {
        let mut tx = before.begin(who).await.unwrap();
        let seen = Memory::store()
            .list(&mut tx, Default::default(), tenant_store::Page::first(10))
            .await
            .unwrap()
            .items;
        assert!(seen.is_empty(), "a retired key verifies nothing");
        let mut tx = after.begin(who).await.unwrap();
        let seen = Memory::store()
            .list(&mut tx, Default::default(), tenant_store::Page::first(10))
            .await
            .unwrap()
            .items;
        assert_eq!(seen.len(), 1);
    }
    match Db::connect(&app_url(), old.clone()).await {
        Err(Error::Audit(msg)) => {
            assert!(msg.contains(old.id()) && msg.contains("retired"), "{msg}")
        }
        other => panic!("a retired key must be refused at connect: {other:?}"),
    }
    // Installing it again does not bring it back, and says why.
    match keys::install(&mut *owner_conn().await, &old).await {
        Err(Error::InvalidInput(msg)) => assert!(
            msg.contains("is retired") && msg.contains("new id"),
            "{msg}"
        ),
        other => panic!("a retired key must not install: {other:?}"),
    }
    assert!(Db::connect(&app_url(), old.clone()).await.is_err());
    let listed = keys::list(&mut *owner_conn().await).await.unwrap();
    let state = |id: &str| {
        listed
            .iter()
            .find(|k| k.id == id)
            .map(|k| k.retired_at.is_some())
    };
    assert_eq!(
        (state(old.id()), state(new.id())),
        (Some(true), Some(false))
    );
    keys::retire(&mut *owner_conn().await, new.id())
        .await
        .unwrap();
}

#[tokio::test]
async fn installing_another_secret_under_an_existing_id_is_refused() {
    migrate().await;
    let id = fresh_id("dup");
    let first = SigningKey::generate(&id).unwrap();
    keys::install(&mut *owner_conn().await, &first)
        .await
        .unwrap();
    keys::install(&mut *owner_conn().await, &first)
        .await
        .expect("the same key again is a no-op");
    let other = SigningKey::generate(&id).unwrap();
    let err = keys::install(&mut *owner_conn().await, &other)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    keys::retire(&mut *owner_conn().await, &id).await.unwrap();
}

#[tokio::test]
async fn the_application_role_can_neither_read_nor_add_keys() {
    migrate().await;
    let app = raw_pool(&app_url(), 1).await;
    for sql in [
        "SELECT secret FROM tenant_store_private.keys",
        "INSERT INTO tenant_store_private.keys (id, secret) VALUES ('mine', decode(repeat('00', 32), 'hex'))",
        "UPDATE tenant_store_private.keys SET retired_at = NULL",
        "DELETE FROM tenant_store_private.tenant_tables",
    ] {
        let err = sqlx::query(sql).execute(&app).await.unwrap_err();
        assert!(
            err.to_string().contains("permission denied"),
            "{sql}: {err}"
        );
    }
}

/// The application's migration command manages keys (`tenant_store::cli`, `keys ...`): as the
/// owner it generates and installs, lists and retires; as the application role it is refused.
#[test]
fn the_migration_command_generates_lists_and_retires_keys() {
    use std::process::ExitCode;
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(migrate());
    let migrations = tenant_store::cli::Migrations::postgres(Default::default());
    let run = |url: &str, args: &[&str]| {
        let argv = ["migrations", "keys", "--database-url", url]
            .into_iter()
            .chain(args.iter().copied());
        tenant_store::cli::run(argv.map(str::to_owned).collect::<Vec<_>>(), &migrations)
    };
    let state = |id: &str| {
        rt.block_on(async {
            let mut conn = owner_conn().await;
            let all = keys::list(&mut conn).await.unwrap();
            all.into_iter()
                .find(|k| k.id == id)
                .map(|k| k.retired_at.is_some())
        })
    };
    let id = fresh_id("cli");
    let owner = owner_url();
    assert_eq!(run(&app_url(), &["generate", &id]), ExitCode::FAILURE);
    assert_eq!(state(&id), None, "the application role installed nothing");
    assert_eq!(run(&owner, &["generate", &id]), ExitCode::SUCCESS);
    assert_eq!(state(&id), Some(false), "installed and active");
    assert_eq!(run(&owner, &["list"]), ExitCode::SUCCESS);
    assert_eq!(
        run(&owner, &["generate", &id]),
        ExitCode::FAILURE,
        "the id is taken"
    );
    assert_eq!(run(&owner, &["retire", &id]), ExitCode::SUCCESS);
    assert_eq!(state(&id), Some(true), "retired");
    assert_eq!(
        run(&owner, &["retire", &id]),
        ExitCode::FAILURE,
        "already retired"
    );
    assert_eq!(run(&owner, &["generate", "no spaces"]), ExitCode::FAILURE);
}
