//! The operations behind every generated Qdrant store, generic over the entity. Requests are
//! built here; the expansion only names the entity's constants.

use std::collections::HashMap;

use qdrant_client::qdrant::{
    self as pb, Condition, CountPoints, CreateCollection, CreateFieldIndexCollection, DeletePoints,
    FieldType, Filter, KeywordIndexParams, PayloadIndexParams, PointStruct, PointsSelector,
    QueryPoints, ScrollPoints, UpsertPoints, VectorParams, VectorsConfig,
};
use serde_json::Value;
use tracing::Instrument as _;
use uuid::Uuid;

use super::{Client, Scoped};
use crate::contract::DocumentStore;
use crate::document::{
    DocPages, Document, DocumentEntity, DocumentId as _, ENTITY_FIELD, check_own, decode_stored,
    span,
};
use crate::query::{Direction, DocQuery, Kind, Op};
use crate::resilience::check_cap;
use crate::{Error, Listing, Page, Result};
use std::ops::Bound;

/// What `#[tenant_store(backend = "qdrant")]` implements for an entity beside its
/// [`DocumentEntity`] core (the entity is the point's payload). The payload key of the tenant
/// index is the scope's name.
pub trait EmbeddingEntity: DocumentEntity + Document {
    /// The embedding model; the collection is `embeddings_{MODEL}`.
    const MODEL: &'static str;
    /// The vector size every point of the collection has.
    const DIMS: usize;
    /// How vectors are compared.
    const DISTANCE: pb::Distance;
    /// `(field, index type)` of every `filter` field: each gets a payload index, so a search
    /// filtering on it stays cheap.
    const FILTERS: &'static [(&'static str, pb::FieldType)] = &[];
}

/// One search hit: the entity and its score under the collection's distance.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored<E> {
    /// Higher is closer for cosine and dot; lower is closer for euclid and manhattan.
    pub score: f32,
    /// The point's payload.
    pub entity: E,
}

/// The most points one `search` or `list` returns.
pub const MAX_LIMIT: usize = 1_000;

/// The collection of an entity's model: `embeddings_{model}`.
pub fn collection_name<E: EmbeddingEntity>() -> String {
    format!("embeddings_{}", E::MODEL)
}

/// The Qdrant point id of `E`'s entity `id` in `tenant`: `UUIDv5(tenant, "<Entity>/<id>")`.
/// Ids are global to a collection in Qdrant; deriving them from the tenant and the entity keeps
/// one tenant's upsert, or another entity's sharing the model, from ever replacing a point.
pub fn point_id<E: EmbeddingEntity>(tenant: Uuid, id: &str) -> Uuid {
    Uuid::new_v5(&tenant, format!("{}/{id}", E::ENTITY).as_bytes())
}

/// What every request matches: the tenant and the entity (see [`ENTITY_FIELD`]).
fn tenant_conditions<E: EmbeddingEntity>(scoped: &Scoped<'_>) -> Vec<Condition> {
    vec![
        Condition::matches(E::SCOPE.as_str(), scoped.tenant(E::SCOPE).to_string()),
        Condition::matches(ENTITY_FIELD, E::ENTITY.to_owned()),
    ]
}

fn tenant_filter<E: EmbeddingEntity>(scoped: &Scoped<'_>) -> Filter {
    Filter::must(tenant_conditions::<E>(scoped))
}

/// The filter that selects exactly one of the tenant's points.
fn one_point<E: EmbeddingEntity>(scoped: &Scoped<'_>, id: &str) -> Filter {
    let pid = point_id::<E>(scoped.tenant(E::SCOPE), id).to_string();
    let mut must = tenant_conditions::<E>(scoped);
    must.push(Condition::has_id([pid]));
    Filter::must(must)
}

fn check_vector<E: EmbeddingEntity>(vector: &[f32]) -> Result<()> {
    if vector.len() != E::DIMS {
        return Err(Error::InvalidInput(format!(
            "{} vectors have {} dimensions (model `{}`), got {}",
            E::ENTITY,
            E::DIMS,
            E::MODEL,
            vector.len()
        )));
    }
    if let Some(i) = vector.iter().position(|x| !x.is_finite()) {
        return Err(Error::InvalidInput(format!(
            "vector component {i} is {}; components must be finite",
            vector[i]
        )));
    }
    Ok(())
}

/// The entity a point's payload holds, or `None` when it is another entity's or tenant's
/// (see [`decode_stored`]).
fn decode<E: EmbeddingEntity, C>(
    scoped: &crate::document::Scoped<'_, C>,
    payload: HashMap<String, pb::Value>,
) -> Result<Option<E>> {
    let record = Value::Object(
        payload
            .into_iter()
            .map(|(k, v)| (k, Value::from(v)))
            .collect(),
    );
    decode_stored(scoped, record)
}

/// The schema type Qdrant reports for an index created with `kind` (the two enums number
/// their variants differently).
fn payload_schema_type(kind: pb::FieldType) -> pb::PayloadSchemaType {
    use pb::{FieldType as F, PayloadSchemaType as P};
    match kind {
        F::Keyword => P::Keyword,
        F::Integer => P::Integer,
        F::Float => P::Float,
        F::Geo => P::Geo,
        F::Text => P::Text,
        F::Bool => P::Bool,
        F::Datetime => P::Datetime,
        F::Uuid => P::Uuid,
    }
}

/// Whether a payload schema entry is a keyword index marked as the tenant key.
pub fn is_tenant_index(info: Option<&pb::PayloadSchemaInfo>) -> bool {
    info.is_some_and(|i| {
        i.data_type == pb::PayloadSchemaType::Keyword as i32
            && matches!(
                i.params.as_ref().and_then(|p| p.index_params.as_ref()),
                Some(pb::payload_index_params::IndexParams::KeywordIndexParams(k))
                    if k.is_tenant == Some(true)
            )
    })
}

/// Inserts or replaces the entity's point in the caller's tenant.
pub(super) async fn upsert<E: EmbeddingEntity>(
    scoped: &Scoped<'_>,
    entity: &E,
    vector: &[f32],
) -> Result<()> {
    crate::document::check_id(&entity.id_text())?;
    check_vector::<E>(vector)?;
    let tenant = scoped.tenant(E::SCOPE);
    check_own(scoped, entity)?;
    let mut payload: Value =
        serde_json::from_str(&entity.to_json()?).map_err(|e| Error::InvalidInput(e.to_string()))?;
    if let Value::Object(map) = &mut payload {
        map.insert(ENTITY_FIELD.to_owned(), Value::from(E::ENTITY));
    }
    let payload = qdrant_client::Payload::try_from(payload)
        .map_err(|e| Error::InvalidInput(e.to_string()))?;
    let point = PointStruct::new(
        point_id::<E>(tenant, &entity.id_text()).to_string(),
        vector.to_vec(),
        payload,
    );
    let request = UpsertPoints {
        collection_name: collection_name::<E>(),
        timeout: scoped.client().server_timeout(),
        wait: Some(true),
        points: vec![point],
        ..Default::default()
    };
    scoped
        .client()
        .call(scoped.breaker_key(E::SCOPE), |q| async move {
            q.upsert_points(request).await
        })
        .instrument(span::<E, _>(scoped, "upsert"))
        .await
        .map(drop)
}

/// A filter's conditions as Qdrant payload conditions (each value typed, never text), or `None`
/// when they can match nothing (an equality with null, an empty set).
fn conditions(query: &DocQuery) -> Result<Option<Vec<Condition>>> {
    let mut out = Vec::new();
    for (field, op) in &query.conds {
        let field = *field;
        let condition = match op {
            Op::Eq(v) => match equal(field, v)? {
                Some(c) => c,
                None => return Ok(None),
            },
            Op::In(vs) => {
                let mut any = Vec::new();
                for v in vs {
                    any.extend(equal(field, v)?);
                }
                match any.len() {
                    0 => return Ok(None),
                    1 => any.remove(0),
                    _ => Filter::should(any).into(),
                }
            }
            Op::Range(lo, hi, Kind::Number) => {
                let number = |v: &Value| v.as_f64().ok_or_else(|| not_a(field, "number"));
                let [gt, gte, lt, lte] = ends(lo, hi, number)?;
                Condition::range(field, pb::Range { gt, gte, lt, lte })
            }
            Op::Range(lo, hi, Kind::Time) => {
                let time = |v: &Value| {
                    let t = v
                        .as_str()
                        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                        .ok_or_else(|| not_a(field, "time"))?;
                    Ok(prost_types::Timestamp {
                        seconds: t.timestamp(),
                        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
                    })
                };
                let [gt, gte, lt, lte] = ends(lo, hi, time)?;
                Condition::datetime_range(field, pb::DatetimeRange { gt, gte, lt, lte })
            }
            Op::Range(_, _, Kind::Text) => {
                return Err(Error::InvalidInput(format!(
                    "Qdrant compares numbers and times only: `{field}` is text, filter it by equality or a set"
                )));
            }
            Op::IsNull => {
                Filter::should([Condition::is_null(field), Condition::is_empty(field)]).into()
            }
            Op::IsNotNull => {
                Filter::must_not([Condition::is_null(field), Condition::is_empty(field)]).into()
            }
            Op::Prefix(_) => {
                return Err(Error::InvalidInput(format!(
                    "Qdrant has no prefix match on a keyword index: filter `{field}` by equality or a set"
                )));
            }
        };
        out.push(condition);
    }
    Ok(Some(out))
}

/// A range's ends as Qdrant's `[gt, gte, lt, lte]`, each converted by `convert`.
fn ends<T>(
    lo: &Bound<Value>,
    hi: &Bound<Value>,
    convert: impl Fn(&Value) -> Result<T>,
) -> Result<[Option<T>; 4]> {
    let end = |b: &Bound<Value>, strict: bool| match b {
        Bound::Excluded(v) if strict => convert(v).map(Some),
        Bound::Included(v) if !strict => convert(v).map(Some),
        _ => Ok(None),
    };
    Ok([
        end(lo, true)?,
        end(lo, false)?,
        end(hi, true)?,
        end(hi, false)?,
    ])
}

/// The condition `field == value`, or `None` for null (which equals nothing).
fn equal(field: &str, value: &Value) -> Result<Option<Condition>> {
    Ok(Some(match value {
        Value::Null => return Ok(None),
        Value::Bool(b) => Condition::matches(field, *b),
        Value::String(s) => Condition::matches(field, s.clone()),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Condition::matches(field, i),
            None => {
                let f = n.as_f64().ok_or_else(|| not_a(field, "number"))?;
                Condition::range(
                    field,
                    pb::Range {
                        gte: Some(f),
                        lte: Some(f),
                        ..Default::default()
                    },
                )
            }
        },
        Value::Array(_) | Value::Object(_) => {
            return Err(Error::InvalidInput(format!(
                "`{field}`: Qdrant matches scalars only"
            )));
        }
    }))
}

fn not_a(field: &str, what: &str) -> Error {
    Error::InvalidInput(format!("`{field}`: a bound that is not a {what}"))
}

async fn count_filter<E: EmbeddingEntity>(scoped: &Scoped<'_>, filter: Filter) -> Result<u64> {
    let request = CountPoints {
        collection_name: collection_name::<E>(),
        timeout: scoped.client().server_timeout(),
        filter: Some(filter),
        exact: Some(true),
        ..Default::default()
    };
    Ok(scoped
        .client()
        .call(scoped.breaker_key(E::SCOPE), |q| async move {
            q.count(request).await
        })
        .await?
        .result
        .map_or(0, |r| r.count))
}

async fn delete_filter<E: EmbeddingEntity>(scoped: &Scoped<'_>, filter: Filter) -> Result<()> {
    let request = DeletePoints {
        collection_name: collection_name::<E>(),
        timeout: scoped.client().server_timeout(),
        wait: Some(true),
        points: Some(PointsSelector {
            points_selector_one_of: Some(pb::points_selector::PointsSelectorOneOf::Filter(filter)),
        }),
        ..Default::default()
    };
    scoped
        .client()
        .call(scoped.breaker_key(E::SCOPE), |q| async move {
            q.delete_points(request).await
        })
        .await
        .map(drop)
}

/// The dense vector of a point read back (`with_vectors`), in either of the client's encodings.
fn dense_of(vectors: Option<pb::VectorsOutput>) -> Result<Vec<f32>> {
    match vectors.and_then(|v| v.vectors_options) {
        Some(pb::vectors_output::VectorsOptions::Vector(v)) =>
        {
            #[allow(deprecated)]
            match v.vector {
                Some(pb::vector_output::Vector::Dense(d)) => Ok(d.data),
                None if !v.data.is_empty() => Ok(v.data),
                _ => Err(Error::Backend("a point without a dense vector".into())),
            }
        }
        _ => Err(Error::Backend("a point without its vector".into())),
    }
}

crate::document::store_type!("Qdrant", EmbeddingEntity);

/// What Qdrant says of the collection `name`: its vectors and payload indexes.
async fn collection_info(client: &Client, name: &str) -> Result<pb::CollectionInfo> {
    let name = name.to_owned();
    client
        .call(None, |q| async move { q.collection_info(name).await })
        .await?
        .result
        .ok_or_else(|| Error::Backend("collection info without a result".into()))
}

impl<E: EmbeddingEntity> Store<E> {
    /// Whether the model's collection has the tenant index [`ensure_collection`](Self::ensure_collection)
    /// makes: a keyword payload index on the scope field, marked `is_tenant`.
    pub async fn has_tenant_index(&self, client: &Client) -> Result<bool> {
        let info = collection_info(client, &collection_name::<E>()).await?;
        Ok(is_tenant_index(info.payload_schema.get(E::SCOPE.as_str())))
    }

    /// The vector size of this entity's model.
    pub const DIMS: usize = E::DIMS;

    /// Creates the model's collection (size, distance), its tenant index and a payload index per
    /// `filter` field unless they exist; run again after the entity changes, it adds the indexes of
    /// new `filter` fields and rebuilds those whose type changed. An existing collection with
    /// another size or distance is `Error::InvalidInput`.
    pub async fn ensure_collection(&self, client: &Client) -> Result<()> {
        let name = collection_name::<E>();
        let exists = {
            let name = name.clone();
            client
                .call(None, |q| async move { q.collection_exists(name).await })
                .await?
        };
        if !exists {
            let request = CreateCollection {
                collection_name: name.clone(),
                vectors_config: Some(VectorsConfig {
                    config: Some(pb::vectors_config::Config::Params(VectorParams {
                        size: E::DIMS as u64,
                        distance: E::DISTANCE as i32,
                        ..Default::default()
                    })),
                }),
                ..Default::default()
            };
            match client
                .call(None, |q| async move { q.create_collection(request).await })
                .await
            {
                // Created concurrently by another process: checked below like any existing one.
                Ok(_) | Err(Error::InvalidInput(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let info = collection_info(client, &name).await?;
        let params = info
            .config
            .and_then(|c| c.params)
            .and_then(|p| p.vectors_config)
            .and_then(|v| v.config);
        match params {
            Some(pb::vectors_config::Config::Params(p))
                if p.size == E::DIMS as u64 && p.distance == E::DISTANCE as i32 => {}
            other => {
                return Err(Error::InvalidInput(format!(
                    "collection `{name}` exists with vectors {other:?}; {} needs {} dimensions, {:?} distance",
                    E::ENTITY,
                    E::DIMS,
                    E::DISTANCE
                )));
            }
        }
        if !info.payload_schema.contains_key(ENTITY_FIELD) {
            let request = CreateFieldIndexCollection {
                collection_name: name.clone(),
                wait: Some(true),
                field_name: ENTITY_FIELD.to_owned(),
                field_type: Some(FieldType::Keyword as i32),
                ..Default::default()
            };
            client
                .call(None, |q| async move { q.create_field_index(request).await })
                .await?;
        }
        // A payload index per `filter` field: added for a field that is new, rebuilt for one whose
        // type changed (a field index cannot change type in place). Indexes of fields the entity no
        // longer filters stay: another entity of the model may use them.
        for (field, kind) in E::FILTERS {
            let schema_type = payload_schema_type(*kind);
            let existing = info.payload_schema.get(*field).map(|i| i.data_type);
            if existing == Some(schema_type as i32) {
                continue;
            }
            if existing.is_some() {
                let request = pb::DeleteFieldIndexCollection {
                    collection_name: name.clone(),
                    wait: Some(true),
                    field_name: (*field).to_owned(),
                    ..Default::default()
                };
                client
                    .call(None, |q| async move { q.delete_field_index(request).await })
                    .await?;
            }
            let request = CreateFieldIndexCollection {
                collection_name: name.clone(),
                wait: Some(true),
                field_name: (*field).to_owned(),
                field_type: Some(*kind as i32),
                ..Default::default()
            };
            client
                .call(None, |q| async move { q.create_field_index(request).await })
                .await?;
        }
        if !is_tenant_index(info.payload_schema.get(E::SCOPE.as_str())) {
            let request = CreateFieldIndexCollection {
                collection_name: name,
                wait: Some(true),
                field_name: E::SCOPE.as_str().to_owned(),
                field_type: Some(FieldType::Keyword as i32),
                field_index_params: Some(PayloadIndexParams {
                    index_params: Some(pb::payload_index_params::IndexParams::KeywordIndexParams(
                        KeywordIndexParams {
                            is_tenant: Some(true),
                            ..Default::default()
                        },
                    )),
                }),
                ..Default::default()
            };
            client
                .call(None, |q| async move { q.create_field_index(request).await })
                .await?;
        }
        Ok(())
    }

    /// Inserts or replaces the point `new.id` (generated when `None`) of the caller's tenant. A
    /// vector of the wrong size is [`Error::InvalidInput`], before any request.
    pub async fn upsert(&self, scoped: &Scoped<'_>, new: E::New, vector: &[f32]) -> Result<E> {
        let entity = E::from_new(new, None, scoped.tenant(E::SCOPE));
        upsert(scoped, &entity, vector).await?;
        Ok(entity)
    }

    /// The `limit` nearest points of the caller's tenant; `filter` can only narrow them.
    pub async fn search(
        &self,
        scoped: &Scoped<'_>,
        vector: &[f32],
        limit: u64,
        filter: Option<Filter>,
    ) -> Result<Vec<Scored<E>>> {
        check_vector::<E>(vector)?;
        check_cap(
            "limit",
            usize::try_from(limit).unwrap_or(usize::MAX),
            MAX_LIMIT,
        )?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        // The caller's filter is nested under the tenant condition: it can only narrow.
        let mut must = tenant_conditions::<E>(scoped);
        must.extend(filter.map(Condition::from));
        let request = QueryPoints {
            collection_name: collection_name::<E>(),
            timeout: scoped.client().server_timeout(),
            query: Some(pb::Query::new_nearest(vector.to_vec())),
            filter: Some(Filter::must(must)),
            limit: Some(limit),
            with_payload: Some(true.into()),
            ..Default::default()
        };
        let points = scoped
            .client()
            .call(scoped.breaker_key(E::SCOPE), |q| async move {
                q.query(request).await
            })
            .instrument(span::<E, _>(scoped, "search"))
            .await?
            .result;
        let mut hits = Vec::with_capacity(points.len());
        for p in points {
            if let Some(entity) = decode(scoped, p.payload)? {
                hits.push(Scored {
                    score: p.score,
                    entity,
                });
            }
        }
        Ok(hits)
    }

    /// The point with this id, or `None` (also when it is another tenant's).
    pub async fn get(&self, scoped: &Scoped<'_>, id: &E::Id) -> Result<Option<E>> {
        let id: &str = &id.to_id();
        crate::document::check_id(id)?;
        let request = ScrollPoints {
            collection_name: collection_name::<E>(),
            timeout: scoped.client().server_timeout(),
            filter: Some(one_point::<E>(scoped, id)),
            limit: Some(1),
            with_payload: Some(true.into()),
            ..Default::default()
        };
        let points = scoped
            .client()
            .call(scoped.breaker_key(E::SCOPE), |q| async move {
                q.scroll(request).await
            })
            .instrument(span::<E, _>(scoped, "get"))
            .await?
            .result;
        match points.into_iter().next() {
            Some(p) => decode(scoped, p.payload),
            None => Ok(None),
        }
    }

    /// Deletes the tenant's point with this id (by a filter on the point id AND the tenant);
    /// `Error::NotFound` when the tenant has none. Qdrant does not report how many points a delete
    /// removed, so the point is counted first: two concurrent deletes of one point may both succeed.
    pub async fn delete(&self, scoped: &Scoped<'_>, id: &E::Id) -> Result<()> {
        let id: &str = &id.to_id();
        crate::document::check_id(id)?;
        async {
            if count_filter::<E>(scoped, one_point::<E>(scoped, id)).await? == 0 {
                return Err(Error::NotFound);
            }
            delete_filter::<E>(scoped, one_point::<E>(scoped, id)).await
        }
        .instrument(span::<E, _>(scoped, "delete"))
        .await
    }

    /// One page of the tenant's entities matching `filter`, in point-id order: a scroll, whose
    /// cursor holds the point the next page starts at (Qdrant's `next_page_offset`).
    /// [`Error::InvalidInput`] over [`MAX_LIMIT`], and for an order other than the id ascending
    /// (a scroll has no other).
    pub async fn list(
        &self,
        scoped: &Scoped<'_>,
        filter: E::Filter,
        page: Page,
    ) -> Result<Listing<E>> {
        let (query, pages, limit, at) = DocPages::start::<E, _>(
            "qdrant",
            scoped.client().cursor_key(),
            scoped,
            filter,
            &page,
        )?;
        let sort = pages.sort();
        if !sort.is_id || sort.direction != Direction::Asc {
            return Err(Error::InvalidInput(
                "Qdrant lists in point-id order only (a scroll); order by the id ascending".into(),
            ));
        }
        check_cap("limit", limit as usize, MAX_LIMIT)?;
        let Some(conditions) = conditions(&query)? else {
            return Ok(Listing {
                items: Vec::new(),
                next: None,
            });
        };
        let offset = match at {
            Some((_, id)) => Some(pb::PointId::from(
                Uuid::parse_str(&id)
                    .map_err(|_| crate::query::bad_cursor())?
                    .to_string(),
            )),
            None => None,
        };
        let mut must = tenant_conditions::<E>(scoped);
        must.extend(conditions);
        let request = ScrollPoints {
            collection_name: collection_name::<E>(),
            timeout: scoped.client().server_timeout(),
            filter: Some(Filter::must(must)),
            offset,
            limit: Some(limit),
            with_payload: Some(true.into()),
            ..Default::default()
        };
        let answer = scoped
            .client()
            .call(scoped.breaker_key(E::SCOPE), |q| async move {
                q.scroll(request).await
            })
            .instrument(span::<E, _>(scoped, "list"))
            .await?;
        let mut items = Vec::with_capacity(answer.result.len());
        for p in answer.result {
            items.extend(decode(scoped, p.payload)?);
        }
        let next = answer
            .next_page_offset
            .and_then(|p| match p.point_id_options {
                Some(pb::point_id::PointIdOptions::Uuid(u)) => {
                    Some(pages.next(limit, &Value::Null, &u))
                }
                Some(pb::point_id::PointIdOptions::Num(n)) => {
                    Some(pages.next(limit, &Value::Null, &n.to_string()))
                }
                None => None,
            });
        Ok(Listing { items, next })
    }

    /// The number of the tenant's points matching `filter` (as many as its listing holds).
    pub async fn count(&self, scoped: &Scoped<'_>, filter: E::Filter) -> Result<u64> {
        let query: DocQuery = filter.into();
        query.check()?;
        let Some(conditions) = conditions(&query)? else {
            return Ok(0);
        };
        let mut must = tenant_conditions::<E>(scoped);
        must.extend(conditions);
        count_filter::<E>(scoped, Filter::must(must))
            .instrument(span::<E, _>(scoped, "count"))
            .await
    }

    /// Moves every point of `from`'s tenant to `to`'s tenant (merging into what `to` has) and
    /// returns how many were moved. Point ids are derived from the tenant, so each point gets its
    /// new id in `to`; payloads and vectors are kept.
    ///
    /// Not atomic; ordered so that re-running after a crash finishes the job: (1) read every point
    /// of `from` with its vector; (2) refuse with [`Error::Duplicate`], before writing anything, if
    /// `to` holds a *different* entity with the same id (an identical one is a copy a cut-short run
    /// made); (3) upsert each point under `to` (repeating it is harmless); (4) delete `from`'s
    /// points with [`delete_tenant`](Self::delete_tenant).
    pub async fn move_tenant(&self, from: &Scoped<'_>, to: &Scoped<'_>) -> Result<u64> {
        async {
            let mut read: Vec<(E, Vec<f32>)> = Vec::new();
            let mut offset = None;
            loop {
                let request = ScrollPoints {
                    collection_name: collection_name::<E>(),
                    timeout: from.client().server_timeout(),
                    filter: Some(tenant_filter::<E>(from)),
                    offset,
                    limit: Some(256),
                    with_payload: Some(true.into()),
                    with_vectors: Some(true.into()),
                    ..Default::default()
                };
                let page = from
                    .client()
                    .call(from.breaker_key(E::SCOPE), |q| async move {
                        q.scroll(request).await
                    })
                    .await?;
                for p in page.result {
                    if let Some(entity) = decode(from, p.payload)? {
                        read.push((entity, dense_of(p.vectors)?));
                    }
                }
                match page.next_page_offset {
                    Some(next) => offset = Some(next),
                    None => break,
                }
            }
            crate::document::move_documents(
                read,
                to.tenant(E::SCOPE),
                async |e: &E| self.get(to, e.id()).await,
                async |e: &E, vector: &Vec<f32>| upsert(to, e, vector).await,
                self.delete_tenant(from),
            )
            .await
        }
        .instrument(span::<E, _>(from, "move_tenant"))
        .await
    }

    /// Deletes all of the tenant's points; returns how many there were.
    pub async fn delete_tenant(&self, scoped: &Scoped<'_>) -> Result<u64> {
        async {
            let tenant = tenant_filter::<E>(scoped);
            let n = count_filter::<E>(scoped, tenant.clone()).await?;
            delete_filter::<E>(scoped, tenant).await?;
            Ok(n)
        }
        .instrument(span::<E, _>(scoped, "delete_tenant"))
        .await
    }
}

/// Qdrant writes are upserts; `insert` and `update` take the payload and its vector.
impl<E: EmbeddingEntity> DocumentStore for Store<E> {
    type Client = Client;
    type Entity = E;
    type New = (E::New, Vec<f32>);
    type Id = E::Id;
    const BACKEND: &'static str = "qdrant";
    const UPSERTS: bool = true;

    fn id_of(entity: &E) -> E::Id {
        entity.id().clone()
    }

    async fn insert(&self, scoped: &Scoped<'_>, (new, vector): Self::New) -> Result<E> {
        self.upsert(scoped, new, &vector).await
    }

    async fn get(&self, scoped: &Scoped<'_>, id: &E::Id) -> Result<Option<E>> {
        self.get(scoped, id).await
    }

    async fn list(&self, scoped: &Scoped<'_>, page: Page) -> Result<Listing<E>> {
        self.list(scoped, E::Filter::default(), page).await
    }

    async fn count(&self, scoped: &Scoped<'_>) -> Result<u64> {
        self.count(scoped, E::Filter::default()).await
    }

    async fn update(&self, scoped: &Scoped<'_>, id: &E::Id, (new, vector): Self::New) -> Result<E> {
        if self.get(scoped, id).await?.is_none() {
            return Err(Error::NotFound);
        }
        let entity = E::from_new(new, Some(id.clone()), scoped.tenant(E::SCOPE));
        upsert(scoped, &entity, &vector).await?;
        Ok(entity)
    }

    async fn delete(&self, scoped: &Scoped<'_>, id: &E::Id) -> Result<()> {
        self.delete(scoped, id).await
    }

    async fn delete_tenant(&self, scoped: &Scoped<'_>) -> Result<u64> {
        self.delete_tenant(scoped).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Principal, Scope};

    #[derive(serde::Serialize, serde::Deserialize)]
    struct Chunk {
        id: Uuid,
        org_id: Uuid,
    }

    impl DocumentEntity for Chunk {
        const ENTITY: &'static str = "Chunk";
        const SCOPE: Scope = Scope::OrgId;
        const ID_FIELD: &'static str = "id";
        type Id = Uuid;
        type New = ();
        type Filter = crate::query::DocQuery;
        fn id(&self) -> &Uuid {
            &self.id
        }
        fn tenant_of(&self) -> Uuid {
            self.org_id
        }
        fn from_new(_: (), id: Option<Uuid>, tenant: Uuid) -> Self {
            Chunk {
                id: id.unwrap_or_else(Uuid::new_v4),
                org_id: tenant,
            }
        }
    }

    impl EmbeddingEntity for Chunk {
        const MODEL: &'static str = "m";
        const DIMS: usize = 3;
        const DISTANCE: pb::Distance = pb::Distance::Cosine;
    }

    fn payload(entity: &str, org: Uuid) -> HashMap<String, pb::Value> {
        [
            ("id", Uuid::new_v4().to_string()),
            ("org_id", org.to_string()),
            (ENTITY_FIELD, entity.to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), pb::Value::from(v)))
        .collect()
    }

    /// Defence in depth, as on OpenSearch and Valkey: a payload that reached decoding but names
    /// another tenant or another entity sharing the collection is treated as absent. (The
    /// request filters keep such points out; this holds if a filter ever does not.)
    #[test]
    fn a_payload_of_another_tenant_or_entity_is_never_decoded() {
        let who = Principal::new(Uuid::new_v4(), Uuid::new_v4()).unwrap();
        let scoped = crate::document::Scoped::new(&(), &who);
        let mine = decode::<Chunk, ()>(&scoped, payload("Chunk", who.org_id())).unwrap();
        assert!(mine.is_some_and(|c| c.org_id == who.org_id()));
        let theirs = decode::<Chunk, ()>(&scoped, payload("Chunk", Uuid::new_v4())).unwrap();
        assert!(theirs.is_none());
        let other_entity = decode::<Chunk, ()>(&scoped, payload("Note", who.org_id())).unwrap();
        assert!(other_entity.is_none());
    }
}
