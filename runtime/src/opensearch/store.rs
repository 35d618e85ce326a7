//! The operations behind every generated OpenSearch store, generic over the entity.

use opensearch::http::Method;
use serde_json::{Value, json};
use tracing::Instrument as _;
use uuid::Uuid;

use super::{Client, Scoped, ok};
use crate::contract::DocumentStore;
use crate::document::{
    DocPages, Document, DocumentEntity, DocumentId as _, ENTITY_FIELD, check_own, decode_stored,
    span,
};
use crate::query::{Direction, DocQuery, Op};
use crate::{Error, Listing, Page, Result};
use std::ops::Bound;

/// What `#[tenant_store(backend = "opensearch")]` implements for an entity beside its
/// [`DocumentEntity`] core: the index and the mapping. The scope field is named after the
/// scope; the id field is [`DocumentEntity::ID_FIELD`].
pub trait SearchEntity: DocumentEntity + Document {
    /// The shared index.
    const INDEX: &'static str;
    /// Full-text fields, searched by [`Store::search`].
    const TEXT_FIELDS: &'static [&'static str];
    /// `(field, mapping type)` of every field, in declaration order.
    const FIELDS: &'static [(&'static str, &'static str)];
}

/// A document's optimistic-concurrency version (`_seq_no`, `_primary_term`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocVersion {
    /// `_seq_no`.
    pub seq_no: u64,
    /// `_primary_term`.
    pub primary_term: u64,
}

/// Where the next page of a search starts (the last hit's sort values).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchCursor(Value);

/// A page of hits and the cursor of the next page (`None` on the last page).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPage<E> {
    /// The hits, best first.
    pub hits: Vec<E>,
    /// Pass to the next call for the following page.
    pub next: Option<SearchCursor>,
}

/// What a promotion did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Promotion {
    /// Documents in the dedicated index after the move.
    pub documents: u64,
    /// Documents removed from the shared index.
    pub removed_from_shared: u64,
}

/// `E`'s name as it appears in index and alias names, which OpenSearch wants in lower case:
/// each upper-case letter is written `-` and its lower case (`FileName` is `-file-name`,
/// `Filename` is `-filename`). One-to-one, because a Rust identifier holds no `-`.
pub(crate) fn entity_part<E: SearchEntity>() -> String {
    let mut out = String::with_capacity(E::ENTITY.len() + 4);
    for c in E::ENTITY.chars() {
        if c.is_ascii_uppercase() {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The tenant's alias for the entity: `<index>.<entity>.t.<tenant>` (`entity_part` for the
/// entity). The `index` key admits no `.`, so the fields read back one way: names of different
/// (index, entity, tenant) never meet, and none meets an index name a user can choose. Per
/// entity, because entities may share an index and a tenant id.
pub fn alias_name<E: SearchEntity>(tenant: Uuid) -> String {
    format!("{}.{}.t.{tenant}", E::INDEX, entity_part::<E>())
}

/// The tenant's dedicated index for the entity: `<index>.<entity>.d.<tenant>` (see
/// [`alias_name`]).
pub fn dedicated_index_name<E: SearchEntity>(tenant: Uuid) -> String {
    format!("{}.{}.d.{tenant}", E::INDEX, entity_part::<E>())
}

/// Refuses to delete `index` unless every document in it is `E`'s of `tenant`: a destructive
/// call checks what it destroys, whatever the names say.
async fn holds_only<E: SearchEntity>(client: &Client, index: &str, tenant: Uuid) -> Result<()> {
    let body = json!({ "query": { "bool": { "must_not": [tenant_filter::<E>(tenant)] } } });
    let body = ok(client
        .call(None, Method::Post, &format!("/{index}/_count"), Some(body))
        .await?)?;
    match body.get("count").and_then(Value::as_u64) {
        Some(0) => Ok(()),
        Some(n) => Err(Error::Backend(
            format!(
                "index `{index}` holds {n} documents of another entity or tenant than {} {tenant}; \
                 it was not deleted",
                E::ENTITY
            )
            .into(),
        )),
        None => Err(Error::Backend("count answer without a count".into())),
    }
}

/// Longest page a search returns.
pub const MAX_PAGE: usize = 1_000;

/// The most automaton states a `query_string` regex may compile to (OpenSearch's default is
/// 10,000).
pub const MAX_REGEX_STATES: u32 = 2_000;

/// The client for `scoped`'s tenant of `E`: every request it sends counts against that tenant's
/// breaker, whichever helper sends it.
fn tenant_client<E: SearchEntity>(scoped: &Scoped<'_>) -> Client {
    scoped.client().for_tenant(scoped.breaker_key(E::SCOPE))
}

/// The stored `_id`: `<Entity>:<tenant>:<id>`, so ids of different tenants, or of entities
/// sharing the index, never collide.
fn doc_key<E: SearchEntity>(tenant: Uuid, id: &str) -> String {
    format!("{}:{tenant}:{id}", E::ENTITY)
}

/// The tenant's documents of this entity: the scope field and the entity field (see
/// [`ENTITY_FIELD`]); in every alias, search, count, delete and reindex.
fn tenant_filter<E: SearchEntity>(tenant: Uuid) -> Value {
    json!({ "bool": { "filter": [
        { "term": { E::SCOPE.as_str(): tenant.to_string() } },
        { "term": { ENTITY_FIELD: E::ENTITY } },
    ] } })
}

pub(super) fn mapping<E: SearchEntity>() -> Value {
    let mut props = serde_json::Map::new();
    for (field, kind) in E::FIELDS {
        let kind = if E::TEXT_FIELDS.contains(field) {
            "text"
        } else {
            kind
        };
        props.insert((*field).to_owned(), json!({ "type": kind }));
    }
    props.insert(ENTITY_FIELD.to_owned(), json!({ "type": "keyword" }));
    json!({ "mappings": { "properties": props } })
}

/// The `mappings.properties` of a mapping (or of a `GET _mapping` answer's index entry).
pub(super) fn properties_of(mapping: &Value) -> serde_json::Map<String, Value> {
    mapping
        .pointer("/mappings/properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// The physical shared index: `E::INDEX` itself, or the index it names once a mapping change
/// rebuilt it (see [`evolve`](super::evolve)). Alias actions need the physical one.
async fn shared_index<E: SearchEntity>(client: &Client) -> Result<String> {
    Ok(concrete(client, E::INDEX)
        .await?
        .into_iter()
        .next()
        .unwrap_or_else(|| E::INDEX.to_owned()))
}

async fn create_index<E: SearchEntity>(client: &Client, name: &str) -> Result<()> {
    create_index_with(client, name, mapping::<E>()).await
}

/// Creates index `name` with `body` unless it exists (as an index, or as the alias a rebuilt
/// index answers to).
pub(super) async fn create_index_with(client: &Client, name: &str, body: Value) -> Result<()> {
    let (status, body) = client
        .call(None, Method::Put, &format!("/{name}"), Some(body))
        .await?;
    let error = body.pointer("/error/type").and_then(Value::as_str);
    let exists = error == Some("resource_already_exists_exception")
        || (error == Some("invalid_index_name_exception")
            && super::reason(&body).contains("already exists as alias"));
    if exists {
        Ok(())
    } else {
        ok((status, body)).map(drop)
    }
}

/// The physical indices behind `name`: the alias's targets, or `name` itself when it is an
/// index (empty when neither exists).
pub(super) async fn concrete(client: &Client, name: &str) -> Result<Vec<String>> {
    let targets = alias_targets(client, name).await?;
    if !targets.is_empty() {
        return Ok(targets);
    }
    let (status, _) = client
        .call(None, Method::Head, &format!("/{name}"), None)
        .await?;
    Ok(if status.is_success() {
        vec![name.to_owned()]
    } else {
        Vec::new()
    })
}

/// The indices the tenant's alias points at (empty when it has no alias).
pub(super) async fn alias_targets(client: &Client, alias: &str) -> Result<Vec<String>> {
    let (status, body) = client
        .call(None, Method::Get, &format!("/_alias/{alias}"), None)
        .await?;
    if status.as_u16() == 404 {
        return Ok(Vec::new());
    }
    let body = ok((status, body))?;
    Ok(body
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default())
}

fn alias_action<E: SearchEntity>(op: &str, index: &str, tenant: Uuid) -> Value {
    json!({ op: {
        "index": index,
        "alias": alias_name::<E>(tenant),
        "filter": tenant_filter::<E>(tenant),
        "routing": tenant.to_string(),
    }})
}

fn body_of<E: SearchEntity>(scoped: &Scoped<'_>, doc: &E) -> Result<(String, Value)> {
    check_own(scoped, doc)?;
    let tenant = scoped.tenant(E::SCOPE);
    let id = doc.id_text();
    crate::document::check_id(&id)?;
    let mut json: Value =
        serde_json::from_str(&doc.to_json()?).map_err(|e| Error::InvalidInput(e.to_string()))?;
    if let Value::Object(map) = &mut json {
        map.insert(ENTITY_FIELD.to_owned(), Value::from(E::ENTITY));
    }
    Ok((doc_key::<E>(tenant, &id), json))
}

async fn write<E: SearchEntity>(
    scoped: &Scoped<'_>,
    doc: &E,
    endpoint: &str,
    extra: &str,
) -> Result<Value> {
    let (key, body) = body_of(scoped, doc)?;
    let tenant = scoped.tenant(E::SCOPE);
    // `require_alias`: before the tenant's alias exists a write is NotFound, instead of
    // creating a real index under the alias's name (which would then block the alias).
    let path = format!(
        "/{}/{endpoint}/{key}?routing={tenant}&refresh=wait_for&require_alias=true{extra}",
        alias_name::<E>(tenant)
    );
    ok(scoped
        .client()
        .call(scoped.breaker_key(E::SCOPE), Method::Put, &path, Some(body))
        .await?)
}

/// Indexes (inserts or replaces) a document through the tenant's alias.
pub(super) async fn index<E: SearchEntity>(scoped: &Scoped<'_>, doc: &E) -> Result<()> {
    write(scoped, doc, "_doc", "")
        .instrument(span::<E, _>(scoped, "index"))
        .await
        .map(drop)
}

/// Inserts a document; [`Error::Duplicate`] when the tenant already has one with this id.
pub(super) async fn create<E: SearchEntity>(scoped: &Scoped<'_>, doc: &E) -> Result<()> {
    match write(scoped, doc, "_create", "")
        .instrument(span::<E, _>(scoped, "create"))
        .await
    {
        Err(Error::Conflict) => Err(Error::Duplicate),
        other => other.map(drop),
    }
}

fn version_of(v: &Value) -> Option<DocVersion> {
    Some(DocVersion {
        seq_no: v.get("_seq_no")?.as_u64()?,
        primary_term: v.get("_primary_term")?.as_u64()?,
    })
}

/// Runs a search through the tenant's alias. The body carries the call timeout, so the server
/// stops searching when the client stops waiting; an answer that timed out there (partial
/// hits) is [`Error::Timeout`], never a silently short page.
async fn search_raw<E: SearchEntity>(
    scoped: &Scoped<'_>,
    mut body: Value,
) -> Result<Vec<(Value, Value)>> {
    let path = format!("/{}/_search", alias_name::<E>(scoped.tenant(E::SCOPE)));
    body["timeout"] = json!(format!("{}ms", scoped.client().call_timeout().as_millis()));
    let client = scoped.client();
    hits_of(ok(client
        .call(
            scoped.breaker_key(E::SCOPE),
            Method::Post,
            &path,
            Some(body),
        )
        .await?)?)
    .map_err(|e| e.at(client.endpoint()))
}

/// The (`_source`, hit) pairs of a search answer; [`Error::Timeout`] when the server says it
/// timed out (its hits would be partial).
fn hits_of(mut body: Value) -> Result<Vec<(Value, Value)>> {
    if body.get("timed_out").and_then(Value::as_bool) == Some(true) {
        return Err(Error::Timeout(
            "the search timed out on the server (its hits would be partial)".into(),
        ));
    }
    let hits = match body.pointer_mut("/hits/hits").map(Value::take) {
        Some(Value::Array(hits)) => hits,
        _ => Vec::new(),
    };
    Ok(hits
        .into_iter()
        .map(|mut h| {
            (
                h.get_mut("_source").map(Value::take).unwrap_or(Value::Null),
                h,
            )
        })
        .collect())
}

async fn paged<E: SearchEntity>(
    scoped: &Scoped<'_>,
    query: Value,
    size: usize,
    after: Option<SearchCursor>,
) -> Result<SearchPage<E>> {
    if size == 0 || size > MAX_PAGE {
        return Err(Error::InvalidInput(format!(
            "page size {size} is outside 1..={MAX_PAGE}"
        )));
    }
    let tenant = scoped.tenant(E::SCOPE);
    let mut body = json!({
        "size": size,
        "query": { "bool": { "must": [query], "filter": [tenant_filter::<E>(tenant)] } },
        "sort": [ { "_score": "desc" }, { E::ID_FIELD: "asc" } ],
    });
    if let Some(SearchCursor(after)) = after {
        body["search_after"] = after;
    }
    let hits = search_raw::<E>(scoped, body).await?;
    let next = if hits.len() == size {
        hits.last()
            .and_then(|(_, h)| h.get("sort"))
            .cloned()
            .map(SearchCursor)
    } else {
        None
    };
    let mut docs = Vec::with_capacity(hits.len());
    for (source, _) in &hits {
        docs.extend(decode_stored::<E, _>(scoped, source.clone())?);
    }
    Ok(SearchPage { hits: docs, next })
}

/// The tenant's filter and a [`DocQuery`]'s conditions as query DSL clauses (every value a
/// JSON value of the request, never query text).
fn clauses<E: SearchEntity>(query: &DocQuery, tenant: Uuid) -> Vec<Value> {
    let nothing = json!({ "bool": { "must_not": { "match_all": {} } } });
    let mut out = vec![tenant_filter::<E>(tenant)];
    for (field, op) in &query.conds {
        let field = *field;
        out.push(match op {
            Op::Eq(Value::Null) => nothing.clone(),
            Op::Eq(v) => json!({ "term": { field: v } }),
            Op::In(vs) => {
                let vs: Vec<&Value> = vs.iter().filter(|v| !v.is_null()).collect();
                json!({ "terms": { field: vs } })
            }
            Op::Range(lo, hi, _) => {
                let mut r = serde_json::Map::new();
                for (bound, strict, loose) in [(lo, "gt", "gte"), (hi, "lt", "lte")] {
                    match bound {
                        Bound::Excluded(v) => r.insert(strict.into(), v.clone()),
                        Bound::Included(v) => r.insert(loose.into(), v.clone()),
                        Bound::Unbounded => None,
                    };
                }
                json!({ "range": { field: r } })
            }
            Op::IsNull => json!({ "bool": { "must_not": { "exists": { "field": field } } } }),
            Op::IsNotNull => json!({ "exists": { "field": field } }),
            Op::Prefix(p) => json!({ "prefix": { field: p } }),
        });
    }
    out
}

/// The number of the tenant's documents matching `filter`.
async fn count_matching<E: SearchEntity>(scoped: &Scoped<'_>, filter: E::Filter) -> Result<u64> {
    let query: DocQuery = filter.into();
    query.check()?;
    let tenant = scoped.tenant(E::SCOPE);
    let body = json!({ "query": { "bool": { "filter": clauses::<E>(&query, tenant) } } });
    let path = format!("/{}/_count", alias_name::<E>(tenant));
    async {
        let body = ok(scoped
            .client()
            .call(
                scoped.breaker_key(E::SCOPE),
                Method::Post,
                &path,
                Some(body),
            )
            .await?)?;
        body.get("count")
            .and_then(Value::as_u64)
            .ok_or_else(|| Error::Backend("count answer without a count".into()))
    }
    .instrument(span::<E, _>(scoped, "count"))
    .await
}

async fn delete_by_query<E: SearchEntity>(
    client: &Client,
    target: &str,
    tenant: Uuid,
    ids: Option<&str>,
) -> Result<u64> {
    let mut filter = vec![tenant_filter::<E>(tenant)];
    if let Some(id) = ids {
        filter.push(json!({ "ids": { "values": [doc_key::<E>(tenant, id)] } }));
    }
    let path = format!(
        "/{target}/_delete_by_query?refresh=true&conflicts=proceed&ignore_unavailable=true&allow_no_indices=true"
    );
    let body = ok(client
        .call(
            None,
            Method::Post,
            &path,
            Some(json!({ "query": { "bool": { "filter": filter } } })),
        )
        .await?)?;
    Ok(body.get("deleted").and_then(Value::as_u64).unwrap_or(0))
}

async fn count_in<E: SearchEntity>(client: &Client, target: &str, tenant: Uuid) -> Result<u64> {
    let body = json!({ "query": { "bool": { "filter": [tenant_filter::<E>(tenant)] } } });
    let body = ok(client
        .call(None, Method::Post, &format!("/{target}/_count"), Some(body))
        .await?)?;
    body.get("count")
        .and_then(Value::as_u64)
        .ok_or_else(|| Error::Backend("count answer without a count".into()))
}

crate::document::store_type!("OpenSearch", SearchEntity);

impl<E: SearchEntity> Store<E> {
    /// Creates the shared index with the entity's mapping unless it exists; on an index that exists
    /// (another entity's, or this one's from an earlier release) adds every field of the entity's
    /// mapping that is missing, so no field the store filters on is left to dynamic mapping (a
    /// scope field mapped as `text` matches no term filter: the entity would find none of its
    /// documents). A field mapped with another type is an error naming the field and the index.
    /// Infrastructure, not tenant data: it takes the client, not a tenant handle.
    pub async fn ensure_index(&self, client: &Client) -> Result<()> {
        create_index::<E>(client, E::INDEX).await?;
        let index = shared_index::<E>(client).await?;
        let current = {
            let body = ok(client
                .call(None, Method::Get, &format!("/{index}/_mapping"), None)
                .await?)?;
            properties_of(&body[index.as_str()])
        };
        let mut missing = serde_json::Map::new();
        let mut clashes = Vec::new();
        for (field, def) in properties_of(&mapping::<E>()) {
            match current.get(&field) {
                None => {
                    missing.insert(field, def);
                }
                Some(old) if old.get("type") != def.get("type") => clashes.push(format!(
                    "`{field}` is mapped as {}, {} needs {}",
                    old.get("type").unwrap_or(&Value::Null),
                    E::ENTITY,
                    def.get("type").unwrap_or(&Value::Null)
                )),
                Some(_) => {}
            }
        }
        if !clashes.is_empty() {
            return Err(Error::InvalidInput(format!(
                "index `{index}` cannot hold entity `{}` as it is mapped: {}; give the entity an index \
                 of its own (`index = \"...\"`), or run `evolve_index` if its own mapping changed",
                E::ENTITY,
                clashes.join("; ")
            )));
        }
        if !missing.is_empty() {
            let body = json!({ "properties": missing });
            ok(client
                .call(None, Method::Put, &format!("/{index}/_mapping"), Some(body))
                .await?)?;
        }
        Ok(())
    }

    /// Creates the tenant's filtered, routed alias (idempotent).
    pub async fn create_tenant_alias(&self, scoped: &Scoped<'_>) -> Result<()> {
        let tenant = scoped.tenant(E::SCOPE);
        let client = &tenant_client::<E>(scoped);
        async {
            if !alias_targets(client, &alias_name::<E>(tenant))
                .await?
                .is_empty()
            {
                return Ok(());
            }
            let shared = shared_index::<E>(client).await?;
            let actions = json!({ "actions": [alias_action::<E>("add", &shared, tenant)] });
            ok(client
                .call(None, Method::Post, "/_aliases", Some(actions))
                .await?)
            .map(drop)
        }
        .instrument(span::<E, _>(scoped, "create_tenant_alias"))
        .await
    }

    /// Indexes (inserts or replaces) the document built from `new` in the caller's tenant and
    /// returns it.
    pub async fn index(&self, scoped: &Scoped<'_>, new: E::New) -> Result<E> {
        let doc = E::from_new(new, None, scoped.tenant(E::SCOPE));
        index(scoped, &doc).await?;
        Ok(doc)
    }

    /// Inserts the document built from `new`; [`Error::Duplicate`] when the tenant has one with
    /// this id.
    pub async fn create(&self, scoped: &Scoped<'_>, new: E::New) -> Result<E> {
        let doc = E::from_new(new, None, scoped.tenant(E::SCOPE));
        create(scoped, &doc).await?;
        Ok(doc)
    }

    /// Replaces a document only if it is still at `version`; [`Error::Conflict`] otherwise.
    pub async fn update(
        &self,
        scoped: &Scoped<'_>,
        doc: &E,
        version: DocVersion,
    ) -> Result<DocVersion> {
        let extra = format!(
            "&if_seq_no={}&if_primary_term={}",
            version.seq_no, version.primary_term
        );
        let body = write(scoped, doc, "_doc", &extra)
            .instrument(span::<E, _>(scoped, "update"))
            .await?;
        version_of(&body)
            .ok_or_else(|| Error::Backend("the update answer carries no version".into()))
    }

    /// The document with this id, or `None` (also when it is another tenant's).
    pub async fn get(&self, scoped: &Scoped<'_>, id: &E::Id) -> Result<Option<E>> {
        Ok(self.get_versioned(scoped, id).await?.map(|(d, _)| d))
    }

    /// The document with this id and its version, for [`Store::update`].
    pub async fn get_versioned(
        &self,
        scoped: &Scoped<'_>,
        id: &E::Id,
    ) -> Result<Option<(E, DocVersion)>> {
        let id: &str = &id.to_id();
        crate::document::check_id(id)?;
        let tenant = scoped.tenant(E::SCOPE);
        let body = json!({
            "size": 1,
            "seq_no_primary_term": true,
            "query": { "bool": { "filter": [ { "ids": { "values": [doc_key::<E>(tenant, id)] } }, tenant_filter::<E>(tenant) ] } },
        });
        async {
            let Some((source, hit)) = search_raw::<E>(scoped, body).await?.into_iter().next()
            else {
                return Ok(None);
            };
            let version = version_of(&hit)
                .ok_or_else(|| Error::Backend("the hit carries no version".into()))?;
            Ok(decode_stored::<E, _>(scoped, source)?.map(|d| (d, version)))
        }
        .instrument(span::<E, _>(scoped, "get"))
        .await
    }

    /// Full-text search over the text fields, a page at a time.
    pub async fn search(
        &self,
        scoped: &Scoped<'_>,
        text: &str,
        size: usize,
        after: Option<SearchCursor>,
    ) -> Result<SearchPage<E>> {
        let query = if text.trim().is_empty() {
            json!({ "match_all": {} })
        } else {
            json!({ "multi_match": { "query": text, "fields": E::TEXT_FIELDS } })
        };
        paged(scoped, query, size, after)
            .instrument(span::<E, _>(scoped, "search"))
            .await
    }

    /// Search with a Lucene query string; a malformed one is [`Error::InvalidInput`].
    pub async fn search_query_string(
        &self,
        scoped: &Scoped<'_>,
        query: &str,
        size: usize,
        after: Option<SearchCursor>,
    ) -> Result<SearchPage<E>> {
        // A leading wildcard scans every term of the index; a regex compiles to an automaton
        // whose size the query decides: both are costs one tenant would impose on all.
        let query = json!({ "query_string": {
            "query": query,
            "default_field": "*",
            "allow_leading_wildcard": false,
            "max_determinized_states": MAX_REGEX_STATES,
        } });
        paged(scoped, query, size, after)
            .instrument(span::<E, _>(scoped, "search_query_string"))
            .await
    }

    /// Deletes the document; [`Error::NotFound`] when the tenant has none with this id.
    pub async fn delete(&self, scoped: &Scoped<'_>, id: &E::Id) -> Result<()> {
        let id: &str = &id.to_id();
        crate::document::check_id(id)?;
        let tenant = scoped.tenant(E::SCOPE);
        async {
            // Both indices a promotion moves the tenant between, whichever the alias points at:
            // a delete landing mid-promotion must not leave a copy that the promotion's next step
            // brings back (see `promote`).
            let both = format!("{},{}", E::INDEX, dedicated_index_name::<E>(tenant));
            match delete_by_query::<E>(&tenant_client::<E>(scoped), &both, tenant, Some(id)).await?
            {
                0 => Err(Error::NotFound),
                _ => Ok(()),
            }
        }
        .instrument(span::<E, _>(scoped, "delete"))
        .await
    }

    /// The number of the tenant's documents matching `filter` (as many as its listing holds).
    pub async fn count(&self, scoped: &Scoped<'_>, filter: E::Filter) -> Result<u64> {
        count_matching::<E>(scoped, filter).await
    }

    /// One page of the tenant's documents matching `filter`, in its order (the id ascending by
    /// default; an `order_by` field otherwise, the id breaking ties), with `search_after`; the
    /// listing holds the next page's request when there are more. A tenant that never wrote
    /// has an empty listing. [`Error::InvalidInput`] over [`MAX_PAGE`], and for a cursor
    /// another listing made.
    pub async fn list(
        &self,
        scoped: &Scoped<'_>,
        filter: E::Filter,
        page: Page,
    ) -> Result<Listing<E>> {
        let (query, pages, limit, after) = DocPages::start::<E, _>(
            "opensearch",
            scoped.client().cursor_key(),
            scoped,
            filter,
            &page,
        )?;
        let sort = pages.sort();
        crate::resilience::check_cap("limit", limit as usize, MAX_PAGE)?;
        let tenant = scoped.tenant(E::SCOPE);
        let dir = match sort.direction {
            Direction::Asc => "asc",
            Direction::Desc => "desc",
        };
        let mut order = Vec::new();
        if !sort.is_id {
            order.push(json!({ sort.field: dir }));
        }
        order.push(json!({ E::ID_FIELD: dir }));
        let mut body = json!({
            "size": limit + 1,
            "query": { "bool": { "filter": clauses::<E>(&query, tenant) } },
            "sort": order,
        });
        if let Some((values, _)) = after {
            if !values.is_array() {
                return Err(crate::query::bad_cursor());
            }
            body["search_after"] = values;
        }
        async {
            let hits = match search_raw::<E>(scoped, body).await {
                Err(Error::NotFound) => Vec::new(),
                other => other?,
            };
            let more = hits.len() > limit as usize;
            let mut items = Vec::with_capacity(hits.len());
            let mut last_sort = Value::Null;
            for (i, (source, hit)) in hits.into_iter().enumerate() {
                if i == limit as usize {
                    break;
                }
                last_sort = hit.get("sort").cloned().unwrap_or_default();
                items.extend(decode_stored::<E, _>(scoped, source)?);
            }
            let more = more && !last_sort.is_null();
            let next = match (more, items.last()) {
                (true, Some(last)) => Some(pages.next(limit, &last_sort, &last.id_text())),
                _ => None,
            };
            Ok(Listing { items, next })
        }
        .instrument(span::<E, _>(scoped, "list"))
        .await
    }

    /// Moves every document of `from`'s tenant to `to`'s tenant (merging into what `to` has) and
    /// returns how many were moved.
    ///
    /// Not atomic (OpenSearch has no multi-document transactions); ordered so that re-running after
    /// a crash finishes the job: (1) make `to`'s alias; (2) read every document of `from`; (3) refuse
    /// with [`Error::Duplicate`], before writing anything, if `to` holds a *different* document with
    /// the same id (an identical one is a copy a cut-short run made); (4) index each document under
    /// `to` (a replace, so repeating it is harmless); (5) delete `from`'s documents and alias with
    /// [`delete_tenant`](Self::delete_tenant).
    pub async fn move_tenant(&self, from: &Scoped<'_>, to: &Scoped<'_>) -> Result<u64> {
        async {
            self.create_tenant_alias(to).await?;
            let mut read = Vec::new();
            let mut after = None;
            loop {
                let page = match self.search(from, "", MAX_PAGE, after).await {
                    Ok(page) => page,
                    // `from` never wrote anything: it has no alias.
                    Err(Error::NotFound) => break,
                    Err(e) => return Err(e),
                };
                read.extend(page.hits.into_iter().map(|doc| (doc, ())));
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            crate::document::move_documents(
                read,
                to.tenant(E::SCOPE),
                async |doc: &E| self.get(to, doc.id()).await,
                async |doc: &E, _: &()| index(to, doc).await,
                self.delete_tenant(from),
            )
            .await
        }
        .instrument(span::<E, _>(from, "move_tenant"))
        .await
    }

    /// Deletes all of the tenant's documents and its alias; returns how many were deleted.
    pub async fn delete_tenant(&self, scoped: &Scoped<'_>) -> Result<u64> {
        let tenant = scoped.tenant(E::SCOPE);
        let client = &tenant_client::<E>(scoped);
        async {
            let mut deleted = delete_by_query::<E>(client, E::INDEX, tenant, None).await?;
            let dedicated = dedicated_index_name::<E>(tenant);
            let (status, body) = client
                .call(None, Method::Head, &format!("/{dedicated}"), None)
                .await?;
            if status.is_success() {
                deleted += count_in::<E>(client, &dedicated, tenant).await?;
                // The dedicated index, or the one a mapping change rebuilt it as.
                for index in concrete(client, &dedicated).await? {
                    holds_only::<E>(client, &index, tenant).await?;
                    ok(client
                        .call(None, Method::Delete, &format!("/{index}"), None)
                        .await?)?;
                }
            } else if status.as_u16() != 404 {
                ok((status, body))?;
            }
            let alias = alias_name::<E>(tenant);
            for index in alias_targets(client, &alias).await? {
                ok(client
                    .call(
                        None,
                        Method::Delete,
                        &format!("/{index}/_alias/{alias}"),
                        None,
                    )
                    .await?)?;
            }
            Ok(deleted)
        }
        .instrument(span::<E, _>(scoped, "delete_tenant"))
        .await
    }

    /// Moves the tenant to a dedicated index:
    /// 1. create the dedicated index ([`dedicated_index_name`]) with the mapping;
    /// 2. `_reindex` the tenant's documents from the shared index into it;
    /// 3. verify the dedicated count equals the shared count (a mismatch aborts: the alias still
    ///    points at the shared index, which still holds everything);
    /// 4. swap the alias in one atomic `_aliases` call (remove from shared, add to dedicated);
    /// 5. copy, create-only, any document written to the shared index between step 2 and the swap;
    /// 6. delete the tenant's documents from the shared index.
    ///
    /// At every step the alias points at an index holding all of the tenant's documents, so
    /// searches keep answering. A `delete` deletes from both indices whatever the alias points at,
    /// so a document deleted during the promotion stays deleted (step 5 finds nothing to bring
    /// back); one deleted while step 2 runs makes the counts differ, which aborts the promotion and
    /// drops the unaliased dedicated index, so a re-run starts afresh. A document *updated* (not created) between steps 2 and 4 keeps its
    /// earlier copy in the dedicated index; promote a tenant while its writes are quiet, or re-index
    /// its recent changes afterwards. Re-running after a crash is safe: an alias already on the
    /// dedicated index skips to steps 5 and 6.
    pub async fn promote_tenant(&self, scoped: &Scoped<'_>) -> Result<Promotion> {
        let tenant = scoped.tenant(E::SCOPE);
        let client = &tenant_client::<E>(scoped);
        let (alias, dedicated) = (alias_name::<E>(tenant), dedicated_index_name::<E>(tenant));
        let reindex = |op_type: &'static str| {
            json!({
                "conflicts": "proceed",
                "source": { "index": E::INDEX, "query": { "bool": { "filter": [tenant_filter::<E>(tenant)] } } },
                "dest": { "index": dedicated, "op_type": op_type },
            })
        };
        async {
            let targets = alias_targets(client, &alias).await?;
            if targets.is_empty() {
                return Err(Error::NotFound);
            }
            let promoted = concrete(client, &dedicated).await?;
            if !targets.iter().any(|t| promoted.contains(t)) {
                create_index::<E>(client, &dedicated).await?;
                ok(client.call(None, Method::Post, "/_reindex?refresh=true", Some(reindex("index"))).await?)?;
                ok(client.call(None, Method::Post, &format!("/{dedicated}/_refresh"), None).await?)?;
                let (shared, copied) = (count_in::<E>(client, E::INDEX, tenant).await?, count_in::<E>(client, &dedicated, tenant).await?);
                if shared != copied {
                    // Not aliased yet, so nobody reads it: dropped, a re-run starts afresh.
                    holds_only::<E>(client, &dedicated, tenant).await?;
                    ok(client.call(None, Method::Delete, &format!("/{dedicated}"), None).await?)?;
                    return Err(Error::Backend(format!(
                        "promotion aborted: {copied} of {shared} documents copied; the alias still points at the shared index"
                    ).into()));
                }
                let shared = shared_index::<E>(client).await?;
                let swap = json!({ "actions": [
                    json!({ "remove": { "index": shared, "alias": alias } }),
                    alias_action::<E>("add", &dedicated, tenant),
                ]});
                ok(client.call(None, Method::Post, "/_aliases", Some(swap)).await?)?;
            }
            ok(client.call(None, Method::Post, "/_reindex?refresh=true", Some(reindex("create"))).await?)?;
            let removed = delete_by_query::<E>(client, E::INDEX, tenant, None).await?;
            let documents = count_in::<E>(client, &dedicated, tenant).await?;
            Ok(Promotion { documents, removed_from_shared: removed })
        }
        .instrument(span::<E, _>(scoped, "promote"))
        .await
    }
}

/// The tenant's alias is made on its first write; before it, the tenant has nothing.
impl<E: SearchEntity> DocumentStore for Store<E> {
    type Client = Client;
    type Entity = E;
    type New = E::New;
    type Id = E::Id;
    const BACKEND: &'static str = "opensearch";
    const UPSERTS: bool = false;

    fn id_of(entity: &E) -> E::Id {
        entity.id().clone()
    }

    async fn insert(&self, scoped: &Scoped<'_>, new: E::New) -> Result<E> {
        self.create_tenant_alias(scoped).await?;
        self.create(scoped, new).await
    }

    async fn get(&self, scoped: &Scoped<'_>, id: &E::Id) -> Result<Option<E>> {
        none_if_no_alias(self.get(scoped, id).await, None)
    }

    async fn list(&self, scoped: &Scoped<'_>, page: Page) -> Result<Listing<E>> {
        self.list(scoped, E::Filter::default(), page).await
    }

    async fn count(&self, scoped: &Scoped<'_>) -> Result<u64> {
        none_if_no_alias(self.count(scoped, E::Filter::default()).await, 0)
    }

    async fn update(&self, scoped: &Scoped<'_>, id: &E::Id, new: E::New) -> Result<E> {
        let Some((_, version)) = self.get_versioned(scoped, id).await? else {
            return Err(Error::NotFound);
        };
        let doc = E::from_new(new, Some(id.clone()), scoped.tenant(E::SCOPE));
        self.update(scoped, &doc, version).await?;
        Ok(doc)
    }

    async fn delete(&self, scoped: &Scoped<'_>, id: &E::Id) -> Result<()> {
        self.delete(scoped, id).await
    }

    async fn delete_tenant(&self, scoped: &Scoped<'_>) -> Result<u64> {
        none_if_no_alias(self.delete_tenant(scoped).await, 0)
    }
}

/// `NotFound` from a read of a tenant that never wrote (no alias yet) means it has nothing:
/// `nothing`.
fn none_if_no_alias<T>(result: Result<T>, nothing: T) -> Result<T> {
    match result {
        Err(Error::NotFound) => Ok(nothing),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_the_server_timed_out_is_a_timeout_not_a_short_page() {
        let partial =
            json!({ "timed_out": true, "hits": { "hits": [ { "_source": { "a": 1 } } ] } });
        assert!(matches!(hits_of(partial), Err(Error::Timeout(_))));
        let whole =
            json!({ "timed_out": false, "hits": { "hits": [ { "_source": { "a": 1 } } ] } });
        assert_eq!(hits_of(whole).unwrap()[0].0, json!({ "a": 1 }));
    }
}
