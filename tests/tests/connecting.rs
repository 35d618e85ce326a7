//! Connecting is not a call: a server slow to answer its first messages (a loaded machine)
//! is connected within the connect timeout even when that is longer than the call timeout;
//! past the connect timeout, and on a refused port, the error names the backend and the
//! address. Shown on PostgreSQL and on Neo4j's Bolt (where both README commands once stopped
//! with a bare `Error: Timeout`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tenant_store::neo4j::{Client, Neo4jConfig};
use tenant_store::postgres::{Db, DbOptions};
use tenant_store::{Error, Resilience};
use tenant_store_tests::{app_url, free_port, host_port, key, neo4j_config, via};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A loopback proxy in front of `target` that holds each connection's first answer from the
/// server for `delay`: what a client sees of a server on a loaded machine.
async fn slow_first_answer(target: String, delay: Duration) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let upstream = tokio::net::TcpStream::connect(&target).await.unwrap();
            let (mut cr, mut cw) = client.into_split();
            let (mut ur, mut uw) = upstream.into_split();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n @ 1..) = cr.read(&mut buf).await {
                    if uw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut first = true;
                while let Ok(n @ 1..) = ur.read(&mut buf).await {
                    if std::mem::take(&mut first) {
                        tokio::time::sleep(delay).await;
                    }
                    if cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

/// A port that accepts connections and never says anything.
async fn silent() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    addr
}

fn resilience(call_ms: u64, connect_ms: u64) -> Resilience {
    Resilience {
        timeout: Duration::from_millis(call_ms),
        connect_timeout: Duration::from_millis(connect_ms),
        ..Resilience::default()
    }
}

fn bolt_via(addr: SocketAddr) -> Neo4jConfig {
    Neo4jConfig {
        uri: format!("bolt://{addr}"),
        ..neo4j_config()
    }
}

#[tokio::test]
async fn a_slow_bolt_handshake_connects_within_the_connect_timeout_not_the_call_timeout() {
    let target = neo4j_config().uri.trim_start_matches("bolt://").to_owned();
    let slow = slow_first_answer(target, Duration::from_millis(600)).await;
    // The handshake's answer takes 600 ms; calls may take 300 ms, connecting 10 s.
    let client = Client::connect(&bolt_via(slow), resilience(300, 10_000))
        .await
        .unwrap_or_else(|e| {
            panic!("connecting took longer than a call and was cut: {e}; is Neo4j up (scripts/services.sh up neo4j)?")
        });
    drop(client);
    // With a connect timeout shorter than the handshake: a timeout naming Bolt's address.
    let started = Instant::now();
    let err = Client::connect(&bolt_via(slow), resilience(300, 300))
        .await
        .unwrap_err();
    let named = format!("neo4j at bolt://{slow}");
    assert!(
        matches!(&err, Error::Timeout(m) if m.contains(&named)),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_silent_bolt_server_times_out_naming_its_address() {
    let quiet = silent().await;
    let err = Client::connect(&bolt_via(quiet), resilience(200, 400))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Timeout(m) if m.contains(&format!("neo4j at bolt://{quiet}"))),
        "{err:?}"
    );
}

#[tokio::test]
async fn postgresql_connects_past_a_slow_first_answer_and_names_the_server_when_it_cannot() {
    let url = app_url();
    let slow = slow_first_answer(host_port(&url), Duration::from_millis(600)).await;
    // `Db::connect`'s own timeout is generous; the pool's per-call acquire timeout is not
    // spent on it.
    let db = Db::connect_with(
        &via(&url, slow),
        key(),
        DbOptions::default().acquire_timeout(Duration::from_millis(300)),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}; is PostgreSQL up (scripts/services.sh up pg)?"));
    drop(db);

    // A server that never answers: a timeout naming it, within the connect timeout.
    let quiet = silent().await;
    let started = Instant::now();
    let err = Db::connect_with(
        &via(&url, quiet),
        key(),
        DbOptions::default().connect_timeout(Duration::from_millis(400)),
    )
    .await
    .unwrap_err();
    let named = format!("postgresql at 127.0.0.1:{}/", quiet.port());
    assert!(
        matches!(&err, Error::Timeout(m) if m.contains(&named)),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // A refused port: unavailable, naming it.
    let port = free_port();
    let refused = via(&url, format!("127.0.0.1:{port}").parse().unwrap());
    let err = Db::connect(&refused, key()).await.unwrap_err();
    let named = format!("postgresql at 127.0.0.1:{port}/");
    assert!(
        matches!(&err, Error::Unavailable(m) if m.contains(&named)),
        "{err:?}"
    );
}
