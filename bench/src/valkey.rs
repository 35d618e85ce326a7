//! Valkey: the episodic store's set / get / list_session against the same work sent raw through
//! the same crate, one request at a time (pipeline depth 1) on the same server, the two taking
//! turns ([`in_turns`]). The raw side stores and reads the same entities, as JSON through
//! serde, and reads a listing's scores (its next page's cursor): the work a hand-written store
//! does too.

use redis::AsyncCommands as _;
use tenant_store::Principal;
use tenant_store_examples::episodic::{Episode, NewEpisode};
use tenant_store_tests::{kv, valkey_url};
use uuid::Uuid;

use crate::report::{Report, Row};
use crate::{Scale, in_turns, median};

pub async fn episodic(scale: &Scale, report: &mut Report) {
    let client = kv().await;
    let who = Principal::new(Uuid::new_v4(), Uuid::new_v4()).unwrap();
    let kv = client.scoped(&who);
    let mut raw = redis::Client::open(valkey_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let store = Episode::store();
    let base = format!("benchraw:{{{}}}:s:", who.user_id());
    let new = |i: u64| NewEpisode {
        id: Some(format!("i{}", i % 1000)),
        session_id: "s".into(),
        content: "x".repeat(100),
        importance: 1.0,
        turn: 0,
        tool: None,
    };
    // The raw side stores and reads the same entities as JSON, as a hand-written store would.
    let episode = |i: u64| {
        serde_json::to_string(&Episode {
            id: format!("i{}", i % 1000),
            user_id: who.user_id(),
            session_id: "s".into(),
            content: "x".repeat(100),
            turn: 0,
            tool: None,
            importance: 1.0,
        })
        .unwrap()
    };
    for i in 0..10 {
        store.set(&kv, new(i), None).await.unwrap();
        let _: () = raw.set(format!("{base}i{i}"), episode(i)).await.unwrap();
        let _: () = raw
            .zadd(format!("{base}~recent"), format!("i{i}"), i)
            .await
            .unwrap();
    }

    let mut results: [[Vec<f64>; 2]; 3] = Default::default();
    let mut keep = |k: usize, (ours, raw): (f64, f64)| {
        results[k][0].push(ours);
        results[k][1].push(raw);
    };
    for _ in 0..scale.rounds {
        let (mut i, mut j) = (0u64, 0u64);
        let set = || {
            i += 1;
            let n = new(i);
            let kv = &kv;
            async move {
                store.set(kv, n, None).await.unwrap();
            }
        };
        let raw_set = || {
            j += 1;
            let (mut raw, base, json) = (raw.clone(), base.clone(), episode(j));
            async move {
                // What a hand-written store sends for the same write, atomically.
                let id = format!("i{}", j % 1000);
                let _: () = redis::pipe()
                    .atomic()
                    .set_ex(format!("{base}{id}"), json, 86_400)
                    .zadd(format!("{base}~recent"), &id, j)
                    .zadd(format!("{base}~weight"), &id, 1.0)
                    .query_async(&mut raw)
                    .await
                    .unwrap();
            }
        };
        keep(0, in_turns(scale.slice, set, raw_set).await);
        let get = || {
            let kv = &kv;
            async move {
                store.get(kv, "s", &"i1".to_string()).await.unwrap();
            }
        };
        let raw_get = || {
            let (mut raw, key) = (raw.clone(), format!("{base}i1"));
            async move {
                let json: Option<String> = raw.get(key).await.unwrap();
                serde_json::from_str::<Episode>(&json.unwrap()).unwrap();
            }
        };
        keep(1, in_turns(scale.slice, get, raw_get).await);
        let list = || {
            let kv = &kv;
            async move {
                store
                    .list_session(kv, "s", tenant_store::Page::first(10))
                    .await
                    .unwrap();
            }
        };
        let raw_list = || {
            let (mut raw, base) = (raw.clone(), base.clone());
            async move {
                // With scores, as a paged listing needs for its next page's cursor.
                let ids: Vec<(String, f64)> = raw
                    .zrevrange_withscores(format!("{base}~recent"), 0, 9)
                    .await
                    .unwrap();
                let keys: Vec<String> = ids.iter().map(|(id, _)| format!("{base}{id}")).collect();
                let jsons: Vec<Option<String>> = redis::cmd("MGET")
                    .arg(&keys)
                    .query_async(&mut raw)
                    .await
                    .unwrap();
                for json in jsons {
                    serde_json::from_str::<Episode>(&json.unwrap()).unwrap();
                }
            }
        };
        keep(2, in_turns(scale.slice, list, raw_list).await);
    }
    // Round trips per call, ours and raw: set is one script call against one MULTI/EXEC
    // pipeline, get one GET each, list_session ZRANGE then MGET each.
    for (name, [ours, raw]) in [
        "set (1 rt vs 1 rt)",
        "get (1 rt vs 1 rt)",
        "list_session, 10 items (2 rt vs 2 rt)",
    ]
    .into_iter()
    .zip(results)
    {
        let (o, r) = (median(ours), median(raw));
        report.row(Row {
            group: "valkey",
            what: format!("episodic {name} vs raw commands, same entities as JSON"),
            value: format!("{o:.0}/s"),
            baseline: format!("{r:.0}/s"),
            ratio: o / r,
            target: Some((">=", 0.9)),
        });
    }
    let _: () = redis::cmd("DEL")
        .arg(format!("{base}~recent"))
        .arg(format!("{base}~weight"))
        .query_async(&mut raw)
        .await
        .unwrap();
}
