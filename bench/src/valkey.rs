//! Valkey: the episodic store's set / get / list_session against the same work sent raw through
//! the same crate, one request at a time (pipeline depth 1) on the same server, the two taking
//! turns ([`in_turns`]). The raw side stores and reads the same entities, as JSON through
//! serde, and reads a listing's scores (its next page's cursor): the work a hand-written store
//! does too.
//!
//! Where a set's time goes: the server's own time per call (`INFO commandstats`, reset before
//! the rounds) for the script against `MULTI` and `EXEC`, and what is left of the gap between
//! the two rates for the client.

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

    // Only the set turns run scripts and transactions from here on: their server time per call.
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(&mut raw)
        .await
        .unwrap();
    let mut results: [[Vec<f64>; 2]; 3] = Default::default();
    let mut keep = |k: usize, rates: Vec<f64>| {
        for (side, rate) in rates.into_iter().enumerate() {
            results[k][side].push(rate);
        }
    };
    for _ in 0..scale.rounds {
        let set = async |k: u64| {
            store.set(&kv, new(k), None).await.unwrap();
        };
        let raw_set = async |k: u64| {
            // What a hand-written store sends for the same write, atomically.
            let id = format!("i{}", k % 1000);
            let _: () = redis::pipe()
                .atomic()
                .set_ex(format!("{base}{id}"), episode(k), 86_400)
                .zadd(format!("{base}~recent"), &id, k)
                .zadd(format!("{base}~weight"), &id, 1.0)
                .query_async(&mut raw.clone())
                .await
                .unwrap();
        };
        let rates = in_turns(scale.slice, 2, async |side, k| match side {
            0 => set(k).await,
            _ => raw_set(k).await,
        });
        keep(0, rates.await);
        let get = async || {
            store.get(&kv, "s", &"i1".to_string()).await.unwrap();
        };
        let raw_get = async || {
            let json: Option<String> = raw.clone().get(format!("{base}i1")).await.unwrap();
            serde_json::from_str::<Episode>(&json.unwrap()).unwrap();
        };
        let rates = in_turns(scale.slice, 2, async |side, _| match side {
            0 => get().await,
            _ => raw_get().await,
        });
        keep(1, rates.await);
        let list = async || {
            store
                .list_session(&kv, "s", tenant_store::Page::first(10))
                .await
                .unwrap();
        };
        let raw_list = async || {
            let mut raw = raw.clone();
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
        };
        let rates = in_turns(scale.slice, 2, async |side, _| match side {
            0 => list().await,
            _ => raw_list().await,
        });
        keep(2, rates.await);
    }
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut raw)
        .await
        .unwrap();
    let server = |command: &str| micros_per_call(&stats, command);
    let (script, transaction) = (server("evalsha"), server("multi") + server("exec"));
    let medians = results.map(|[ours, raw]| (median(ours), median(raw)));
    let gap = 1e6 / medians[0].0 - 1e6 / medians[0].1;
    report.row(Row::micros(
        "valkey",
        "episodic set, the server's time per call (INFO commandstats): the script vs MULTI and EXEC",
        script,
        transaction,
    ));
    report.note(format!(
        "valkey set: {gap:.1}us more per call than the raw side, {:.1}us of it the server's",
        script - transaction
    ));
    // Round trips per call, ours and raw: set is one script call against one MULTI/EXEC
    // pipeline, get one GET each, list_session ZRANGE then MGET each.
    for (name, (o, r)) in [
        "set (1 rt vs 1 rt)",
        "get (1 rt vs 1 rt)",
        "list_session, 10 items (2 rt vs 2 rt)",
    ]
    .into_iter()
    .zip(medians)
    {
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

/// The server's microseconds per call of `command` in an `INFO commandstats` answer.
fn micros_per_call(stats: &str, command: &str) -> f64 {
    let line = stats
        .lines()
        .find(|l| l.starts_with(&format!("cmdstat_{command}:")))
        .unwrap_or_else(|| panic!("no {command} calls in INFO commandstats"));
    let value = line
        .split(',')
        .find_map(|field| {
            field
                .split_once('=')
                .filter(|(k, _)| k.ends_with("usec_per_call"))
        })
        .unwrap_or_else(|| panic!("no usec_per_call in {line:?}"))
        .1;
    value.parse().expect("usec_per_call is a number")
}
