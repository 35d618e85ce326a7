//! EpisodicMemoryStore against real Valkey servers: TTL, ordering, decay, tenant isolation, key
//! layout, failures and the circuit breaker, and the cluster.

use std::time::{Duration, Instant};

use tenant_store::valkey::Client;
use tenant_store::{Error, Resilience};
use tenant_store_examples::episodic::{Episode, NewEpisode};
use tenant_store_tests::{PrivateValkey, free_port, kv, kv_cluster, tenant, valkey_url};

fn ep(session: &str, id: &str, content: &str, importance: f64) -> NewEpisode {
    NewEpisode {
        id: Some(id.into()),
        session_id: session.into(),
        content: content.into(),
        importance,
        turn: 0,
        tool: None,
    }
}

fn ids(items: &[Episode]) -> Vec<&str> {
    items.iter().map(|e| e.id.as_str()).collect()
}

#[tokio::test]
async fn set_then_get_returns_the_item_with_the_callers_tenant() {
    let kv = kv().await;
    let a = tenant();
    let s = kv.scoped(&a);
    let stored = Episode::store()
        .set(
            &s,
            NewEpisode {
                id: None,
                ..ep("s1", "unused", "hello", 1.0)
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(stored.user_id, a.user_id());
    assert!(!stored.id.is_empty());
    assert_eq!(
        Episode::store().get(&s, "s1", &stored.id).await.unwrap(),
        Some(stored)
    );
}

#[tokio::test]
async fn get_of_a_missing_item_is_none() {
    let kv = kv().await;
    let s = kv.scoped(&tenant());
    assert_eq!(
        Episode::store()
            .get(&s, "s1", &"nope".to_string())
            .await
            .unwrap(),
        None
    );
    assert!(
        Episode::store()
            .list_session(&s, "s1", tenant_store::Page::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn an_item_expires_after_its_ttl() {
    let kv = kv().await;
    let s = kv.scoped(&tenant());
    let store = Episode::store();
    store
        .set(
            &s,
            ep("s", "short", "x", 1.0),
            Some(Duration::from_millis(300)),
        )
        .await
        .unwrap();
    store
        .set(&s, ep("s", "long", "y", 1.0), None)
        .await
        .unwrap();
    assert!(
        store
            .get(&s, "s", &"short".to_string())
            .await
            .unwrap()
            .is_some()
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        store.get(&s, "s", &"short".to_string()).await.unwrap(),
        None
    );
    assert_eq!(
        ids(&store
            .list_session(&s, "s", tenant_store::Page::first(10))
            .await
            .unwrap()
            .items),
        vec!["long"]
    );
    // The default TTL of the entity (a day) applies when none is given.
    let mut raw = redis_conn().await;
    let key = format!(
        "episodic:{{{}}}:Episode:s:long",
        s.tenant(tenant_store::Scope::UserId)
    );
    let pttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(pttl > 86_000_000 && pttl <= 86_400_000, "{pttl}");
}

/// A session's indexes (recency, weight, sequence) live as long as its longest-lived item:
/// the first item's TTL, grown by a longer one, never shortened by a shorter one.
#[tokio::test]
async fn a_sessions_indexes_live_as_long_as_its_longest_lived_item() {
    let kv = kv().await;
    let s = kv.scoped(&tenant());
    let store = Episode::store();
    let mut raw = redis_conn().await;
    let t = s.tenant(tenant_store::Scope::UserId);
    let index_ttls = async |raw: &mut redis::aio::MultiplexedConnection| {
        let mut ttls = Vec::new();
        for index in ["~recent", "~weight", "~seq"] {
            let ms: i64 = redis::cmd("PTTL")
                .arg(format!("episodic:{{{t}}}:Episode:s:{index}"))
                .query_async(raw)
                .await
                .unwrap();
            ttls.push(ms);
        }
        ttls
    };
    let secs = Duration::from_secs;
    let near = |ttls: &[i64], s: i64| {
        ttls.iter()
            .all(|ms| (s * 1000 - 5_000..=s * 1000).contains(ms))
    };
    store
        .set(&s, ep("s", "a", "x", 1.0), Some(secs(100)))
        .await
        .unwrap();
    let ttls = index_ttls(&mut raw).await;
    assert!(
        near(&ttls, 100),
        "a fresh session takes the item's TTL: {ttls:?}"
    );
    store
        .set(&s, ep("s", "b", "x", 1.0), Some(secs(300)))
        .await
        .unwrap();
    let ttls = index_ttls(&mut raw).await;
    assert!(near(&ttls, 300), "a longer-lived item grows it: {ttls:?}");
    store
        .set(&s, ep("s", "c", "x", 1.0), Some(secs(20)))
        .await
        .unwrap();
    let ttls = index_ttls(&mut raw).await;
    assert!(near(&ttls, 300), "a shorter-lived item leaves it: {ttls:?}");
}

#[tokio::test]
async fn list_session_is_newest_first_and_respects_the_limit() {
    let kv = kv().await;
    let s = kv.scoped(&tenant());
    let store = Episode::store();
    for id in ["a", "b", "c"] {
        store.set(&s, ep("s", id, id, 1.0), None).await.unwrap();
    }
    assert_eq!(
        ids(&store
            .list_session(&s, "s", tenant_store::Page::first(10))
            .await
            .unwrap()
            .items),
        vec!["c", "b", "a"]
    );
    assert_eq!(
        ids(&store
            .list_session(&s, "s", tenant_store::Page::first(2))
            .await
            .unwrap()
            .items),
        vec!["c", "b"]
    );
    // Setting an item again makes it the newest.
    store
        .set(&s, ep("s", "a", "again", 1.0), None)
        .await
        .unwrap();
    assert_eq!(
        ids(&store
            .list_session(&s, "s", tenant_store::Page::first(10))
            .await
            .unwrap()
            .items),
        vec!["a", "c", "b"]
    );
    assert!(matches!(
        store
            .list_session(&s, "s", tenant_store::Page::first(0))
            .await,
        Err(Error::InvalidInput(_))
    ));
}

#[tokio::test]
async fn decay_changes_the_order_and_drops_items_under_the_floor() {
    let kv = kv().await;
    let s = kv.scoped(&tenant());
    let store = Episode::store();
    store
        .set(&s, ep("s", "old", "important once", 1.0), None)
        .await
        .unwrap();
    store
        .set(&s, ep("s", "older", "minor", 0.3), None)
        .await
        .unwrap();
    assert_eq!(
        store.decay(&s, "s", 0.5, 0.2).await.unwrap(),
        1,
        "0.3 * 0.5 < 0.2"
    );
    store
        .set(&s, ep("s", "new", "less important, but fresh", 0.8), None)
        .await
        .unwrap();
    let ranked = store.ranked(&s, "s", 10).await.unwrap();
    let order: Vec<(&str, f64)> = ranked.iter().map(|(e, w)| (e.id.as_str(), *w)).collect();
    assert_eq!(
        order,
        vec![("new", 0.8), ("old", 0.5)],
        "decay put the fresher item first"
    );
    assert_eq!(
        store.get(&s, "s", &"older".to_string()).await.unwrap(),
        None,
        "dropped items are deleted"
    );
    assert_eq!(
        store.decay(&s, "s", 0.5, 0.3).await.unwrap(),
        1,
        "old: 0.25 < 0.3"
    );
    assert_eq!(
        ids(&store
            .list_session(&s, "s", tenant_store::Page::first(10))
            .await
            .unwrap()
            .items),
        vec!["new"]
    );
    assert!(matches!(
        store.decay(&s, "s", 1.5, 0.1).await,
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        store.decay(&s, "s", 0.0, 0.1).await,
        Err(Error::InvalidInput(_))
    ));
}

#[tokio::test]
async fn the_same_session_under_another_user_sees_nothing_from_both_sides() {
    let kv = kv().await;
    let (a, b) = (tenant(), tenant());
    let (sa, sb) = (kv.scoped(&a), kv.scoped(&b));
    let store = Episode::store();
    store
        .set(&sa, ep("shared", "x", "a's", 1.0), None)
        .await
        .unwrap();
    store
        .set(&sb, ep("shared", "y", "b's", 1.0), None)
        .await
        .unwrap();
    for (s, own, other) in [(&sa, "x", "y"), (&sb, "y", "x")] {
        assert_eq!(
            ids(&store
                .list_session(s, "shared", tenant_store::Page::first(10))
                .await
                .unwrap()
                .items),
            vec![own]
        );
        assert_eq!(
            store.get(s, "shared", &other.to_string()).await.unwrap(),
            None
        );
        assert!(matches!(
            store.delete(s, "shared", &other.to_string()).await,
            Err(Error::NotFound)
        ));
        assert_eq!(
            store.decay(s, "shared", 0.1, 0.5).await.unwrap(),
            1,
            "decays only its own item"
        );
    }
}

#[tokio::test]
async fn delete_removes_the_item_and_a_second_delete_is_not_found() {
    let kv = kv().await;
    let s = kv.scoped(&tenant());
    let store = Episode::store();
    store
        .set(&s, ep("s", "gone", "x", 1.0), None)
        .await
        .unwrap();
    store
        .set(&s, ep("s", "kept", "y", 1.0), None)
        .await
        .unwrap();
    store.delete(&s, "s", &"gone".to_string()).await.unwrap();
    assert_eq!(store.get(&s, "s", &"gone".to_string()).await.unwrap(), None);
    assert_eq!(
        ids(&store
            .list_session(&s, "s", tenant_store::Page::first(10))
            .await
            .unwrap()
            .items),
        vec!["kept"]
    );
    assert!(matches!(
        store.delete(&s, "s", &"gone".to_string()).await,
        Err(Error::NotFound)
    ));
}

#[tokio::test]
async fn ids_that_could_escape_the_key_layout_are_invalid_input() {
    let kv = kv().await;
    let s = kv.scoped(&tenant());
    let store = Episode::store();
    for (session, id) in [
        ("a:b", "x"),
        ("s", "x:y"),
        ("{t}", "x"),
        ("s", "~recent"),
        ("", "x"),
        ("s", ""),
    ] {
        let err = store
            .set(&s, ep(session, id, "x", 1.0), None)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput(_)),
            "{session:?}/{id:?}: {err:?}"
        );
    }
    assert!(matches!(
        store.get(&s, "a:b", &"x".to_string()).await,
        Err(Error::InvalidInput(_))
    ));
}

async fn redis_conn() -> redis::aio::MultiplexedConnection {
    redis::Client::open(valkey_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

#[tokio::test]
async fn scan_finds_every_key_of_a_tenant_under_its_prefix_and_no_other() {
    let kv = kv().await;
    let (a, b) = (tenant(), tenant());
    let store = Episode::store();
    for s in [kv.scoped(&a), kv.scoped(&b)] {
        store.set(&s, ep("s1", "i1", "x", 1.0), None).await.unwrap();
        store.set(&s, ep("s2", "i2", "y", 1.0), None).await.unwrap();
    }
    let mut conn = redis_conn().await;
    for (who, other) in [(&a, &b), (&b, &a)] {
        let pattern = format!("*{}*", who.user_id());
        let keys: Vec<String> = redis::cmd("SCAN")
            .arg(0)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1_000_000)
            .query_async::<(u64, Vec<String>)>(&mut conn)
            .await
            .unwrap()
            .1;
        let prefix = format!("episodic:{{{}}}:Episode:", who.user_id());
        assert_eq!(
            keys.len(),
            2 + 2 * 3 + 1,
            "two items, three index keys per session, and the tenant's session set: {keys:?}"
        );
        assert!(keys.iter().all(|k| k.starts_with(&prefix)), "{keys:?}");
        assert!(
            keys.iter()
                .all(|k| !k.contains(&other.user_id().to_string()))
        );
        // Values carry their own tenant only.
        for k in keys.iter().filter(|k| !k.contains('~')) {
            let v: String = redis::cmd("GET")
                .arg(k)
                .query_async(&mut conn)
                .await
                .unwrap();
            assert!(
                v.contains(&who.user_id().to_string()) && !v.contains(&other.user_id().to_string())
            );
        }
    }
}

fn quick() -> Resilience {
    Resilience {
        timeout: Duration::from_millis(300),
        connect_timeout: Duration::from_millis(300),
        failure_threshold: 3,
        open_for: Duration::from_millis(500),
    }
}

#[tokio::test]
async fn a_refused_connection_is_unavailable_within_the_timeout() {
    let started = Instant::now();
    let port = free_port();
    let err = Client::connect(&format!("redis://127.0.0.1:{port}"), quick())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    // The message names the backend and the address.
    let named = format!("valkey at 127.0.0.1:{port}");
    assert!(err.to_string().contains(&named), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "no hang: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_server_stopped_mid_run_opens_the_breaker_and_its_return_closes_it() {
    let mut server = PrivateValkey::start();
    let kv = Client::connect(&server.url(), quick()).await.unwrap();
    let s = kv.scoped(&tenant());
    let store = Episode::store();
    store
        .set(&s, ep("s", "before", "x", 1.0), None)
        .await
        .unwrap();

    server.stop();
    // Every call returns within its timeout (plus scheduling slack) with a typed error.
    for i in 0..3 {
        let started = Instant::now();
        let err = store.get(&s, "s", &"before".to_string()).await.unwrap_err();
        assert!(
            matches!(err, Error::Unavailable(_) | Error::Timeout(_)),
            "call {i}: {err:?}"
        );
        assert!(
            started.elapsed() < Duration::from_millis(1_500),
            "call {i} took {:?}",
            started.elapsed()
        );
    }
    assert!(
        kv.circuit_open(),
        "three consecutive failures open the breaker"
    );
    let started = Instant::now();
    let err = store.get(&s, "s", &"before".to_string()).await.unwrap_err();
    assert!(
        matches!(&err, Error::Unavailable(m) if m.contains("circuit breaker open")),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "an open breaker fails fast"
    );

    server.restart();
    // After `open_for` a probe goes through; once the connection is re-established it succeeds
    // and the breaker closes.
    let mut recovered = false;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(600)).await;
        if store.get(&s, "s", &"missing".to_string()).await.is_ok() {
            recovered = true;
            break;
        }
    }
    assert!(recovered, "the client recovers once the server is back");
    assert!(!kv.circuit_open());
    store
        .set(&s, ep("s", "after", "y", 1.0), None)
        .await
        .unwrap();
    assert_eq!(
        ids(&store
            .list_session(&s, "s", tenant_store::Page::first(10))
            .await
            .unwrap()
            .items),
        vec!["after"],
        "the restarted server is empty"
    );
}

#[tokio::test]
async fn on_the_cluster_a_tenants_keys_share_one_slot_and_multi_key_operations_work() {
    let kv = kv_cluster().await;
    let (a, b) = (tenant(), tenant());
    let store = Episode::store();
    for who in [&a, &b] {
        let s = kv.scoped(who);
        for (session, id) in [("s1", "i1"), ("s1", "i2"), ("s2", "i3")] {
            store
                .set(&s, ep(session, id, "x", 0.5), None)
                .await
                .unwrap();
        }
        // MGET across items (list_session), scripts and multi-key DEL (decay) all succeed.
        assert_eq!(
            ids(&store
                .list_session(&s, "s1", tenant_store::Page::first(10))
                .await
                .unwrap()
                .items),
            vec!["i2", "i1"]
        );
        assert_eq!(store.decay(&s, "s1", 0.5, 0.3).await.unwrap(), 2);
        assert!(
            store
                .list_session(&s, "s1", tenant_store::Page::first(10))
                .await
                .unwrap()
                .items
                .is_empty()
        );
        store.delete(&s, "s2", &"i3".to_string()).await.unwrap();
    }
    // Every key name of one tenant maps to one slot, computed by the cluster itself.
    let urls = tenant_store_tests::valkey_cluster_urls();
    let mut node = redis::Client::open(urls[0].as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let mut slots = Vec::new();
    for who in [&a, &b] {
        let t = who.user_id();
        let keys = [
            format!("episodic:{{{t}}}:Episode:s1:i1"),
            format!("episodic:{{{t}}}:Episode:s1:~recent"),
            format!("episodic:{{{t}}}:Episode:s1:~weight"),
            format!("episodic:{{{t}}}:Episode:s1:~seq"),
            format!("episodic:{{{t}}}:Episode:s2:i3"),
        ];
        let mut mine = Vec::new();
        for k in keys {
            let slot: i64 = redis::cmd("CLUSTER")
                .arg("KEYSLOT")
                .arg(&k)
                .query_async(&mut node)
                .await
                .unwrap();
            mine.push(slot);
        }
        assert!(mine.windows(2).all(|w| w[0] == w[1]), "{mine:?}");
        slots.push(mine[0]);
    }
    println!("tenant slots: {slots:?}");
}

/// Entities change after items are stored: an item written by one version of the struct is read
/// by the next, both ways. A newer field with `#[serde(default)]` (or an `Option`) reads as its
/// default from an older item; a field the reader does not know is ignored; a newer field with
/// neither is an error naming it, never a silently wrong value.
mod shapes {
    use serde::{Deserialize, Serialize};
    use tenant_store::{Error, tenant_store};
    use tenant_store_tests::{kv, tenant};
    use uuid::Uuid;

    mod v1 {
        use super::*;
        #[tenant_store(backend = "valkey", scope = "user_id", prefix = "shapes")]
        #[derive(Debug, Serialize, Deserialize)]
        pub struct Reading {
            #[tenant_store(id)]
            pub id: String,
            pub user_id: Uuid,
            #[tenant_store(session)]
            pub session: String,
            pub value: f64,
        }
    }

    mod v2 {
        use super::*;
        #[tenant_store(backend = "valkey", scope = "user_id", prefix = "shapes")]
        #[derive(Debug, Serialize, Deserialize)]
        pub struct Reading {
            #[tenant_store(id)]
            pub id: String,
            pub user_id: Uuid,
            #[tenant_store(session)]
            pub session: String,
            pub value: f64,
            #[serde(default)]
            pub unit: String,
            pub note: Option<String>,
        }
    }

    mod v3 {
        use super::*;
        #[tenant_store(backend = "valkey", scope = "user_id", prefix = "shapes")]
        #[derive(Debug, Serialize, Deserialize)]
        pub struct Reading {
            #[tenant_store(id)]
            pub id: String,
            pub user_id: Uuid,
            #[tenant_store(session)]
            pub session: String,
            pub value: f64,
            pub calibrated: bool,
        }
    }

    #[tokio::test]
    async fn items_read_across_versions_of_the_entity() {
        let kv = kv().await;
        let s = kv.scoped(&tenant());
        let old = v1::NewReading {
            id: Some("r1".into()),
            session: "s".into(),
            value: 1.5,
        };
        v1::Reading::store().set(&s, old, None).await.unwrap();
        let read = v2::Reading::store()
            .get(&s, "s", &"r1".to_string())
            .await
            .unwrap()
            .expect("the older item reads with the newer struct");
        assert_eq!((read.value, read.unit.as_str(), read.note), (1.5, "", None));

        let new = v2::NewReading {
            id: Some("r2".into()),
            session: "s".into(),
            value: 2.5,
            unit: "kg".into(),
            note: Some("n".into()),
        };
        v2::Reading::store().set(&s, new, None).await.unwrap();
        let back = v1::Reading::store()
            .get(&s, "s", &"r2".to_string())
            .await
            .unwrap()
            .expect("the newer item reads with the older struct");
        assert_eq!(back.value, 2.5);

        let err = v3::Reading::store()
            .get(&s, "s", &"r1".to_string())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Backend(e) if e.to_string().contains("calibrated")),
            "{err:?}"
        );
    }
}
