//! The operations behind every generated Neo4j store, generic over the entity. The Cypher text
//! is fixed by the generated code (labels and property names are identifiers checked by the
//! macro); every value is a parameter.

use neo4rs::{BoltType, Row};
use serde_json::Value;
use tracing::Instrument as _;
use uuid::Uuid;

use super::Scoped;
use crate::document::Document;
use crate::{Error, Result, Scope};

/// What `#[tenant_store(backend = "neo4j")]` implements for an entity.
pub trait GraphEntity: Document + Send + Sync {
    /// The struct's name.
    const ENTITY: &'static str;
    /// The node label.
    const LABEL: &'static str;
    /// The principal attribute carried by every node.
    const SCOPE: Scope;
    /// `MERGE` on (scope, id), stamping a new node with the caller's nonce.
    const CREATE: &'static str;
    /// Removes the caller's nonce from the node, counting 1 if the node is the caller's.
    const CLAIM: &'static str;
    /// `MATCH` by (scope, id).
    const GET: &'static str;
    /// `MATCH` every node of the tenant, in id order, up to `$limit`.
    const LIST: &'static str;
    /// `SET n += $props` by (scope, id), returning the count.
    const UPDATE: &'static str;
    /// Re-labels every node of the tenant with the tenant `$to`, returning the count.
    const MOVE: &'static str;
    /// `DETACH DELETE` by (scope, id), returning the count.
    const DELETE: &'static str;
    /// `DETACH DELETE` every node of the tenant, returning the count.
    const DELETE_TENANT: &'static str;
    /// The node's id.
    fn node_id(&self) -> String;
    /// The value of the scope property.
    fn tenant_of(&self) -> Uuid;
}

fn span<E: GraphEntity>(kv: &Scoped<'_>, op: &'static str) -> tracing::Span {
    tracing::info_span!("tenant_store", entity = E::ENTITY, op, tenant = %kv.tenant(E::SCOPE))
}

fn scope_param<E: GraphEntity>() -> &'static str {
    E::SCOPE.as_str()
}

fn props<E: GraphEntity>(node: &E) -> Result<BoltType> {
    props_with_nulls(node, false)
}

/// The node's properties. Nulls are left out on create (a property that is absent reads back
/// as `None`); on update they are kept, so `SET n += $props` removes the property.
fn props_with_nulls<E: GraphEntity>(node: &E, keep_nulls: bool) -> Result<BoltType> {
    let json: Value =
        serde_json::from_str(&node.to_json()?).map_err(|e| Error::InvalidInput(e.to_string()))?;
    let json = match json {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| keep_nulls || !v.is_null())
                .collect(),
        ),
        other => other,
    };
    BoltType::try_from(json).map_err(|e| Error::InvalidInput(e.to_string()))
}

pub(crate) fn decode_node<E: GraphEntity>(row: &Row, column: &str) -> Result<E> {
    let node: neo4rs::Node = row.get(column).map_err(|e| Error::Backend(Box::new(e)))?;
    let json: Value = node.to().map_err(|e| Error::Backend(Box::new(e)))?;
    E::from_json(&json.to_string())
}

/// Creates the node; [`Error::Duplicate`] when the tenant already has one with this id.
pub async fn create<E: GraphEntity>(kv: &Scoped<'_>, node: &E) -> Result<()> {
    let tenant = kv.tenant(E::SCOPE);
    if node.tenant_of() != tenant {
        return Err(Error::InvalidInput(
            "the node's scope field is not the caller's tenant".into(),
        ));
    }
    let q = neo4rs::query(E::CREATE)
        .param(scope_param::<E>(), tenant.to_string())
        .param("id", node.node_id())
        .param("props", props(node)?)
        .param("nonce", Uuid::new_v4().to_string());
    async {
        let rows = kv.client().rows(q).await?;
        let created = rows
            .first()
            .and_then(|r| r.get::<Option<bool>>("created").ok())
            .flatten();
        if created == Some(true) {
            Ok(())
        } else {
            Err(Error::Duplicate)
        }
    }
    .instrument(span::<E>(kv, "create"))
    .await
}

/// The node with this id in the tenant, or `None`.
pub async fn get<E: GraphEntity>(kv: &Scoped<'_>, id: &str) -> Result<Option<E>> {
    let q = neo4rs::query(E::GET)
        .param(scope_param::<E>(), kv.tenant(E::SCOPE).to_string())
        .param("id", id);
    async {
        let rows = kv.client().rows(q).await?;
        rows.first().map(|r| decode_node::<E>(r, "n")).transpose()
    }
    .instrument(span::<E>(kv, "get"))
    .await
}

/// Up to `limit` of the tenant's nodes, in id order.
pub async fn list<E: GraphEntity>(kv: &Scoped<'_>, limit: usize) -> Result<Vec<E>> {
    let q = neo4rs::query(E::LIST)
        .param(scope_param::<E>(), kv.tenant(E::SCOPE).to_string())
        .param("limit", i64::try_from(limit).unwrap_or(i64::MAX));
    async {
        let rows = kv.client().rows(q).await?;
        rows.iter().map(|r| decode_node::<E>(r, "n")).collect()
    }
    .instrument(span::<E>(kv, "list"))
    .await
}

/// Replaces the properties of the tenant's node with `node`'s; [`Error::NotFound`] when the
/// tenant has no node with its id.
pub async fn update<E: GraphEntity>(kv: &Scoped<'_>, node: &E) -> Result<()> {
    let tenant = kv.tenant(E::SCOPE);
    if node.tenant_of() != tenant {
        return Err(Error::InvalidInput(
            "the node's scope field is not the caller's tenant".into(),
        ));
    }
    let q = neo4rs::query(E::UPDATE)
        .param(scope_param::<E>(), tenant.to_string())
        .param("id", node.node_id())
        .param("props", props_with_nulls(node, true)?);
    async {
        let rows = kv.client().rows(q).await?;
        match rows.first().and_then(|r| r.get::<i64>("updated").ok()) {
            Some(n) if n > 0 => Ok(()),
            _ => Err(Error::NotFound),
        }
    }
    .instrument(span::<E>(kv, "update"))
    .await
}

/// The tenant's nodes matching a generated `find_by_*` query on one indexed property.
pub async fn find<E: GraphEntity>(
    kv: &Scoped<'_>,
    cypher: &'static str,
    value: BoltType,
) -> Result<Vec<E>> {
    let q = neo4rs::query(cypher)
        .param(scope_param::<E>(), kv.tenant(E::SCOPE).to_string())
        .param("value", value);
    async {
        let rows = kv.client().rows(q).await?;
        rows.iter().map(|r| decode_node::<E>(r, "n")).collect()
    }
    .instrument(span::<E>(kv, "find"))
    .await
}

/// Deletes the node and its relationships; [`Error::NotFound`] when the tenant has none.
pub async fn delete<E: GraphEntity>(kv: &Scoped<'_>, id: &str) -> Result<()> {
    let q = neo4rs::query(E::DELETE)
        .param(scope_param::<E>(), kv.tenant(E::SCOPE).to_string())
        .param("id", id);
    async {
        match deleted(kv.client().rows(q).await?) {
            0 => Err(Error::NotFound),
            _ => Ok(()),
        }
    }
    .instrument(span::<E>(kv, "delete"))
    .await
}

/// Deletes every node of this label in the tenant; returns how many.
pub async fn delete_tenant<E: GraphEntity>(kv: &Scoped<'_>) -> Result<u64> {
    let q =
        neo4rs::query(E::DELETE_TENANT).param(scope_param::<E>(), kv.tenant(E::SCOPE).to_string());
    async { Ok(deleted(kv.client().rows(q).await?)) }
        .instrument(span::<E>(kv, "delete_tenant"))
        .await
}

/// Moves every node of this label from `from`'s tenant to `to`'s, in one statement: atomic, and
/// relationships between moved nodes stay. A node id both tenants hold violates the uniqueness
/// constraint on (scope, id) and the statement moves nothing. Re-running moves what is left (0).
pub async fn move_tenant<E: GraphEntity>(from: &Scoped<'_>, to: &Scoped<'_>) -> Result<u64> {
    let q = neo4rs::query(E::MOVE)
        .param(scope_param::<E>(), from.tenant(E::SCOPE).to_string())
        .param("to", to.tenant(E::SCOPE).to_string());
    async {
        let rows = from.client().rows(q).await?;
        Ok(rows
            .first()
            .and_then(|r| r.get::<i64>("moved").ok())
            .unwrap_or(0)
            .max(0) as u64)
    }
    .instrument(span::<E>(from, "move_tenant"))
    .await
}

fn deleted(rows: Vec<Row>) -> u64 {
    rows.first()
        .and_then(|r| r.get::<i64>("deleted").ok())
        .unwrap_or(0)
        .max(0) as u64
}
