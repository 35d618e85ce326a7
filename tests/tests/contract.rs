//! The contract across backends (`tenant_store::contract`): one test body per behaviour, run
//! against the example store of every backend through `TenantStore`. Each test uses fresh
//! tenants, so runs never see each other's data.

use tenant_store::contract::TenantStore;
use tenant_store::{Error, Page};
use tenant_store_tests::fixtures::Fixture;
use tenant_store_tests::tenant;

type Entity<F> = <<F as Fixture>::S as TenantStore>::Entity;

fn data<F: Fixture>(es: &[Entity<F>]) -> Vec<u32> {
    let mut v: Vec<u32> = es.iter().map(F::data).collect();
    v.sort();
    v
}

async fn get_of_a_missing_id_is_none<F: Fixture>() {
    let (conn, s, a) = (F::conn().await, F::store(), tenant());
    assert!(s.get(&conn, &a, &F::fresh_id()).await.unwrap().is_none());
}

async fn list_of_a_tenant_with_nothing_is_empty<F: Fixture>() {
    let (conn, s, a) = (F::conn().await, F::store(), tenant());
    assert!(
        s.list(&conn, &a, tenant_store::Page::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

async fn a_page_of_zero_or_over_the_largest_is_invalid_input<F: Fixture>() {
    let (conn, s, a) = (F::conn().await, F::store(), tenant());
    s.insert(&conn, &a, F::new(1, None)).await.unwrap();
    for limit in [0, Page::MAX_LIMIT + 1] {
        let err = s
            .list(&conn, &a, Page::first(limit))
            .await
            .expect_err("refused");
        assert!(matches!(err, Error::InvalidInput(_)), "{limit}: {err:?}");
    }
}

async fn count_of_a_tenant_with_nothing_is_zero<F: Fixture>() {
    let (conn, s, a) = (F::conn().await, F::store(), tenant());
    assert_eq!(s.count(&conn, &a).await.unwrap(), 0);
}

/// Every page of the tenant's listing, following `next`.
async fn pages<F: Fixture>(
    conn: &<F::S as TenantStore>::Conn,
    s: &F::S,
    who: &tenant_store::Principal,
    limit: u32,
) -> Vec<Vec<Entity<F>>> {
    let (mut out, mut page) = (Vec::new(), Page::first(limit));
    loop {
        let l = s.list(conn, who, page).await.unwrap();
        out.push(l.items);
        match l.next {
            Some(next) => page = next,
            None => return out,
        }
    }
}

async fn pages_list_every_entity_once_and_count_agrees_from_both_sides<F: Fixture>() {
    let (conn, s, a, b) = (F::conn().await, F::store(), tenant(), tenant());
    for n in 0..7 {
        s.insert(&conn, &a, F::new(n, None)).await.unwrap();
    }
    for n in 10..13 {
        s.insert(&conn, &b, F::new(n, None)).await.unwrap();
    }
    for (who, want) in [(&a, (0..7).collect::<Vec<u32>>()), (&b, (10..13).collect())] {
        let got = pages::<F>(&conn, &s, who, 3).await;
        let sizes: Vec<usize> = got.iter().map(Vec::len).collect();
        let expected_sizes = if want.len() == 7 {
            vec![3, 3, 1]
        } else {
            vec![3]
        };
        assert_eq!(sizes, expected_sizes, "no empty last page");
        let all: Vec<Entity<F>> = got.into_iter().flatten().collect();
        assert!(all.iter().all(|e| F::tenant_of(e) == F::scope_of(who)));
        assert_eq!(data::<F>(&all), want, "each entity exactly once");
        assert_eq!(s.count(&conn, who).await.unwrap(), want.len() as u64);
    }
}

async fn a_cursor_works_only_for_its_tenant_and_unedited<F: Fixture>() {
    let (conn, s, a, b) = (F::conn().await, F::store(), tenant(), tenant());
    for n in 0..4 {
        s.insert(&conn, &a, F::new(n, None)).await.unwrap();
        s.insert(&conn, &b, F::new(n + 10, None)).await.unwrap();
    }
    for (me, other) in [(&a, &b), (&b, &a)] {
        let next = s
            .list(&conn, me, Page::first(2))
            .await
            .unwrap()
            .next
            .expect("a second page");
        let err = s
            .list(&conn, other, next.clone())
            .await
            .expect_err("refused");
        assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
        let text = next.cursor().unwrap().as_str().to_owned();
        let mut edited = text.clone().into_bytes();
        let mid = edited.len() / 2;
        edited[mid] = if edited[mid] == b'A' { b'B' } else { b'A' };
        let edited: tenant_store::Cursor = String::from_utf8(edited).unwrap().parse().unwrap();
        let err = s
            .list(&conn, me, Page::after(edited, 2))
            .await
            .expect_err("refused");
        assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
        // Unedited, through its text, it pages on in its own tenant.
        let again = Page::after(text.parse().unwrap(), 2);
        let second = s.list(&conn, me, again).await.unwrap();
        assert_eq!(second.items.len(), 2);
        assert!(
            second
                .items
                .iter()
                .all(|e| F::tenant_of(e) == F::scope_of(me))
        );
    }
}

async fn insert_then_get_returns_the_entity_in_the_callers_tenant<F: Fixture>() {
    let (conn, s, a) = (F::conn().await, F::store(), tenant());
    let e = s.insert(&conn, &a, F::new(7, None)).await.unwrap();
    assert_eq!(F::tenant_of(&e), F::scope_of(&a));
    let got = s.get(&conn, &a, &F::S::id_of(&e)).await.unwrap().unwrap();
    assert_eq!(F::data(&got), 7);
    assert_eq!(F::tenant_of(&got), F::scope_of(&a));
}

async fn insert_with_a_given_id_keeps_it<F: Fixture>() {
    let (conn, s, a) = (F::conn().await, F::store(), tenant());
    let id = F::fresh_id();
    let e = s
        .insert(&conn, &a, F::new(3, Some(id.clone())))
        .await
        .unwrap();
    let got = s.get(&conn, &a, &id).await.unwrap().unwrap();
    assert_eq!(F::data(&got), 3);
    assert_eq!(F::data(&e), 3);
}

async fn get_of_another_tenants_id_is_none_from_both_sides<F: Fixture>() {
    let (conn, s, a, b) = (F::conn().await, F::store(), tenant(), tenant());
    let ea = s.insert(&conn, &a, F::new(1, None)).await.unwrap();
    let eb = s.insert(&conn, &b, F::new(2, None)).await.unwrap();
    assert!(s.get(&conn, &b, &F::S::id_of(&ea)).await.unwrap().is_none());
    assert!(s.get(&conn, &a, &F::S::id_of(&eb)).await.unwrap().is_none());
}

async fn list_holds_only_the_tenants_own_entities_from_both_sides<F: Fixture>() {
    let (conn, s, a, b) = (F::conn().await, F::store(), tenant(), tenant());
    for n in [1, 2, 3] {
        s.insert(&conn, &a, F::new(n, None)).await.unwrap();
    }
    s.insert(&conn, &b, F::new(9, None)).await.unwrap();
    let la = s
        .list(&conn, &a, tenant_store::Page::first(100))
        .await
        .unwrap()
        .items;
    let lb = s
        .list(&conn, &b, tenant_store::Page::first(100))
        .await
        .unwrap()
        .items;
    assert_eq!(data::<F>(&la), [1, 2, 3]);
    assert_eq!(data::<F>(&lb), [9]);
    assert!(la.iter().all(|e| F::tenant_of(e) == F::scope_of(&a)));
    assert!(lb.iter().all(|e| F::tenant_of(e) == F::scope_of(&b)));
}

async fn list_respects_its_limit<F: Fixture>() {
    let (conn, s, a) = (F::conn().await, F::store(), tenant());
    for n in 0..5 {
        s.insert(&conn, &a, F::new(n, None)).await.unwrap();
    }
    let page = s
        .list(&conn, &a, tenant_store::Page::first(3))
        .await
        .unwrap()
        .items;
    assert_eq!(page.len(), 3);
    let mut d = data::<F>(&page);
    d.dedup();
    assert_eq!(d.len(), 3, "a page holds distinct entities");
}

async fn every_listed_entity_reads_back_the_same_by_id<F: Fixture>() {
    let (conn, s, a) = (F::conn().await, F::store(), tenant());
    for n in [4, 5, 6] {
        s.insert(&conn, &a, F::new(n, None)).await.unwrap();
    }
    for e in s
        .list(&conn, &a, tenant_store::Page::first(10))
        .await
        .unwrap()
        .items
    {
        let got = s.get(&conn, &a, &F::S::id_of(&e)).await.unwrap().unwrap();
        assert_eq!(F::data(&got), F::data(&e));
    }
}

async fn update_replaces_the_data_and_keeps_the_id<F: Fixture>() {
    let (conn, s, a) = (F::conn().await, F::store(), tenant());
    let e = s.insert(&conn, &a, F::new(1, None)).await.unwrap();
    let id = F::S::id_of(&e);
    let u = s.update(&conn, &a, &id, F::new(2, None)).await.unwrap();
    assert_eq!(F::data(&u), 2);
    let got = s.get(&conn, &a, &id).await.unwrap().unwrap();
    assert_eq!(F::data(&got), 2);
    assert_eq!(
        s.list(&conn, &a, tenant_store::Page::first(10))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

async fn update_of_a_missing_id_is_not_found<F: Fixture>() {
    let (conn, s, a) = (F::conn().await, F::store(), tenant());
    let err = s
        .update(&conn, &a, &F::fresh_id(), F::new(1, None))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    assert!(
        s.list(&conn, &a, tenant_store::Page::first(10))
            .await
            .unwrap()
            .items
            .is_empty(),
        "no upsert by update"
    );
}

async fn update_of_another_tenants_id_is_not_found_and_changes_nothing<F: Fixture>() {
    let (conn, s, a, b) = (F::conn().await, F::store(), tenant(), tenant());
    let ea = s.insert(&conn, &a, F::new(1, None)).await.unwrap();
    let id = F::S::id_of(&ea);
    let err = s
        .update(&conn, &b, &id, F::new(66, None))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    assert_eq!(F::data(&s.get(&conn, &a, &id).await.unwrap().unwrap()), 1);
    assert!(
        s.list(&conn, &b, tenant_store::Page::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

async fn delete_of_a_missing_id_is_not_found<F: Fixture>() {
    let (conn, s, a) = (F::conn().await, F::store(), tenant());
    let err = s.delete(&conn, &a, &F::fresh_id()).await.unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
}

async fn delete_removes_the_entity_from_get_and_list<F: Fixture>() {
    let (conn, s, a) = (F::conn().await, F::store(), tenant());
    let keep = s.insert(&conn, &a, F::new(1, None)).await.unwrap();
    let gone = s.insert(&conn, &a, F::new(2, None)).await.unwrap();
    s.delete(&conn, &a, &F::S::id_of(&gone)).await.unwrap();
    assert!(
        s.get(&conn, &a, &F::S::id_of(&gone))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.get(&conn, &a, &F::S::id_of(&keep))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        data::<F>(
            &s.list(&conn, &a, tenant_store::Page::first(10))
                .await
                .unwrap()
                .items
        ),
        [1]
    );
}

async fn deletes_are_idempotent<F: Fixture>() {
    let (conn, s, a) = (F::conn().await, F::store(), tenant());
    let e = s.insert(&conn, &a, F::new(1, None)).await.unwrap();
    let id = F::S::id_of(&e);
    s.delete(&conn, &a, &id).await.unwrap();
    for _ in 0..2 {
        let err = s.delete(&conn, &a, &id).await.unwrap_err();
        assert!(matches!(err, Error::NotFound), "{err:?}");
        assert!(s.get(&conn, &a, &id).await.unwrap().is_none());
        assert!(
            s.list(&conn, &a, tenant_store::Page::first(10))
                .await
                .unwrap()
                .items
                .is_empty()
        );
    }
}

async fn delete_of_another_tenants_id_is_not_found_and_changes_nothing<F: Fixture>() {
    let (conn, s, a, b) = (F::conn().await, F::store(), tenant(), tenant());
    let ea = s.insert(&conn, &a, F::new(1, None)).await.unwrap();
    let eb = s.insert(&conn, &b, F::new(2, None)).await.unwrap();
    let err = s.delete(&conn, &b, &F::S::id_of(&ea)).await.unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    let err = s.delete(&conn, &a, &F::S::id_of(&eb)).await.unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    assert!(s.get(&conn, &a, &F::S::id_of(&ea)).await.unwrap().is_some());
    assert!(s.get(&conn, &b, &F::S::id_of(&eb)).await.unwrap().is_some());
}

async fn update_after_delete_is_not_found<F: Fixture>() {
    let (conn, s, a) = (F::conn().await, F::store(), tenant());
    let e = s.insert(&conn, &a, F::new(1, None)).await.unwrap();
    let id = F::S::id_of(&e);
    s.delete(&conn, &a, &id).await.unwrap();
    let err = s.update(&conn, &a, &id, F::new(2, None)).await.unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
}

async fn insert_of_an_existing_id_is_duplicate_unless_the_store_upserts<F: Fixture>() {
    let (conn, s, a) = (F::conn().await, F::store(), tenant());
    let id = F::fresh_id();
    s.insert(&conn, &a, F::new(1, Some(id.clone())))
        .await
        .unwrap();
    let again = s.insert(&conn, &a, F::new(2, Some(id.clone()))).await;
    let stored = F::data(&s.get(&conn, &a, &id).await.unwrap().unwrap());
    if F::S::UPSERTS {
        assert_eq!(F::data(&again.unwrap()), 2);
        assert_eq!(stored, 2);
    } else {
        assert!(matches!(again, Err(Error::Duplicate)), "{:?}", again.err());
        assert_eq!(stored, 1, "a refused insert changes nothing");
    }
    assert_eq!(
        s.list(&conn, &a, tenant_store::Page::first(10))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

async fn the_same_id_in_two_tenants_is_two_entities<F: Fixture>() {
    let (conn, s, a, b) = (F::conn().await, F::store(), tenant(), tenant());
    let id = F::fresh_id();
    s.insert(&conn, &a, F::new(1, Some(id.clone())))
        .await
        .unwrap();
    s.insert(&conn, &b, F::new(2, Some(id.clone())))
        .await
        .unwrap();
    assert_eq!(F::data(&s.get(&conn, &a, &id).await.unwrap().unwrap()), 1);
    assert_eq!(F::data(&s.get(&conn, &b, &id).await.unwrap().unwrap()), 2);
    s.delete(&conn, &b, &id).await.unwrap();
    assert_eq!(F::data(&s.get(&conn, &a, &id).await.unwrap().unwrap()), 1);
    assert!(s.get(&conn, &b, &id).await.unwrap().is_none());
}

async fn delete_tenant_removes_all_of_the_tenant_and_nothing_else<F: Fixture>() {
    let (conn, s, a, b) = (F::conn().await, F::store(), tenant(), tenant());
    for n in 0..4 {
        s.insert(&conn, &a, F::new(n, None)).await.unwrap();
    }
    let kept = s.insert(&conn, &b, F::new(9, None)).await.unwrap();
    assert_eq!(s.delete_tenant(&conn, &a).await.unwrap(), 4);
    assert!(
        s.list(&conn, &a, tenant_store::Page::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(
        data::<F>(
            &s.list(&conn, &b, tenant_store::Page::first(10))
                .await
                .unwrap()
                .items
        ),
        [9]
    );
    assert!(
        s.get(&conn, &b, &F::S::id_of(&kept))
            .await
            .unwrap()
            .is_some()
    );
}

async fn delete_tenant_of_an_empty_tenant_is_zero_and_repeatable<F: Fixture>() {
    let (conn, s, a) = (F::conn().await, F::store(), tenant());
    assert_eq!(s.delete_tenant(&conn, &a).await.unwrap(), 0);
    s.insert(&conn, &a, F::new(1, None)).await.unwrap();
    assert_eq!(s.delete_tenant(&conn, &a).await.unwrap(), 1);
    assert_eq!(s.delete_tenant(&conn, &a).await.unwrap(), 0);
}

async fn a_tenant_can_write_again_after_delete_tenant<F: Fixture>() {
    let (conn, s, a) = (F::conn().await, F::store(), tenant());
    s.insert(&conn, &a, F::new(1, None)).await.unwrap();
    s.delete_tenant(&conn, &a).await.unwrap();
    let e = s.insert(&conn, &a, F::new(2, None)).await.unwrap();
    assert_eq!(
        data::<F>(
            &s.list(&conn, &a, tenant_store::Page::first(10))
                .await
                .unwrap()
                .items
        ),
        [2]
    );
    assert!(s.get(&conn, &a, &F::S::id_of(&e)).await.unwrap().is_some());
}

/// Every behaviour above, as one `#[tokio::test]` per backend.
macro_rules! contract_suite {
    ($($backend:ident => $fixture:ty),* $(,)?) => {$(
        mod $backend {
            contract_suite!(@tests $fixture;
                get_of_a_missing_id_is_none,
                list_of_a_tenant_with_nothing_is_empty,
                a_page_of_zero_or_over_the_largest_is_invalid_input,
                count_of_a_tenant_with_nothing_is_zero,
                pages_list_every_entity_once_and_count_agrees_from_both_sides,
                a_cursor_works_only_for_its_tenant_and_unedited,
                insert_then_get_returns_the_entity_in_the_callers_tenant,
                insert_with_a_given_id_keeps_it,
                get_of_another_tenants_id_is_none_from_both_sides,
                list_holds_only_the_tenants_own_entities_from_both_sides,
                list_respects_its_limit,
                every_listed_entity_reads_back_the_same_by_id,
                update_replaces_the_data_and_keeps_the_id,
                update_of_a_missing_id_is_not_found,
                update_of_another_tenants_id_is_not_found_and_changes_nothing,
                delete_of_a_missing_id_is_not_found,
                delete_removes_the_entity_from_get_and_list,
                deletes_are_idempotent,
                delete_of_another_tenants_id_is_not_found_and_changes_nothing,
                update_after_delete_is_not_found,
                insert_of_an_existing_id_is_duplicate_unless_the_store_upserts,
                the_same_id_in_two_tenants_is_two_entities,
                delete_tenant_removes_all_of_the_tenant_and_nothing_else,
                delete_tenant_of_an_empty_tenant_is_zero_and_repeatable,
                a_tenant_can_write_again_after_delete_tenant,
            );
        }
    )*};
    (@tests $fixture:ty; $($behaviour:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $behaviour() {
            super::$behaviour::<$fixture>().await
        }
    )*};
}

contract_suite! {
    postgres => tenant_store_tests::fixtures::Pg,
    valkey => tenant_store_tests::fixtures::Valkey,
    opensearch => tenant_store_tests::fixtures::OpenSearch,
    neo4j => tenant_store_tests::fixtures::Neo4j,
    qdrant => tenant_store_tests::fixtures::Qdrant,
}
