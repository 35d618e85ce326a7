//! What one user leaves on a pooled connection never reaches the next (issue #29, item 1).
//!
//! A pool of one connection, so the next call takes the very connection the attacker handed
//! back. For every path that hands out a connection (`Db::raw`, a `Db::begin` transaction's
//! hand-written SQL, an admin scope's), the attacker leaves every kind of state the path allows
//! (an open, failed or doubly begun transaction, a savepoint, a `COPY` whose answer it never
//! read, session settings, a held cursor, `LISTEN`, a prepared statement), then the other
//! tenant makes every kind of call on that connection. Each call must succeed as if the
//! connection were new; afterwards the attacker, on the same connection again, sees none of the
//! victim's rows, and its `ROLLBACK` cannot undo the victim's acknowledged write. Both tenants
//! take both sides.
//!
//! Before the fix, a `Db::raw` lease was given back inside the transaction its SQL opened: the
//! next tenant's single operation ran in it and was acknowledged, its gate left the tenant's
//! context set in that transaction, and the attacker's next `Db::raw` read the tenant's rows
//! and rolled its write back.

use sqlx::{Executor as _, Row as _};
use tenant_store::Principal;
use tenant_store::postgres::Db;
use tenant_store_examples::memory::{Memory, NewMemory};
use tenant_store_tests::{db_with, tenant};
use uuid::Uuid;

/// State the attacker's SQL leaves behind; each is sent as one simple-query message.
const LEFT: [(&str, &str); 10] = [
    ("open transaction", "BEGIN"),
    ("failed transaction", "BEGIN; SELECT 1/0"),
    ("savepoint", "BEGIN; SAVEPOINT s"),
    ("second BEGIN", "BEGIN; BEGIN"),
    ("transaction ended and begun again", "COMMIT; BEGIN"),
    (
        "COPY answer unread",
        "COPY (SELECT g FROM generate_series(1, 1000) g) TO STDOUT",
    ),
    (
        "session settings",
        "SET statement_timeout = 1; SET search_path = pg_catalog",
    ),
    ("held cursor", "DECLARE held CURSOR WITH HOLD FOR SELECT 1"),
    ("LISTEN", "LISTEN leftover"),
    ("prepared statement", "PREPARE leftover AS SELECT 1"),
];

#[derive(Debug, Clone, Copy)]
enum Path {
    Raw,
    Tx,
    Admin,
}

/// The attacker `me` leaves `sql`'s state on the pool's only connection through `path`, and
/// gives the connection back (errors are the attacker's own and ignored).
async fn leave(db: &Db, path: Path, me: &Principal, sql: &'static str) {
    match path {
        Path::Raw => {
            let mut raw = db.raw().await.unwrap();
            let _ = raw.execute(sqlx::raw_sql(sql)).await;
        }
        Path::Tx => {
            let mut tx = db.begin(me).await.unwrap();
            let _ = tx.execute(sqlx::raw_sql(sql)).await;
            let _ = tx.commit().await;
        }
        Path::Admin => {
            let mut admin = db.admin(me, "handed_back test").await.unwrap();
            let tx = admin.enter(me).await.unwrap();
            let _ = tx.execute(sqlx::raw_sql(sql)).await;
            let _ = admin.commit().await;
        }
    }
}

/// The victim's calls; each returns the id of a row it created, if it created one.
#[derive(Debug, Clone, Copy)]
enum Call {
    CreateAlone,
    ListAlone,
    CreateInTx,
    Raw,
}

/// Each call must succeed as on a new connection; an error is returned as the finding.
async fn call(db: &Db, call: Call, victim: &Principal) -> Result<Option<Uuid>, String> {
    let new = NewMemory {
        content: "victim's secret".into(),
        ..Default::default()
    };
    match call {
        Call::CreateAlone => {
            let m = Memory::store().create(&mut db.tenant(victim), new).await;
            Ok(Some(m.map_err(|e| e.to_string())?.id))
        }
        Call::ListAlone => {
            let page = Memory::store()
                .list(
                    &mut db.tenant(victim),
                    Default::default(),
                    tenant_store::Page::first(10),
                )
                .await
                .map_err(|e| e.to_string())?;
            if page.items.iter().any(|m| m.user_id != victim.user_id()) {
                return Err("listed another tenant's rows".into());
            }
            Ok(None)
        }
        Call::CreateInTx => {
            let mut tx = db.begin(victim).await.map_err(|e| e.to_string())?;
            let m = Memory::store().create(&mut tx, new).await;
            let id = m.map_err(|e| e.to_string())?.id;
            tx.commit().await.map_err(|e| e.to_string())?;
            Ok(Some(id))
        }
        Call::Raw => {
            let mut raw = db.raw().await.map_err(|e| e.to_string())?;
            // A simple query: in it, a statement that opens its own transaction starts when
            // the transaction does (in the extended protocol the two differ).
            let row = sqlx::raw_sql(
                "SELECT (SELECT count(*) FROM public.memories),
                        coalesce(current_setting('tenant_store.ctx', true), ''),
                        transaction_timestamp() <> statement_timestamp()",
            )
            .fetch_one(&mut *raw)
            .await
            .map_err(|e| e.to_string())?;
            let (rows, ctx, in_tx): (i64, String, bool) = (row.get(0), row.get(1), row.get(2));
            if (rows, ctx.as_str(), in_tx) != (0, "", false) {
                return Err(format!(
                    "raw saw {rows} rows, context {ctx:?}, in a transaction: {in_tx}"
                ));
            }
            Ok(None)
        }
    }
}

/// Rows of `victim` the attacker sees on the pool's connection now, after which it rolls back
/// whatever transaction that connection is in.
async fn attacker_sees(db: &Db, victim: &Principal) -> i64 {
    let mut raw = db.raw().await.unwrap();
    let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM public.memories WHERE user_id = $1")
        .bind(victim.user_id())
        .fetch_one(&mut *raw)
        .await
        .unwrap();
    let _ = raw.execute("ROLLBACK").await;
    seen
}

#[tokio::test]
async fn every_path_hands_its_connection_back_clean() {
    let db = db_with(1).await;
    let (a, b) = (tenant(), tenant());
    let (mut scenarios, mut findings) = (0, Vec::new());
    for (me, victim) in [(&a, &b), (&b, &a)] {
        for path in [Path::Raw, Path::Tx, Path::Admin] {
            for (state, sql) in LEFT {
                for c in [
                    Call::CreateAlone,
                    Call::ListAlone,
                    Call::CreateInTx,
                    Call::Raw,
                ] {
                    let what = format!("{path:?} left {state}, then {c:?}");
                    leave(&db, path, me, sql).await;
                    let created = match call(&db, c, victim).await {
                        Ok(created) => created,
                        Err(e) => {
                            findings.push(format!("{what}: the call failed: {e}"));
                            None
                        }
                    };
                    let seen = attacker_sees(&db, victim).await;
                    if seen > 0 {
                        findings.push(format!("{what}: the attacker read {seen} rows"));
                    }
                    if let Some(id) = created {
                        match Memory::store().get(&mut db.tenant(victim), id).await {
                            Ok(Some(_)) => {}
                            Ok(None) => findings.push(format!("{what}: the create was undone")),
                            Err(e) => findings.push(format!("{what}: reading it back: {e}")),
                        }
                    }
                    scenarios += 1;
                }
            }
        }
    }
    assert_eq!(scenarios, 2 * 3 * LEFT.len() * 4);
    assert!(
        findings.is_empty(),
        "{} findings:\n{}",
        findings.len(),
        findings.join("\n")
    );
}

#[tokio::test]
async fn db_raw_replaces_a_connection_the_server_ended_while_pooled() {
    let db = db_with(1).await;
    let pid = tenant_store_tests::raw_pid(&db).await;
    let su = tenant_store_tests::raw_pool(&tenant_store_tests::super_url(), 1).await;
    let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1, 5000)")
        .bind(pid)
        .fetch_one(&su)
        .await
        .unwrap();
    assert!(ended);
    // The pooled connection is dead; the caller's first query runs on a new one.
    let mut raw = db.raw().await.unwrap();
    let now: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *raw)
        .await
        .unwrap();
    assert_ne!(now, pid);
}
