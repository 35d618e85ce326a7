//! PostgreSQL restarted under load (fast and immediate shutdown): a `create_many` is whole or
//! absent, every acknowledged single create is present once, and the same `Db` serves again.
//!
//! The tests restart the test server with `pg_ctl` as its `postgres` user (through `runuser`),
//! so they run as root, as `scripts/test.sh` does. They hold one lock: nothing else in this
//! binary talks to the server while it restarts.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tenant_store::postgres::{Db, DbOptions};
use tenant_store::{Error, Principal};
use tenant_store_examples::memory::{Memory, MemoryFilter, NewMemory};
use tenant_store_tests::{app_url, key, migrate, raw_pool, super_url, tenant};
use uuid::Uuid;

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Restarts the server with `pg_ctl -m <mode>` and waits until it accepts connections.
async fn restart(mode: &str) {
    let su = raw_pool(&super_url(), 1).await;
    let data: String =
        sqlx::query_scalar("SELECT setting FROM pg_settings WHERE name = 'data_directory'")
            .fetch_one(&su)
            .await
            .unwrap();
    let bin: String = sqlx::query_scalar("SELECT setting FROM pg_config WHERE name = 'BINDIR'")
        .fetch_one(&su)
        .await
        .unwrap();
    su.close().await;
    let log = PathBuf::from(&data).with_file_name("server.log");
    let out = tokio::process::Command::new("runuser")
        .args([
            "-u",
            "postgres",
            "--",
            &format!("{bin}/pg_ctl"),
            "-D",
            &data,
        ])
        .args([
            "-l",
            &log.to_string_lossy(),
            "-m",
            mode,
            "-w",
            "-t",
            "60",
            "restart",
        ])
        .output()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot run runuser/pg_ctl ({e}): run the tests as root, as scripts/test.sh does"
            )
        });
    assert!(
        out.status.success(),
        "pg_ctl restart -m {mode} failed: {}{} (run as root, as scripts/test.sh does)",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn db() -> Db {
    migrate().await;
    Db::connect_with(&app_url(), key(), DbOptions::default().max_connections(4))
        .await
        .unwrap()
}

/// The tenant's rows, read on a fresh connection (the pool's may be dead).
async fn ids_of(who: &Principal) -> HashSet<Uuid> {
    let direct = Db::connect(&app_url(), key()).await.unwrap();
    let mut tx = direct.begin(who).await.unwrap();
    let rows: Vec<(Uuid,)> = tx
        .fetch_all_as(sqlx::query("SELECT id FROM public.memories"))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    rows.into_iter().map(|(id,)| id).collect()
}

/// The same `Db` serves again once the server is back: a create, within 30 s of retries.
async fn serves_again(db: &Db, who: &Principal) {
    let start = Instant::now();
    loop {
        match Memory::store()
            .create(&mut db.tenant(who), NewMemory::default())
            .await
        {
            Ok(_) => return,
            Err(e) if start.elapsed() < Duration::from_secs(30) => {
                assert!(
                    matches!(e, Error::Unavailable(_) | Error::Timeout(_)),
                    "{e}"
                );
                // The error names the server it could not reach.
                assert!(e.to_string().contains("postgresql at "), "{e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the pool did not serve again: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_many_cut_by_a_restart_is_whole_or_absent() {
    let _serial = SERIAL.lock().await;
    let db = db().await;
    for mode in ["fast", "immediate"] {
        let who = tenant();
        // 30 chunks: one transaction on a TenantDb, long enough to be cut.
        let rows = (0..300_000).map(|i| NewMemory {
            content: format!("row {i}"),
            ..Default::default()
        });
        let load = {
            let (db, who) = (db.clone(), who.clone());
            tokio::spawn(async move {
                Memory::store()
                    .create_many(&mut db.tenant(&who), rows)
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(
            !load.is_finished(),
            "{mode}: the batch ended before the restart"
        );
        restart(mode).await;
        let result = load.await.unwrap();
        assert!(
            result.is_err(),
            "{mode}: a batch cut by the restart reported {result:?}"
        );
        // Cut after its first message: the error still names the server.
        let err = result.unwrap_err();
        assert!(
            matches!(&err, Error::Unavailable(m) if m.contains("postgresql at ")),
            "{mode}: {err:?}"
        );
        assert_eq!(
            ids_of(&who).await.len(),
            0,
            "{mode}: part of the batch is stored"
        );
        serves_again(&db, &who).await;
        // And a whole batch goes through on the same Db afterwards.
        let n = Memory::store()
            .create_many(
                &mut db.tenant(&who),
                (0..25_000).map(|_| NewMemory::default()),
            )
            .await
            .unwrap();
        assert_eq!(n, 25_000, "{mode}");
        assert_eq!(ids_of(&who).await.len(), 25_001, "{mode}");
        Memory::store()
            .delete_tenant(&mut db.tenant(&who))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_creates_from_several_tasks_across_a_restart_are_each_stored_once_when_acknowledged()
{
    let _serial = SERIAL.lock().await;
    let db = db().await;
    for mode in ["fast", "immediate"] {
        let who = tenant();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let (db, who, stop) = (db.clone(), who.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let (mut acked, mut failed) = (Vec::new(), 0usize);
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let id = Uuid::new_v4();
                    let new = NewMemory {
                        id: Some(id),
                        ..Default::default()
                    };
                    match Memory::store().create(&mut db.tenant(&who), new).await {
                        Ok(m) => {
                            assert_eq!(m.id, id);
                            acked.push(id);
                        }
                        Err(_) => {
                            failed += 1;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
                (acked, failed)
            }));
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
        restart(mode).await;
        // Keep going until every task has been acknowledged again after the restart.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let (mut acked, mut failed) = (Vec::new(), 0);
        for t in tasks {
            let (a, f) = t.await.unwrap();
            acked.extend(a);
            failed += f;
        }
        let stored = ids_of(&who).await;
        let unique: HashSet<Uuid> = acked.iter().copied().collect();
        println!(
            "{mode}: {} acknowledged, {failed} failed during the restart, {} stored",
            acked.len(),
            stored.len()
        );
        assert_eq!(
            unique.len(),
            acked.len(),
            "{mode}: a row acknowledged twice"
        );
        assert!(
            unique.is_subset(&stored),
            "{mode}: an acknowledged row is missing"
        );
        assert!(failed > 0, "{mode}: the restart cut no call");
        serves_again(&db, &who).await;
        let count = Memory::store()
            .count(&mut db.tenant(&who), MemoryFilter::new())
            .await
            .unwrap();
        assert_eq!(count as usize, stored.len() + 1, "{mode}");
    }
}
