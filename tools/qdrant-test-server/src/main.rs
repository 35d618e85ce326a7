//! # qdrant-test-server
//!
//! A **test-only** Qdrant gRPC server: the gRPC services of `qdrant-client` 1.20 (the tonic
//! server traits it ships) in front of `qdrant-edge`, Qdrant's own storage and search engine as
//! a library (segments, WAL, payload indexes, filters, search). No Qdrant server can be
//! installed on the machines tenant-store is developed and tested on, so its integration tests
//! talk to this instead; set `TENANT_STORE_QDRANT_URL` to run them against a real Qdrant.
//!
//! ```text
//! qdrant-test-server --listen 127.0.0.1:56334 --data <dir> [--api-key <key>]
//! ```
//!
//! ## What it is
//! One `EdgeShard` per collection under `<dir>/<collection>`, loaded again at start-up. Filters,
//! scoring, payload indexes (keyword `is_tenant` included) and persistence are qdrant-edge's,
//! i.e. Qdrant's own code; this file only translates gRPC messages. Filters travel through
//! Qdrant's REST JSON form, which qdrant-edge deserializes itself.
//!
//! ## What it implements
//! - `Qdrant/HealthCheck` (reports version 1.20.0, the API level of the client it serves);
//! - `Collections`: Get (size, distance, payload schema, point count), List, Create (one
//!   unnamed dense vector: size and distance), Delete, CollectionExists;
//! - `Points`: Upsert, Delete (by ids or filter), Get, CreateFieldIndex (keyword with
//!   `is_tenant`, and the plain field types), DeleteFieldIndex, Query (nearest to a dense vector, with filter,
//!   limit, offset, score threshold), Count, Scroll (by id, with filter).
//! - Filters: `must`/`should`/`must_not`, nested filters, `has_id`, field `match` (keyword,
//!   integer, bool, any, except, text) and `range`.
//!
//! ## What it does not
//! Everything else answers `UNIMPLEMENTED`: named, sparse and multi vectors, aliases, shard
//! keys, snapshots, payload updates, recommend/discover, groups, facets, `min_should`, geo and
//! datetime conditions, payload selectors other than on/off, ordering. There is one shard per
//! collection, no replication, no consensus, no authentication, no TLS; `wait` is always true
//! (every write is applied and flushed to disk before the answer: qdrant-edge does not replay
//! its WAL on load). It listens where it is told, for tests only.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use qdrant_client::qdrant as pb;
use qdrant_client::qdrant::collections_server::{Collections, CollectionsServer};
use qdrant_client::qdrant::points_server::{Points, PointsServer};
use qdrant_client::qdrant::qdrant_server::{Qdrant, QdrantServer};
use qdrant_edge as edge;
use serde_json::{Value as Json, json};
use tokio::sync::RwLock;
use tonic::{Request, Response, Status};

type Reply<T> = Result<Response<T>, Status>;

/// The API level reported by the health check: the `qdrant-client` version this server speaks.
const API_VERSION: &str = "1.20.0";

struct Server {
    data: PathBuf,
    collections: RwLock<HashMap<String, Arc<edge::EdgeShard>>>,
}

impl Server {
    /// Opens every collection found under `data`.
    fn open(data: PathBuf) -> Result<Self, String> {
        std::fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
        let mut collections = HashMap::new();
        for entry in std::fs::read_dir(&data).map_err(|e| e.to_string())? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                let shard = edge::EdgeShard::load(&path, None)
                    .map_err(|e| format!("loading {}: {e}", path.display()))?;
                collections.insert(name, Arc::new(shard));
            }
        }
        Ok(Self {
            data,
            collections: RwLock::new(collections),
        })
    }

    async fn shard(&self, name: &str) -> Result<Arc<edge::EdgeShard>, Status> {
        self.collections
            .read()
            .await
            .get(name)
            .cloned()
            .ok_or_else(|| {
                Status::not_found(format!("Not found: Collection `{name}` doesn't exist!"))
            })
    }

    /// Runs blocking engine work off the async threads.
    async fn blocking<T, F>(&self, name: &str, f: F) -> Result<T, Status>
    where
        T: Send + 'static,
        F: FnOnce(&edge::EdgeShard) -> Result<T, Status> + Send + 'static,
    {
        let shard = self.shard(name).await?;
        tokio::task::spawn_blocking(move || f(&shard))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
    }
}

/// Held by every write and every flush (dropping a shard flushes it).
fn writes() -> std::sync::MutexGuard<'static, ()> {
    static WRITES: std::sync::Mutex<()> = std::sync::Mutex::new(());
    WRITES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Applies one write and flushes it: qdrant-edge does not replay its WAL when a shard is
/// loaded, so a write is made durable before it is acknowledged. Writes are serialised: the
/// engine's `flush` only *tries* the WAL lock and panics if a concurrent update holds it.
fn write(shard: &edge::EdgeShard, op: edge::UpdateOperation) -> Result<(), Status> {
    let _one_at_a_time = writes();
    shard.update(op).map_err(engine)?;
    shard.flush();
    Ok(())
}

fn engine(e: edge::OperationError) -> Status {
    let message = e.to_string();
    match e {
        edge::OperationError::WrongVectorDimension { .. }
        | edge::OperationError::ValidationError { .. }
        | edge::OperationError::TypeError { .. } => Status::invalid_argument(message),
        edge::OperationError::PointIdError { .. } => Status::not_found(message),
        _ => Status::internal(message),
    }
}

fn unimplemented(what: &str) -> Status {
    Status::unimplemented(format!(
        "qdrant-test-server does not implement {what}; see tools/qdrant-test-server/src/main.rs"
    ))
}

fn elapsed(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

fn completed(start: Instant) -> pb::PointsOperationResponse {
    pb::PointsOperationResponse {
        result: Some(pb::UpdateResult {
            operation_id: None,
            status: pb::UpdateStatus::Completed as i32,
        }),
        time: elapsed(start),
        usage: None,
    }
}

// ---- conversions -------------------------------------------------------------------------

fn distance(d: i32) -> Result<edge::Distance, Status> {
    match pb::Distance::try_from(d) {
        Ok(pb::Distance::Cosine) => Ok(edge::Distance::Cosine),
        Ok(pb::Distance::Euclid) => Ok(edge::Distance::Euclid),
        Ok(pb::Distance::Dot) => Ok(edge::Distance::Dot),
        Ok(pb::Distance::Manhattan) => Ok(edge::Distance::Manhattan),
        _ => Err(Status::invalid_argument("Wrong input: unknown distance")),
    }
}

fn distance_out(d: edge::Distance) -> pb::Distance {
    match d {
        edge::Distance::Cosine => pb::Distance::Cosine,
        edge::Distance::Euclid => pb::Distance::Euclid,
        edge::Distance::Dot => pb::Distance::Dot,
        edge::Distance::Manhattan => pb::Distance::Manhattan,
    }
}

fn point_id(id: Option<pb::PointId>) -> Result<edge::PointId, Status> {
    match id.and_then(|id| id.point_id_options) {
        Some(pb::point_id::PointIdOptions::Num(n)) => Ok(edge::PointId::NumId(n)),
        Some(pb::point_id::PointIdOptions::Uuid(s)) => s
            .parse()
            .map(edge::PointId::Uuid)
            .map_err(|_| Status::invalid_argument(format!("Wrong input: bad point id `{s}`"))),
        None => Err(Status::invalid_argument("Wrong input: point id is missing")),
    }
}

fn point_id_out(id: edge::PointId) -> pb::PointId {
    pb::PointId {
        point_id_options: Some(match id {
            edge::PointId::NumId(n) => pb::point_id::PointIdOptions::Num(n),
            edge::PointId::Uuid(u) => pb::point_id::PointIdOptions::Uuid(u.to_string()),
        }),
    }
}

fn id_json(id: &pb::PointId) -> Result<Json, Status> {
    match &id.point_id_options {
        Some(pb::point_id::PointIdOptions::Num(n)) => Ok(json!(n)),
        Some(pb::point_id::PointIdOptions::Uuid(s)) => Ok(json!(s)),
        None => Err(Status::invalid_argument("Wrong input: point id is missing")),
    }
}

fn payload_in(payload: HashMap<String, pb::Value>) -> edge::Payload {
    edge::Payload(
        payload
            .into_iter()
            .map(|(k, v)| (k, Json::from(v)))
            .collect(),
    )
}

fn payload_out(payload: Option<edge::Payload>) -> HashMap<String, pb::Value> {
    payload
        .map(|p| {
            p.0.into_iter()
                .map(|(k, v)| (k, pb::Value::from(v)))
                .collect()
        })
        .unwrap_or_default()
}

fn dense(vector: pb::Vector) -> Result<Vec<f32>, Status> {
    #[allow(deprecated)]
    match vector.vector {
        Some(pb::vector::Vector::Dense(d)) => Ok(d.data),
        None if vector.indices.is_none() => Ok(vector.data),
        _ => Err(unimplemented("sparse, multi or inference vectors")),
    }
}

fn vectors_out(v: Option<edge::VectorStructInternal>) -> Option<pb::VectorsOutput> {
    let edge::VectorStructInternal::Single(data) = v? else {
        return None;
    };
    #[allow(deprecated)]
    Some(pb::VectorsOutput {
        vectors_options: Some(pb::vectors_output::VectorsOptions::Vector(
            pb::VectorOutput {
                data: Vec::new(),
                indices: None,
                vectors_count: None,
                vector: Some(pb::vector_output::Vector::Dense(pb::DenseVector { data })),
            },
        )),
    })
}

fn with_payload(s: Option<pb::WithPayloadSelector>) -> Result<bool, Status> {
    match s.and_then(|s| s.selector_options) {
        None => Ok(false),
        Some(pb::with_payload_selector::SelectorOptions::Enable(b)) => Ok(b),
        Some(_) => Err(unimplemented("payload include/exclude selectors")),
    }
}

fn with_vectors(s: Option<pb::WithVectorsSelector>) -> Result<bool, Status> {
    match s.and_then(|s| s.selector_options) {
        None => Ok(false),
        Some(pb::with_vectors_selector::SelectorOptions::Enable(b)) => Ok(b),
        Some(_) => Err(unimplemented("named vector selectors")),
    }
}

/// A gRPC filter in Qdrant's REST JSON form, which qdrant-edge deserializes.
fn filter_json(f: pb::Filter) -> Result<Json, Status> {
    if f.min_should.is_some() {
        return Err(unimplemented("`min_should`"));
    }
    let list = |conds: Vec<pb::Condition>| -> Result<Json, Status> {
        conds
            .into_iter()
            .map(condition_json)
            .collect::<Result<Vec<_>, _>>()
            .map(Json::Array)
    };
    Ok(json!({
        "must": list(f.must)?,
        "should": list(f.should)?,
        "must_not": list(f.must_not)?,
    }))
}

fn condition_json(c: pb::Condition) -> Result<Json, Status> {
    use pb::condition::ConditionOneOf as C;
    match c.condition_one_of {
        Some(C::Field(f)) => field_json(f),
        Some(C::HasId(h)) => Ok(json!({
            "has_id": h.has_id.iter().map(id_json).collect::<Result<Vec<_>, _>>()?
        })),
        Some(C::Filter(f)) => filter_json(f),
        Some(C::IsEmpty(e)) => Ok(json!({ "is_empty": { "key": e.key } })),
        Some(C::IsNull(n)) => Ok(json!({ "is_null": { "key": n.key } })),
        Some(_) => Err(unimplemented("nested, has_vector and slice conditions")),
        None => Err(Status::invalid_argument("Wrong input: empty condition")),
    }
}

fn field_json(f: pb::FieldCondition) -> Result<Json, Status> {
    use pb::r#match::MatchValue as M;
    if let Some(m) = f.r#match.and_then(|m| m.match_value) {
        let m = match m {
            M::Keyword(s) => json!({ "value": s }),
            M::Integer(i) => json!({ "value": i }),
            M::Boolean(b) => json!({ "value": b }),
            M::Text(t) => json!({ "text": t }),
            M::Keywords(k) => json!({ "any": k.strings }),
            M::Integers(i) => json!({ "any": i.integers }),
            M::ExceptKeywords(k) => json!({ "except": k.strings }),
            M::ExceptIntegers(i) => json!({ "except": i.integers }),
            _ => return Err(unimplemented("phrase, prefix and substring matches")),
        };
        return Ok(json!({ "key": f.key, "match": m }));
    }
    if let Some(r) = f.range {
        return Ok(json!({
            "key": f.key,
            "range": { "lt": r.lt, "gt": r.gt, "gte": r.gte, "lte": r.lte },
        }));
    }
    Err(unimplemented("field conditions other than match and range"))
}

fn filter(f: Option<pb::Filter>) -> Result<Option<edge::Filter>, Status> {
    f.map(|f| {
        let json = filter_json(f)?;
        serde_json::from_value(json)
            .map_err(|e| Status::invalid_argument(format!("Wrong input: bad filter: {e}")))
    })
    .transpose()
}

fn with_payload_edge(b: bool) -> Option<edge::WithPayloadInterface> {
    Some(edge::WithPayloadInterface::Bool(b))
}

fn record_out(r: edge::Record) -> pb::RetrievedPoint {
    pb::RetrievedPoint {
        id: Some(point_id_out(r.id)),
        payload: payload_out(r.payload),
        vectors: vectors_out(r.vector),
        shard_key: None,
        order_value: None,
    }
}

// ---- services ----------------------------------------------------------------------------

struct Health;

#[tonic::async_trait]
impl Qdrant for Health {
    async fn health_check(
        &self,
        _: Request<pb::HealthCheckRequest>,
    ) -> Reply<pb::HealthCheckReply> {
        Ok(Response::new(pb::HealthCheckReply {
            title: "qdrant-test-server (qdrant-edge 0.7, test use only)".into(),
            version: API_VERSION.into(),
            commit: None,
        }))
    }
}

#[derive(Clone)]
struct Svc(Arc<Server>);

/// Collection names become directory names.
fn check_name(name: &str) -> Result<(), Status> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !name.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(Status::invalid_argument(format!(
            "Wrong input: collection name `{name}` is not allowed"
        )))
    }
}

#[tonic::async_trait]
impl Collections for Svc {
    async fn get(
        &self,
        r: Request<pb::GetCollectionInfoRequest>,
    ) -> Reply<pb::GetCollectionInfoResponse> {
        let start = Instant::now();
        let name = r.into_inner().collection_name;
        let info = self
            .0
            .blocking(&name, |shard| {
                let config = shard.config().clone();
                let info = shard.info();
                Ok((config, info))
            })
            .await?;
        let (config, info) = info;
        let params = config
            .vectors
            .get(edge::DEFAULT_VECTOR_NAME)
            .ok_or_else(|| Status::internal("collection has no unnamed vector"))?;
        let payload_schema = info
            .payload_schema
            .into_iter()
            .map(|(key, index)| {
                let json =
                    serde_json::to_value(&index).map_err(|e| Status::internal(e.to_string()))?;
                Ok((key.to_string(), schema_info_out(&json, index.points as u64)))
            })
            .collect::<Result<HashMap<_, _>, Status>>()?;
        Ok(Response::new(pb::GetCollectionInfoResponse {
            result: Some(pb::CollectionInfo {
                status: pb::CollectionStatus::Green as i32,
                segments_count: info.segments_count as u64,
                config: Some(pb::CollectionConfig {
                    params: Some(pb::CollectionParams {
                        shard_number: 1,
                        vectors_config: Some(pb::VectorsConfig {
                            config: Some(pb::vectors_config::Config::Params(pb::VectorParams {
                                size: params.size as u64,
                                distance: distance_out(params.distance) as i32,
                                ..Default::default()
                            })),
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                payload_schema,
                points_count: Some(info.points_count as u64),
                indexed_vectors_count: Some(info.indexed_vectors_count as u64),
                ..Default::default()
            }),
            time: elapsed(start),
        }))
    }

    async fn list(
        &self,
        _: Request<pb::ListCollectionsRequest>,
    ) -> Reply<pb::ListCollectionsResponse> {
        let start = Instant::now();
        let mut names: Vec<_> = self.0.collections.read().await.keys().cloned().collect();
        names.sort();
        Ok(Response::new(pb::ListCollectionsResponse {
            collections: names
                .into_iter()
                .map(|name| pb::CollectionDescription { name })
                .collect(),
            time: elapsed(start),
        }))
    }

    async fn create(
        &self,
        r: Request<pb::CreateCollection>,
    ) -> Reply<pb::CollectionOperationResponse> {
        let start = Instant::now();
        let r = r.into_inner();
        check_name(&r.collection_name)?;
        let Some(pb::vectors_config::Config::Params(params)) =
            r.vectors_config.and_then(|c| c.config)
        else {
            return Err(unimplemented(
                "collections without exactly one unnamed dense vector",
            ));
        };
        if params.size == 0 || params.size > 65_536 {
            return Err(Status::invalid_argument(
                "Wrong input: vector size must be between 1 and 65536",
            ));
        }
        let config = edge::EdgeConfigBuilder::new()
            .vector(
                edge::DEFAULT_VECTOR_NAME,
                edge::EdgeVectorParamsBuilder::new(
                    params.size as usize,
                    distance(params.distance)?,
                )
                .build(),
            )
            .build();
        let mut collections = self.0.collections.write().await;
        if collections.contains_key(&r.collection_name) {
            return Err(Status::invalid_argument(format!(
                "Wrong input: Collection `{}` already exists!",
                r.collection_name
            )));
        }
        let path = self.0.data.join(&r.collection_name);
        let shard = tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&path).map_err(|e| Status::internal(e.to_string()))?;
            edge::EdgeShard::new(&path, config).map_err(engine)
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))??;
        collections.insert(r.collection_name, Arc::new(shard));
        Ok(Response::new(pb::CollectionOperationResponse {
            result: true,
            time: elapsed(start),
        }))
    }

    async fn update(
        &self,
        _: Request<pb::UpdateCollection>,
    ) -> Reply<pb::CollectionOperationResponse> {
        Err(unimplemented("UpdateCollection"))
    }

    async fn delete(
        &self,
        r: Request<pb::DeleteCollection>,
    ) -> Reply<pb::CollectionOperationResponse> {
        let start = Instant::now();
        let name = r.into_inner().collection_name;
        let removed = self.0.collections.write().await.remove(&name);
        if let Some(shard) = removed {
            let path = shard.path().to_owned();
            // The last handle's drop flushes: not while a write holds the WAL.
            tokio::task::spawn_blocking(move || {
                let _one_at_a_time = writes();
                drop(shard);
            })
            .await
            .map_err(|e| Status::internal(e.to_string()))?;
            remove_dir(&path).await?;
        }
        Ok(Response::new(pb::CollectionOperationResponse {
            result: true,
            time: elapsed(start),
        }))
    }

    async fn update_aliases(
        &self,
        _: Request<pb::ChangeAliases>,
    ) -> Reply<pb::CollectionOperationResponse> {
        Err(unimplemented("aliases"))
    }

    async fn list_collection_aliases(
        &self,
        _: Request<pb::ListCollectionAliasesRequest>,
    ) -> Reply<pb::ListAliasesResponse> {
        Err(unimplemented("aliases"))
    }

    async fn list_aliases(
        &self,
        _: Request<pb::ListAliasesRequest>,
    ) -> Reply<pb::ListAliasesResponse> {
        Err(unimplemented("aliases"))
    }

    async fn collection_cluster_info(
        &self,
        _: Request<pb::CollectionClusterInfoRequest>,
    ) -> Reply<pb::CollectionClusterInfoResponse> {
        Err(unimplemented("cluster info"))
    }

    async fn collection_exists(
        &self,
        r: Request<pb::CollectionExistsRequest>,
    ) -> Reply<pb::CollectionExistsResponse> {
        let start = Instant::now();
        let name = r.into_inner().collection_name;
        let exists = self.0.collections.read().await.contains_key(&name);
        Ok(Response::new(pb::CollectionExistsResponse {
            result: Some(pb::CollectionExists { exists }),
            time: elapsed(start),
        }))
    }

    async fn update_collection_cluster_setup(
        &self,
        _: Request<pb::UpdateCollectionClusterSetupRequest>,
    ) -> Reply<pb::UpdateCollectionClusterSetupResponse> {
        Err(unimplemented("cluster setup"))
    }

    async fn create_shard_key(
        &self,
        _: Request<pb::CreateShardKeyRequest>,
    ) -> Reply<pb::CreateShardKeyResponse> {
        Err(unimplemented("shard keys"))
    }

    async fn delete_shard_key(
        &self,
        _: Request<pb::DeleteShardKeyRequest>,
    ) -> Reply<pb::DeleteShardKeyResponse> {
        Err(unimplemented("shard keys"))
    }

    async fn list_shard_keys(
        &self,
        _: Request<pb::ListShardKeysRequest>,
    ) -> Reply<pb::ListShardKeysResponse> {
        Err(unimplemented("shard keys"))
    }
}

async fn remove_dir(path: &Path) -> Result<(), Status> {
    match tokio::fs::remove_dir_all(path).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Status::internal(e.to_string())),
    }
}

/// A payload index as the gRPC API reports it, from the engine's own (REST) description.
fn schema_info_out(index: &Json, points: u64) -> pb::PayloadSchemaInfo {
    let data_type = match index["data_type"].as_str().unwrap_or_default() {
        "keyword" => pb::PayloadSchemaType::Keyword,
        "integer" => pb::PayloadSchemaType::Integer,
        "float" => pb::PayloadSchemaType::Float,
        "geo" => pb::PayloadSchemaType::Geo,
        "text" => pb::PayloadSchemaType::Text,
        "bool" => pb::PayloadSchemaType::Bool,
        "datetime" => pb::PayloadSchemaType::Datetime,
        "uuid" => pb::PayloadSchemaType::Uuid,
        _ => pb::PayloadSchemaType::UnknownType,
    };
    let params = (data_type == pb::PayloadSchemaType::Keyword).then(|| pb::PayloadIndexParams {
        index_params: Some(pb::payload_index_params::IndexParams::KeywordIndexParams(
            pb::KeywordIndexParams {
                is_tenant: index["params"]["is_tenant"].as_bool(),
                ..Default::default()
            },
        )),
    });
    pb::PayloadSchemaInfo {
        data_type: data_type as i32,
        params,
        points: Some(points),
    }
}

/// The engine's field schema for a CreateFieldIndex request, in REST JSON form.
fn field_schema(r: &pb::CreateFieldIndexCollection) -> Result<Json, Status> {
    let field_type = r
        .field_type
        .map(pb::FieldType::try_from)
        .transpose()
        .map_err(|_| Status::invalid_argument("Wrong input: unknown field type"))?;
    let name = match field_type {
        Some(pb::FieldType::Keyword) | None => "keyword",
        Some(pb::FieldType::Integer) => "integer",
        Some(pb::FieldType::Float) => "float",
        Some(pb::FieldType::Bool) => "bool",
        Some(pb::FieldType::Datetime) => "datetime",
        Some(pb::FieldType::Uuid) => "uuid",
        Some(_) => return Err(unimplemented("geo and text indexes")),
    };
    match r
        .field_index_params
        .as_ref()
        .and_then(|p| p.index_params.as_ref())
    {
        None => Ok(json!(name)),
        Some(pb::payload_index_params::IndexParams::KeywordIndexParams(k)) if name == "keyword" => {
            Ok(json!({ "type": "keyword", "is_tenant": k.is_tenant }))
        }
        Some(_) => Err(unimplemented(
            "index parameters other than keyword `is_tenant`",
        )),
    }
}

#[tonic::async_trait]
impl Points for Svc {
    async fn upsert(&self, r: Request<pb::UpsertPoints>) -> Reply<pb::PointsOperationResponse> {
        let start = Instant::now();
        let r = r.into_inner();
        if r.update_filter.is_some() || r.shard_key_selector.is_some() {
            return Err(unimplemented("conditional upserts and shard keys"));
        }
        let points = r
            .points
            .into_iter()
            .map(|p| {
                let Some(pb::vectors::VectorsOptions::Vector(v)) =
                    p.vectors.and_then(|v| v.vectors_options)
                else {
                    return Err(unimplemented("named vectors"));
                };
                Ok(edge::PointStructPersisted {
                    id: point_id(p.id)?,
                    vector: edge::VectorStructPersisted::Single(dense(v)?),
                    payload: Some(payload_in(p.payload)),
                })
            })
            .collect::<Result<Vec<_>, Status>>()?;
        self.0
            .blocking(&r.collection_name, move |shard| {
                let size = shard.config().vectors[edge::DEFAULT_VECTOR_NAME].size;
                if let Some(bad) = points.iter().find_map(|p| match &p.vector {
                    edge::VectorStructPersisted::Single(v) if v.len() != size => Some(v.len()),
                    _ => None,
                }) {
                    return Err(Status::invalid_argument(format!(
                        "Wrong input: Vector dimension error: expected dim: {size}, got {bad}"
                    )));
                }
                write(
                    shard,
                    edge::UpdateOperation::PointOperation(edge::PointOperations::UpsertPoints(
                        edge::PointInsertOperations::PointsList(points),
                    )),
                )
            })
            .await?;
        Ok(Response::new(completed(start)))
    }

    async fn delete(&self, r: Request<pb::DeletePoints>) -> Reply<pb::PointsOperationResponse> {
        let start = Instant::now();
        let r = r.into_inner();
        let op = match r.points.and_then(|p| p.points_selector_one_of) {
            Some(pb::points_selector::PointsSelectorOneOf::Points(list)) => {
                edge::PointOperations::DeletePoints {
                    ids: list
                        .ids
                        .into_iter()
                        .map(|id| point_id(Some(id)))
                        .collect::<Result<_, _>>()?,
                }
            }
            Some(pb::points_selector::PointsSelectorOneOf::Filter(f)) => {
                edge::PointOperations::DeletePointsByFilter(filter(Some(f))?.unwrap_or_default())
            }
            None => return Err(Status::invalid_argument("Wrong input: no points selector")),
        };
        self.0
            .blocking(&r.collection_name, move |shard| {
                write(shard, edge::UpdateOperation::PointOperation(op))
            })
            .await?;
        Ok(Response::new(completed(start)))
    }

    async fn get(&self, r: Request<pb::GetPoints>) -> Reply<pb::GetResponse> {
        let start = Instant::now();
        let r = r.into_inner();
        let ids = r
            .ids
            .into_iter()
            .map(|id| point_id(Some(id)))
            .collect::<Result<Vec<_>, _>>()?;
        let (payload, vectors) = (with_payload(r.with_payload)?, with_vectors(r.with_vectors)?);
        let records = self
            .0
            .blocking(&r.collection_name, move |shard| {
                shard
                    .retrieve(
                        &ids,
                        with_payload_edge(payload),
                        Some(edge::WithVector::Bool(vectors)),
                    )
                    .map_err(engine)
            })
            .await?;
        Ok(Response::new(pb::GetResponse {
            result: records.into_iter().map(record_out).collect(),
            time: elapsed(start),
            usage: None,
        }))
    }

    async fn update_vectors(
        &self,
        _: Request<pb::UpdatePointVectors>,
    ) -> Reply<pb::PointsOperationResponse> {
        Err(unimplemented("UpdateVectors"))
    }

    async fn delete_vectors(
        &self,
        _: Request<pb::DeletePointVectors>,
    ) -> Reply<pb::PointsOperationResponse> {
        Err(unimplemented("DeleteVectors"))
    }

    async fn set_payload(
        &self,
        _: Request<pb::SetPayloadPoints>,
    ) -> Reply<pb::PointsOperationResponse> {
        Err(unimplemented("payload updates"))
    }

    async fn overwrite_payload(
        &self,
        _: Request<pb::SetPayloadPoints>,
    ) -> Reply<pb::PointsOperationResponse> {
        Err(unimplemented("payload updates"))
    }

    async fn delete_payload(
        &self,
        _: Request<pb::DeletePayloadPoints>,
    ) -> Reply<pb::PointsOperationResponse> {
        Err(unimplemented("payload updates"))
    }

    async fn clear_payload(
        &self,
        _: Request<pb::ClearPayloadPoints>,
    ) -> Reply<pb::PointsOperationResponse> {
        Err(unimplemented("payload updates"))
    }

    async fn create_field_index(
        &self,
        r: Request<pb::CreateFieldIndexCollection>,
    ) -> Reply<pb::PointsOperationResponse> {
        let start = Instant::now();
        let r = r.into_inner();
        let schema: edge::PayloadFieldSchema = serde_json::from_value(field_schema(&r)?)
            .map_err(|e| Status::invalid_argument(format!("Wrong input: {e}")))?;
        let field: edge::JsonPath = r.field_name.parse().map_err(|_| {
            Status::invalid_argument(format!("Wrong input: bad field `{}`", r.field_name))
        })?;
        self.0
            .blocking(&r.collection_name, move |shard| {
                write(
                    shard,
                    edge::UpdateOperation::FieldIndexOperation(
                        edge::FieldIndexOperations::CreateIndex(edge::CreateIndex {
                            field_name: field,
                            field_schema: Some(schema),
                        }),
                    ),
                )
            })
            .await?;
        Ok(Response::new(completed(start)))
    }

    async fn delete_field_index(
        &self,
        r: Request<pb::DeleteFieldIndexCollection>,
    ) -> Reply<pb::PointsOperationResponse> {
        let start = Instant::now();
        let r = r.into_inner();
        let field: edge::JsonPath = r.field_name.parse().map_err(|_| {
            Status::invalid_argument(format!("Wrong input: bad field `{}`", r.field_name))
        })?;
        self.0
            .blocking(&r.collection_name, move |shard| {
                write(
                    shard,
                    edge::UpdateOperation::FieldIndexOperation(
                        edge::FieldIndexOperations::DeleteIndex(field),
                    ),
                )
            })
            .await?;
        Ok(Response::new(completed(start)))
    }

    async fn create_vector_name(
        &self,
        _: Request<pb::CreateVectorNameRequest>,
    ) -> Reply<pb::PointsOperationResponse> {
        Err(unimplemented("named vectors"))
    }

    async fn delete_vector_name(
        &self,
        _: Request<pb::DeleteVectorNameRequest>,
    ) -> Reply<pb::PointsOperationResponse> {
        Err(unimplemented("named vectors"))
    }

    async fn search(&self, _: Request<pb::SearchPoints>) -> Reply<pb::SearchResponse> {
        Err(unimplemented("the deprecated Search (use Query)"))
    }

    async fn search_batch(
        &self,
        _: Request<pb::SearchBatchPoints>,
    ) -> Reply<pb::SearchBatchResponse> {
        Err(unimplemented("SearchBatch"))
    }

    async fn search_groups(
        &self,
        _: Request<pb::SearchPointGroups>,
    ) -> Reply<pb::SearchGroupsResponse> {
        Err(unimplemented("groups"))
    }

    async fn scroll(&self, r: Request<pb::ScrollPoints>) -> Reply<pb::ScrollResponse> {
        let start = Instant::now();
        let r = r.into_inner();
        if r.order_by.is_some() {
            return Err(unimplemented("order_by"));
        }
        let request = edge::ScrollRequest {
            offset: r.offset.map(|o| point_id(Some(o))).transpose()?,
            limit: Some(r.limit.unwrap_or(10).max(1) as usize),
            filter: filter(r.filter)?,
            with_payload: with_payload_edge(with_payload(r.with_payload)?),
            with_vector: edge::WithVector::Bool(with_vectors(r.with_vectors)?),
            order_by: None,
        };
        let (records, next) = self
            .0
            .blocking(&r.collection_name, move |shard| {
                shard.scroll(request).map_err(engine)
            })
            .await?;
        Ok(Response::new(pb::ScrollResponse {
            next_page_offset: next.map(point_id_out),
            result: records.into_iter().map(record_out).collect(),
            time: elapsed(start),
            usage: None,
        }))
    }

    async fn recommend(&self, _: Request<pb::RecommendPoints>) -> Reply<pb::RecommendResponse> {
        Err(unimplemented("recommend"))
    }

    async fn recommend_batch(
        &self,
        _: Request<pb::RecommendBatchPoints>,
    ) -> Reply<pb::RecommendBatchResponse> {
        Err(unimplemented("recommend"))
    }

    async fn recommend_groups(
        &self,
        _: Request<pb::RecommendPointGroups>,
    ) -> Reply<pb::RecommendGroupsResponse> {
        Err(unimplemented("recommend"))
    }

    async fn discover(&self, _: Request<pb::DiscoverPoints>) -> Reply<pb::DiscoverResponse> {
        Err(unimplemented("discover"))
    }

    async fn discover_batch(
        &self,
        _: Request<pb::DiscoverBatchPoints>,
    ) -> Reply<pb::DiscoverBatchResponse> {
        Err(unimplemented("discover"))
    }

    async fn count(&self, r: Request<pb::CountPoints>) -> Reply<pb::CountResponse> {
        let start = Instant::now();
        let r = r.into_inner();
        let request = edge::CountRequest {
            filter: filter(r.filter)?,
            exact: r.exact.unwrap_or(true),
        };
        let count = self
            .0
            .blocking(&r.collection_name, move |shard| {
                shard.count(request).map_err(engine)
            })
            .await?;
        Ok(Response::new(pb::CountResponse {
            result: Some(pb::CountResult {
                count: count as u64,
            }),
            time: elapsed(start),
            usage: None,
        }))
    }

    async fn update_batch(
        &self,
        _: Request<pb::UpdateBatchPoints>,
    ) -> Reply<pb::UpdateBatchResponse> {
        Err(unimplemented("UpdateBatch"))
    }

    async fn query(&self, r: Request<pb::QueryPoints>) -> Reply<pb::QueryResponse> {
        let start = Instant::now();
        let r = r.into_inner();
        if !r.prefetch.is_empty() || r.using.is_some() || r.lookup_from.is_some() {
            return Err(unimplemented("prefetch, named vectors and lookup_from"));
        }
        let vector = match r.query.and_then(|q| q.variant) {
            Some(pb::query::Variant::Nearest(pb::VectorInput {
                variant: Some(pb::vector_input::Variant::Dense(d)),
            })) => d.data,
            _ => {
                return Err(unimplemented(
                    "queries other than nearest to a dense vector",
                ));
            }
        };
        let request = edge::SearchRequest {
            query: edge::QueryEnum::Nearest(edge::NamedQuery::default_dense(vector.clone())),
            filter: filter(r.filter)?,
            params: None,
            limit: r.limit.unwrap_or(10) as usize,
            offset: r.offset.unwrap_or(0) as usize,
            with_payload: with_payload_edge(with_payload(r.with_payload)?),
            with_vector: Some(edge::WithVector::Bool(with_vectors(r.with_vectors)?)),
            score_threshold: r.score_threshold,
        };
        let points = self
            .0
            .blocking(&r.collection_name, move |shard| {
                let size = shard.config().vectors[edge::DEFAULT_VECTOR_NAME].size;
                if vector.len() != size {
                    return Err(Status::invalid_argument(format!(
                        "Wrong input: Vector dimension error: expected dim: {size}, got {}",
                        vector.len()
                    )));
                }
                shard.search(request).map_err(engine)
            })
            .await?;
        Ok(Response::new(pb::QueryResponse {
            result: points
                .into_iter()
                .map(|p| pb::ScoredPoint {
                    id: Some(point_id_out(p.id)),
                    payload: payload_out(p.payload),
                    score: p.score,
                    version: p.version,
                    vectors: vectors_out(p.vector),
                    shard_key: None,
                    order_value: None,
                })
                .collect(),
            time: elapsed(start),
            usage: None,
        }))
    }

    async fn query_batch(&self, _: Request<pb::QueryBatchPoints>) -> Reply<pb::QueryBatchResponse> {
        Err(unimplemented("QueryBatch"))
    }

    async fn query_groups(
        &self,
        _: Request<pb::QueryPointGroups>,
    ) -> Reply<pb::QueryGroupsResponse> {
        Err(unimplemented("groups"))
    }

    async fn facet(&self, _: Request<pb::FacetCounts>) -> Reply<pb::FacetResponse> {
        Err(unimplemented("facets"))
    }

    async fn search_matrix_pairs(
        &self,
        _: Request<pb::SearchMatrixPoints>,
    ) -> Reply<pb::SearchMatrixPairsResponse> {
        Err(unimplemented("search matrix"))
    }

    async fn search_matrix_offsets(
        &self,
        _: Request<pb::SearchMatrixPoints>,
    ) -> Reply<pb::SearchMatrixOffsetsResponse> {
        Err(unimplemented("search matrix"))
    }
}

fn usage() -> ! {
    eprintln!("usage: qdrant-test-server --listen 127.0.0.1:PORT --data DIR [--api-key KEY]");
    std::process::exit(2);
}

/// With `--api-key`, every call must carry it in the `api-key` header, as Qdrant checks it:
/// none is UNAUTHENTICATED, another is PERMISSION_DENIED (Qdrant's own messages).
fn api_key_check(
    key: Option<String>,
) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone {
    move |request: Request<()>| {
        let Some(key) = &key else {
            return Ok(request);
        };
        match request.metadata().get("api-key").map(|v| v.to_str()) {
            None => Err(Status::unauthenticated(
                "Must provide an API key or an Authorization bearer token",
            )),
            Some(Ok(given)) if given == key => Ok(request),
            Some(_) => Err(Status::permission_denied("Invalid API key or JWT")),
        }
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (mut listen, mut data, mut api_key) = (None, None, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next(),
            "--data" => data = args.next(),
            "--api-key" => api_key = Some(args.next().unwrap_or_else(|| usage())),
            _ => usage(),
        }
    }
    let (Some(listen), Some(data)) = (listen, data) else {
        usage()
    };
    let addr: std::net::SocketAddr = listen.parse().unwrap_or_else(|_| usage());
    let server = match Server::open(PathBuf::from(data)) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("qdrant-test-server: {e}");
            std::process::exit(1);
        }
    };
    let svc = Svc(server);
    eprintln!("qdrant-test-server: gRPC on {addr}");
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    let result = tonic::transport::Server::builder()
        .add_service(QdrantServer::with_interceptor(
            Health,
            api_key_check(api_key.clone()),
        ))
        .add_service(CollectionsServer::with_interceptor(
            svc.clone(),
            api_key_check(api_key.clone()),
        ))
        .add_service(PointsServer::with_interceptor(
            svc.clone(),
            api_key_check(api_key),
        ))
        .serve_with_shutdown(addr, shutdown)
        .await;
    // Flush every shard's WAL and segments before exiting.
    let collections = svc.0.collections.read().await;
    let _one_at_a_time = writes();
    for shard in collections.values() {
        shard.flush();
    }
    if let Err(e) = result {
        eprintln!("qdrant-test-server: {e}");
        std::process::exit(1);
    }
}
