//! Moving a tenant (`tenant_store_examples::lifecycle::move_tenant`): everything of `from` ends
//! up under `to` on every backend, merged with what `to` had; nothing of `from` is left (raw
//! scans); a re-run moves nothing more; a clash on an id is refused before anything is written.

use tenant_store::Error;
use tenant_store_examples::code_graph::{NewSymbol, Symbol};
use tenant_store_examples::episodic::{Episode, NewEpisode};
use tenant_store_examples::lifecycle::move_tenant;
use tenant_store_tests::everywhere::{backends, plant, scan, total};
use tenant_store_tests::tenant;

#[tokio::test]
async fn a_move_merges_everything_of_one_tenant_into_another_on_every_backend() {
    let b = backends().await;
    let (operator, from, to) = (tenant(), tenant(), tenant());
    plant(&b, &from, "-from").await;
    plant(&b, &to, "-to").await;
    let planted = scan(&from).await;

    let report = move_tenant(&b, &operator, "accounts merged", &from, &to).await;
    assert!(report.is_complete(), "{report:?}");
    let counts: Vec<(&str, u64)> = report
        .stores
        .iter()
        .map(|(s, r)| (*s, *r.as_ref().unwrap()))
        .collect();
    assert_eq!(
        counts,
        [
            ("experiments", 1),
            ("experiment_variants", 2),
            ("experiment_assignments", 1),
            ("experiment_status_history", 1),
            ("feedback_events", 1),
            ("memories", 2),
            ("valkey:episodes", 2),
            ("opensearch:search", 3),
            ("neo4j:CODE_SYMBOL", 2),
            ("neo4j:CODE_REPO", 1),
            ("qdrant:embeddings_minilm", 4),
        ]
    );
    let left = scan(&from).await;
    assert_eq!(total(&left), 0, "nothing of `from` is left: {left:?}");
    // `to` holds its own and the moved data: twice every planted count, except one alias, and
    // Valkey's per-session index keys and session set, which the two tenants' sessions (same
    // names) share: only the 2 item keys are added.
    let merged = scan(&to).await;
    let expected: Vec<(String, u64)> = planted
        .into_iter()
        .map(|(place, n)| {
            let n = match place.as_str() {
                "opensearch alias" => n,
                "valkey keys" => n + 2,
                _ => 2 * n,
            };
            (place, n)
        })
        .collect();
    assert_eq!(merged, expected);
}

#[tokio::test]
async fn running_a_finished_move_again_moves_nothing() {
    let b = backends().await;
    let (operator, from, to) = (tenant(), tenant(), tenant());
    plant(&b, &from, "-a").await;
    let first = move_tenant(&b, &operator, "move", &from, &to).await;
    assert!(first.is_complete(), "{first:?}");
    let after_first = scan(&to).await;
    let again = move_tenant(&b, &operator, "move, re-run", &from, &to).await;
    assert!(again.is_complete(), "{again:?}");
    assert!(
        again.stores.iter().all(|(_, r)| *r.as_ref().unwrap() == 0),
        "{again:?}"
    );
    assert_eq!(scan(&to).await, after_first);
    assert_eq!(total(&scan(&from).await), 0);
}

#[tokio::test]
async fn a_clash_on_an_id_is_refused_before_anything_is_written() {
    let b = backends().await;
    let (from, to) = (tenant(), tenant());
    let (kf, kt) = (b.kv.scoped(&from), b.kv.scoped(&to));
    for (kv, content) in [(&kf, "from's"), (&kt, "to's")] {
        let new = NewEpisode {
            id: Some("same".into()),
            session_id: "s".into(),
            content: content.into(),
            importance: 1.0,
            turn: 0,
            tool: None,
        };
        Episode::store().set(kv, new, None).await.unwrap();
    }
    let other = NewEpisode {
        id: Some("only-from".into()),
        session_id: "s".into(),
        content: "x".into(),
        importance: 1.0,
        turn: 0,
        tool: None,
    };
    Episode::store().set(&kf, other, None).await.unwrap();
    let err = Episode::store().move_tenant(&kf, &kt).await.unwrap_err();
    assert!(matches!(err, Error::Duplicate), "{err:?}");
    assert_eq!(
        Episode::store()
            .list_tenant(&kf, Default::default(), tenant_store::Page::first(10))
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    let theirs = Episode::store()
        .list_tenant(&kt, Default::default(), tenant_store::Page::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].content, "to's");
}

#[tokio::test]
async fn a_neo4j_move_onto_a_held_id_is_duplicate_and_moves_no_node() {
    let b = backends().await;
    let (from, to) = (tenant(), tenant());
    let (gf, gt) = (b.graph.scoped(&from), b.graph.scoped(&to));
    for (g, id, name) in [
        (&gf, "same", "from's"),
        (&gf, "only-from", "x"),
        (&gt, "same", "to's"),
    ] {
        let new = NewSymbol {
            id: Some(id.into()),
            name: name.into(),
            kind: "fn".into(),
            file: "a.rs".into(),
            line: 1,
            summary: None,
        };
        Symbol::store().create(g, new).await.unwrap();
    }
    let err = Symbol::store().move_tenant(&gf, &gt).await.unwrap_err();
    assert!(matches!(err, Error::Duplicate), "{err:?}");
    assert_eq!(
        Symbol::store()
            .list(&gf, Default::default(), tenant_store::Page::first(10))
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    let theirs = Symbol::store()
        .list(&gt, Default::default(), tenant_store::Page::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].name, "to's");
}
