//! Two entities sharing a namespace: a Qdrant model, a Valkey prefix, an OpenSearch index. In
//! each backend `Note` is user-scoped and carries `org_id` as plain data, `Fact` is org-scoped.
//! Neither may read, count, overwrite or delete the other's records, whatever the data fields
//! hold, and the same id in both (under the same tenant id: a personal org whose id is its
//! user's) gives two records.
//!
//! The attacks: a user writes notes whose `org_id` field names another org (planting into that
//! org's facts); an org deletes its facts (taking the notes whose `org_id` names it along).

use serde::{Deserialize, Serialize};
use tenant_store::{Principal, tenant_store};
use tenant_store_tests::{kv, qdrant_client, search_client, tenant};
use uuid::Uuid;

mod qdrant {
    use super::*;

    #[tenant_store(backend = "qdrant", scope = "user_id", model = "aliasing", dims = 3)]
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Note {
        #[tenant_store(id)]
        pub id: Uuid,
        pub user_id: Uuid,
        pub org_id: Uuid,
        pub text: String,
    }

    #[tenant_store(backend = "qdrant", scope = "org_id", model = "aliasing", dims = 3)]
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Fact {
        #[tenant_store(id)]
        pub id: Uuid,
        pub org_id: Uuid,
        pub text: String,
    }

    const V: [f32; 3] = [1.0, 0.0, 0.0];

    fn note(id: Uuid, org_id: Uuid) -> NewNote {
        NewNote {
            id: Some(id),
            org_id,
            text: "note".into(),
        }
    }

    fn fact(id: Uuid) -> NewFact {
        NewFact {
            id: Some(id),
            text: "fact".into(),
        }
    }

    #[tokio::test]
    async fn notes_naming_an_org_are_not_that_orgs_facts() {
        let c = qdrant_client().await;
        Note::store().ensure_collection(&c).await.unwrap();
        Fact::store().ensure_collection(&c).await.unwrap();
        let (writer, org) = (tenant(), tenant());
        let (kw, ko) = (c.scoped(&writer), c.scoped(&org));
        let n = Note::store()
            .upsert(&kw, note(Uuid::new_v4(), org.org_id()), &V)
            .await
            .unwrap();
        let f = Fact::store()
            .upsert(&ko, fact(Uuid::new_v4()), &V)
            .await
            .unwrap();

        // The org sees its one fact, never the note that names it.
        assert_eq!(
            Fact::store().count(&ko, Default::default()).await.unwrap(),
            1
        );
        assert_eq!(
            Fact::store()
                .list(&ko, Default::default(), tenant_store::Page::first(10))
                .await
                .unwrap()
                .items,
            vec![f.clone()]
        );
        let hits = Fact::store().search(&ko, &V, 10, None).await.unwrap();
        assert_eq!(
            hits.into_iter().map(|h| h.entity).collect::<Vec<_>>(),
            vec![f.clone()]
        );
        assert_eq!(Fact::store().get(&ko, &n.id).await.unwrap(), None);
        assert!(Fact::store().delete(&ko, &n.id).await.is_err());
        // The writer sees its one note, never the org's fact.
        assert_eq!(
            Note::store().count(&kw, Default::default()).await.unwrap(),
            1
        );
        assert_eq!(
            Note::store()
                .list(&kw, Default::default(), tenant_store::Page::first(10))
                .await
                .unwrap()
                .items,
            vec![n.clone()]
        );
        assert_eq!(Note::store().get(&kw, &f.id).await.unwrap(), None);
        let hits = Note::store().search(&kw, &V, 10, None).await.unwrap();
        assert_eq!(
            hits.into_iter().map(|h| h.entity).collect::<Vec<_>>(),
            vec![n.clone()]
        );
        assert!(Note::store().delete(&kw, &f.id).await.is_err());
        assert_eq!(
            Fact::store().get(&ko, &f.id).await.unwrap(),
            Some(f.clone())
        );
        // Offboarding the org takes its facts only; offboarding the writer its notes only.
        assert_eq!(Fact::store().delete_tenant(&ko).await.unwrap(), 1);
        assert_eq!(
            Note::store().get(&kw, &n.id).await.unwrap(),
            Some(n.clone())
        );
        let f2 = Fact::store()
            .upsert(&ko, fact(Uuid::new_v4()), &V)
            .await
            .unwrap();
        assert_eq!(Note::store().delete_tenant(&kw).await.unwrap(), 1);
        assert_eq!(Fact::store().get(&ko, &f2.id).await.unwrap(), Some(f2));
    }

    #[tokio::test]
    async fn the_same_id_in_both_entities_is_two_records() {
        let c = qdrant_client().await;
        Note::store().ensure_collection(&c).await.unwrap();
        Fact::store().ensure_collection(&c).await.unwrap();
        let personal = Uuid::new_v4();
        let p = Principal::new(personal, personal).unwrap();
        let k = c.scoped(&p);
        let id = Uuid::new_v4();
        let n = Note::store()
            .upsert(&k, note(id, personal), &V)
            .await
            .unwrap();
        let f = Fact::store().upsert(&k, fact(id), &V).await.unwrap();
        assert_eq!(Note::store().get(&k, &id).await.unwrap(), Some(n.clone()));
        assert_eq!(Fact::store().get(&k, &id).await.unwrap(), Some(f));
        Fact::store().delete(&k, &id).await.unwrap();
        assert_eq!(Note::store().get(&k, &id).await.unwrap(), Some(n));
        assert_eq!(
            Fact::store().count(&k, Default::default()).await.unwrap(),
            0
        );
        assert_eq!(
            Note::store().count(&k, Default::default()).await.unwrap(),
            1
        );
    }
}

mod valkey {
    use super::*;

    #[tenant_store(backend = "valkey", scope = "user_id", prefix = "aliasing")]
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Note {
        #[tenant_store(id)]
        pub id: String,
        pub user_id: Uuid,
        pub org_id: Uuid,
        #[tenant_store(session)]
        pub session: String,
        pub text: String,
    }

    #[tenant_store(backend = "valkey", scope = "org_id", prefix = "aliasing")]
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Fact {
        #[tenant_store(id)]
        pub id: String,
        pub org_id: Uuid,
        #[tenant_store(session)]
        pub session: String,
        pub text: String,
    }

    fn note(id: &str, org_id: Uuid) -> NewNote {
        NewNote {
            id: Some(id.into()),
            org_id,
            session: "s".into(),
            text: "note".into(),
        }
    }

    fn fact(id: &str) -> NewFact {
        NewFact {
            id: Some(id.into()),
            session: "s".into(),
            text: "fact".into(),
        }
    }

    #[tokio::test]
    async fn the_same_id_under_the_same_tenant_id_is_two_records() {
        let c = kv().await;
        let personal = Uuid::new_v4();
        let p = Principal::new(personal, personal).unwrap();
        let k = c.scoped(&p);
        let n = Note::store()
            .set(&k, note("x", personal), None)
            .await
            .unwrap();
        let f = Fact::store().set(&k, fact("x"), None).await.unwrap();
        let id = "x".to_string();
        assert_eq!(
            Note::store().get(&k, "s", &id).await.unwrap(),
            Some(n.clone())
        );
        assert_eq!(
            Fact::store().get(&k, "s", &id).await.unwrap(),
            Some(f.clone())
        );
        assert_eq!(
            Note::store()
                .list_session(&k, "s", tenant_store::Page::first(10))
                .await
                .unwrap()
                .items,
            vec![n.clone()]
        );
        assert_eq!(
            Fact::store()
                .list_tenant(&k, Default::default(), tenant_store::Page::first(10))
                .await
                .unwrap()
                .items,
            vec![f]
        );
        Fact::store().delete(&k, "s", &id).await.unwrap();
        assert_eq!(
            Note::store().get(&k, "s", &id).await.unwrap(),
            Some(n.clone())
        );
        assert_eq!(Fact::store().delete_tenant(&k).await.unwrap(), 0);
        assert_eq!(
            Note::store()
                .list_tenant(&k, Default::default(), tenant_store::Page::first(10))
                .await
                .unwrap()
                .items,
            vec![n]
        );
        assert_eq!(Note::store().delete_tenant(&k).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_note_naming_an_org_is_not_that_orgs_fact() {
        let c = kv().await;
        let (writer, org) = (tenant(), tenant());
        let (kw, ko) = (c.scoped(&writer), c.scoped(&org));
        let n = Note::store()
            .set(&kw, note("n", org.org_id()), None)
            .await
            .unwrap();
        let f = Fact::store().set(&ko, fact("f"), None).await.unwrap();
        assert_eq!(
            Fact::store()
                .list_tenant(&ko, Default::default(), tenant_store::Page::first(10))
                .await
                .unwrap()
                .items,
            vec![f.clone()]
        );
        assert_eq!(
            Note::store()
                .list_tenant(&kw, Default::default(), tenant_store::Page::first(10))
                .await
                .unwrap()
                .items,
            vec![n.clone()]
        );
        assert_eq!(Fact::store().delete_tenant(&ko).await.unwrap(), 1);
        assert_eq!(
            Note::store()
                .list_tenant(&kw, Default::default(), tenant_store::Page::first(10))
                .await
                .unwrap()
                .items,
            vec![n]
        );
        assert_eq!(Note::store().delete_tenant(&kw).await.unwrap(), 1);
    }
}

mod opensearch {
    use super::*;

    #[tenant_store(backend = "opensearch", scope = "user_id", index = "aliasing")]
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Note {
        #[tenant_store(id)]
        pub id: String,
        pub user_id: Uuid,
        pub org_id: Uuid,
        #[tenant_store(text)]
        pub text: String,
    }

    #[tenant_store(backend = "opensearch", scope = "org_id", index = "aliasing")]
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Fact {
        #[tenant_store(id)]
        pub id: String,
        pub org_id: Uuid,
        #[tenant_store(text)]
        pub text: String,
    }

    fn note(id: &str, org_id: Uuid) -> NewNote {
        NewNote {
            id: Some(id.into()),
            org_id,
            text: "shared words".into(),
        }
    }

    fn fact(id: &str) -> NewFact {
        NewFact {
            id: Some(id.into()),
            text: "shared words".into(),
        }
    }

    async fn ready(c: &tenant_store::opensearch::Client, ps: &[&Principal]) {
        Note::store().ensure_index(c).await.unwrap();
        Fact::store().ensure_index(c).await.unwrap();
        for p in ps {
            Note::store()
                .create_tenant_alias(&c.scoped(p))
                .await
                .unwrap();
            Fact::store()
                .create_tenant_alias(&c.scoped(p))
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn notes_naming_an_org_are_not_that_orgs_facts() {
        let c = search_client().await;
        let (writer, org) = (tenant(), tenant());
        ready(&c, &[&writer, &org]).await;
        let (kw, ko) = (c.scoped(&writer), c.scoped(&org));
        let n = Note::store()
            .create(&kw, note("n", org.org_id()))
            .await
            .unwrap();
        let f = Fact::store().create(&ko, fact("f")).await.unwrap();

        assert_eq!(
            Fact::store().count(&ko, Default::default()).await.unwrap(),
            1
        );
        let hits = Fact::store().search(&ko, "shared", 10, None).await.unwrap();
        assert_eq!(hits.hits, vec![f.clone()]);
        let hits = Fact::store()
            .search_query_string(&ko, "shared", 10, None)
            .await
            .unwrap();
        assert_eq!(hits.hits, vec![f.clone()]);
        assert_eq!(Fact::store().get(&ko, &n.id).await.unwrap(), None);
        assert!(Fact::store().delete(&ko, &n.id).await.is_err());
        assert_eq!(
            Note::store().count(&kw, Default::default()).await.unwrap(),
            1
        );
        assert_eq!(Note::store().get(&kw, &f.id).await.unwrap(), None);
        let hits = Note::store().search(&kw, "shared", 10, None).await.unwrap();
        assert_eq!(hits.hits, vec![n.clone()]);
        assert!(Note::store().delete(&kw, &f.id).await.is_err());
        assert_eq!(
            Fact::store().get(&ko, &f.id).await.unwrap(),
            Some(f.clone())
        );
        assert_eq!(Fact::store().delete_tenant(&ko).await.unwrap(), 1);
        assert_eq!(Note::store().get(&kw, &n.id).await.unwrap(), Some(n));
        assert_eq!(Note::store().delete_tenant(&kw).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_cursor_of_one_entity_is_refused_by_the_other_sharing_its_index() {
        // Same index, same tenant id, same order (the id): only the entity tells the listings
        // apart, so only the entity in the cursor's seal refuses the other's cursor.
        let c = search_client().await;
        let personal = Uuid::new_v4();
        let p = Principal::new(personal, personal).unwrap();
        ready(&c, &[&p]).await;
        let k = c.scoped(&p);
        for id in ["a", "b", "c"] {
            Note::store().create(&k, note(id, personal)).await.unwrap();
            Fact::store().create(&k, fact(id)).await.unwrap();
        }
        let page = |l: tenant_store::Listing<Note>| l.next.expect("a second page");
        let notes_next = page(
            Note::store()
                .list(&k, Default::default(), tenant_store::Page::first(2))
                .await
                .unwrap(),
        );
        let err = Fact::store()
            .list(&k, Default::default(), notes_next.clone())
            .await
            .expect_err("a note cursor on facts");
        assert!(
            matches!(err, tenant_store::Error::InvalidInput(_)),
            "{err:?}"
        );
        // Where it was made, it pages on.
        let rest = Note::store()
            .list(&k, Default::default(), notes_next)
            .await
            .unwrap();
        assert_eq!(
            rest.items.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
            ["c"]
        );
    }

    #[tokio::test]
    async fn the_same_id_under_the_same_tenant_id_is_two_records() {
        let c = search_client().await;
        let personal = Uuid::new_v4();
        let p = Principal::new(personal, personal).unwrap();
        ready(&c, &[&p]).await;
        let k = c.scoped(&p);
        let n = Note::store().create(&k, note("x", personal)).await.unwrap();
        let f = Fact::store().create(&k, fact("x")).await.unwrap();
        let id = "x".to_string();
        assert_eq!(Note::store().get(&k, &id).await.unwrap(), Some(n.clone()));
        assert_eq!(Fact::store().get(&k, &id).await.unwrap(), Some(f));
        Fact::store().delete(&k, &id).await.unwrap();
        assert_eq!(Note::store().get(&k, &id).await.unwrap(), Some(n));
        assert_eq!(
            Fact::store().count(&k, Default::default()).await.unwrap(),
            0
        );
        assert_eq!(
            Note::store().count(&k, Default::default()).await.unwrap(),
            1
        );
    }
}
