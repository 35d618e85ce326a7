//! The operations behind every generated Neo4j store, generic over the entity. The Cypher text
//! is fixed by the generated code (labels and property names are identifiers checked by the
//! macro); every value is a parameter.

use neo4rs::{BoltType, Row};
use serde_json::Value;
use tracing::Instrument as _;
use uuid::Uuid;

use super::{Client, Scoped};
use crate::contract::DocumentStore;
use std::ops::Bound;

use crate::document::{DocPages, Document, DocumentEntity, DocumentId as _, check_own, span};
use crate::query::{Direction, DocQuery, DocSort, Kind, Op};
use crate::{Error, Listing, Page, Result};

/// The most nodes one `list` returns.
pub const MAX_LIMIT: usize = 10_000;

/// What `#[tenant_store(backend = "neo4j")]` implements for an entity beside its
/// [`DocumentEntity`] core: names, never queries. The Cypher is built by [`queries`] from these
/// identifiers, so a hand-written impl can point the store at a label but cannot change what its
/// queries do.
pub trait GraphEntity: DocumentEntity + Document {
    /// The node label.
    const LABEL: &'static str;
    /// The schema migration (an index on the scope, uniqueness on (scope, id), an index per
    /// indexed property); [`Client::apply_migration`](super::Client::apply_migration) runs
    /// only statements of the shape tenant-store generates.
    const MIGRATION: &'static str;
}

/// The Cypher of an entity's store. Every query but `move_tenant` passes the `cypher!` check
/// (`create` also writes the runtime's own nonce property); `move_tenant` is the one query that
/// writes the scope, to `$to` (its first half passes the check with that permission; its second
/// half cuts the relationships the move would leave across tenants: see `move_cut`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queries {
    /// `MERGE` on (scope, id), stamping a new node with the caller's nonce.
    pub create: String,
    /// `MATCH` by (scope, id).
    pub get: String,

    /// `SET n += $props` by (scope, id), re-asserting the scope; returns the count.
    pub update: String,
    /// Sets the scope of every node of the tenant to `$to` and deletes the relationships that
    /// would then cross tenants; returns the count of nodes (`moved`) and relationships (`cut`).
    pub move_tenant: String,
    /// Counts the nodes of the tenant whose id the tenant `$to` holds too (a move would clash).
    pub move_clashes: String,
    /// `DETACH DELETE` by (scope, id); returns the count.
    pub delete: String,
    /// `DETACH DELETE` every node of the tenant; returns the count.
    pub delete_tenant: String,
}

/// A label or property name: an identifier, so it can be written into Cypher text.
fn identifier(name: &str) -> Result<&str> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(name)
    } else {
        Err(Error::InvalidInput(format!(
            "`{name}` is not a Cypher identifier ([A-Za-z_][A-Za-z0-9_]*)"
        )))
    }
}

/// Whether `statement` has the shape of a generated schema statement:
/// `CREATE INDEX|CONSTRAINT <name> IF NOT EXISTS FOR (n:<Label>)` then `ON (n.<p>, ...)` for an
/// index or `REQUIRE (n.<p>, ...) IS UNIQUE` for a constraint, or `DROP INDEX|CONSTRAINT <name>
/// IF EXISTS`; every name an identifier.
pub(crate) fn is_schema_statement(statement: &str) -> bool {
    let t: Vec<&str> = statement.split_whitespace().collect();
    let ident = |x: &str| identifier(x).is_ok();
    let properties = |tokens: &[&str]| {
        let list = tokens.join(" ");
        list.strip_prefix('(')
            .and_then(|l| l.strip_suffix(')'))
            .is_some_and(|l| {
                l.split(", ")
                    .all(|p| p.strip_prefix("n.").is_some_and(ident))
            })
    };
    match t.as_slice() {
        ["DROP", "INDEX" | "CONSTRAINT", name, "IF", "EXISTS"] => ident(name),
        [
            "CREATE",
            kind @ ("INDEX" | "CONSTRAINT"),
            name,
            "IF",
            "NOT",
            "EXISTS",
            "FOR",
            node,
            rest @ ..,
        ] if ident(name)
            && node
                .strip_prefix("(n:")
                .and_then(|l| l.strip_suffix(')'))
                .is_some_and(ident) =>
        {
            match (*kind, rest) {
                ("INDEX", ["ON", props @ ..]) => properties(props),
                ("CONSTRAINT", ["REQUIRE", props @ .., "IS", "UNIQUE"]) => properties(props),
                _ => false,
            }
        }
        _ => false,
    }
}

/// The entity's Cypher, built from its label and property names.
pub fn queries<E: GraphEntity>() -> Result<Queries> {
    let (l, s, id) = (
        identifier(E::LABEL)?,
        E::SCOPE.as_str(),
        identifier(E::ID_FIELD)?,
    );
    let node = format!("(n:{l} {{{s}: ${s}, {id}: $id}})");
    let all = format!("(n:{l} {{{s}: ${s}}})");
    Ok(Queries {
        create: format!(
            "MERGE {node} ON CREATE SET n += $props, n.{s} = ${s}, n.__tenant_store_nonce = $nonce \
             RETURN n.__tenant_store_nonce = $nonce AS created"
        ),
        get: format!("MATCH {node} RETURN n"),
        update: format!("MATCH {node} SET n += $props, n.{s} = ${s} RETURN count(n) AS updated"),
        move_tenant: format!("{}{}", move_set(l, s), move_cut(s)),
        move_clashes: format!(
            "MATCH {all} MATCH (c:{l} {{{s}: $to}}) WHERE c.{id} = n.{id} RETURN count(c) AS n"
        ),
        delete: format!("MATCH {node} WITH n, 1 AS one DETACH DELETE n RETURN sum(one) AS deleted"),
        delete_tenant: format!(
            "MATCH {all} WITH n, 1 AS one DETACH DELETE n RETURN sum(one) AS deleted"
        ),
    })
}

/// The move's first half: every node of the label and tenant gets the scope `$to`. It passes
/// the check with the one permission the move needs (writing the scope, to `$to`).
fn move_set(label: &str, scope: &str) -> String {
    format!("MATCH (n:{label} {{{scope}: ${scope}}}) SET n.{scope} = $to WITH collect(n) AS moved ")
}

/// The move's second half, in the same statement: a relationship from a moved node to a node
/// that is not `$to`'s (one of the tenant it left, or of another scope) would now cross
/// tenants, so it is deleted; relationships among moved nodes, and to `$to`'s nodes, stay.
/// It is outside the checked subset by design (it must see the far node whatever its label and
/// tenant, to find the crossing), is fixed text with no caller input, deletes only
/// relationships of moved nodes, and returns two counts.
fn move_cut(scope: &str) -> String {
    format!(
        "UNWIND moved AS n OPTIONAL MATCH (n)-[r]-(m) WHERE m.{scope} IS NULL OR m.{scope} <> $to \
         DELETE r WITH moved, count(r) AS cut RETURN size(moved) AS moved, cut"
    )
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

/// Decodes column `column` as an `E` node of `tenant`; `None` (absent) when the node is another
/// tenant's, an error when it is not an `E` node at all.
pub(crate) fn decode_node<E: GraphEntity>(
    row: &Row,
    column: &str,
    tenant: &str,
) -> Result<Option<E>> {
    let node: neo4rs::Node = row.get(column).map_err(|e| Error::Backend(Box::new(e)))?;
    if !node.labels().contains(&E::LABEL) {
        return Err(Error::InvalidInput(format!(
            "column `{column}` holds a node without the label `{}`",
            E::LABEL
        )));
    }
    if node.get::<String>(E::SCOPE.as_str()).ok().as_deref() != Some(tenant) {
        tracing::error!(
            entity = E::ENTITY,
            "a node of another tenant reached decoding; dropped"
        );
        return Ok(None);
    }
    let json: Value = node.to().map_err(|e| Error::Backend(Box::new(e)))?;
    E::from_json(&json.to_string()).map(Some)
}

/// Whether every node in the row (alone, in lists, maps, paths) carries `scope = tenant`.
pub(crate) fn row_is_tenants(row: &Row, scope: &str, tenant: &str) -> bool {
    fn mine(v: &BoltType, scope: &str, tenant: &str) -> bool {
        let node_ok = |n: &neo4rs::BoltNode| matches!(n.properties.get::<String>(scope), Ok(t) if t == tenant);
        match v {
            BoltType::Node(n) => node_ok(n),
            BoltType::Path(p) => p.nodes.value.iter().all(|n| mine(n, scope, tenant)),
            BoltType::List(l) => l.value.iter().all(|x| mine(x, scope, tenant)),
            BoltType::Map(m) => m.value.values().all(|x| mine(x, scope, tenant)),
            _ => true,
        }
    }
    row.keys().iter().all(|k| {
        row.get::<BoltType>(k.value.as_str())
            .map(|v| mine(&v, scope, tenant))
            .unwrap_or(false)
    })
}

/// Creates the node; [`Error::Duplicate`] when the tenant already has one with this id.
pub(super) async fn create<E: GraphEntity>(scoped: &Scoped<'_>, node: &E) -> Result<()> {
    crate::document::check_id(&node.id_text())?;
    check_own(scoped, node)?;
    let tenant = scoped.tenant(E::SCOPE);
    let q = neo4rs::query(&queries::<E>()?.create)
        .param(scope_param::<E>(), tenant.to_string())
        .param("id", node.id_text())
        .param("props", props(node)?)
        .param("nonce", Uuid::new_v4().to_string());
    async {
        let rows = scoped
            .client()
            .rows(scoped.breaker_key(E::SCOPE), q)
            .await?;
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
    .instrument(span::<E, _>(scoped, "create"))
    .await
}

/// `MATCH (n:Label {scope: $scope}) WHERE ...`: the tenant's nodes and a filter's conditions,
/// each value a parameter (`$p0`, `$p1`, ...), each property name an identifier.
struct Matching {
    text: String,
    params: Vec<(String, BoltType)>,
}

impl Matching {
    /// A page of the listing: `... RETURN n ORDER BY [field,] id LIMIT $limit`, after the
    /// cursor's position when there is one.
    fn list<E: GraphEntity>(
        query: &DocQuery,
        sort: DocSort,
        after: Option<(&Value, &str)>,
    ) -> Result<Self> {
        let mut m = Self::new::<E>(query)?;
        if let Some((value, id)) = after {
            m.after(sort, E::ID_FIELD, value, id)?;
        }
        let dir = match sort.direction {
            Direction::Asc => "ASC",
            Direction::Desc => "DESC",
        };
        let order = if sort.is_id {
            String::new()
        } else {
            let prop = format!("n.{}", identifier(sort.field)?);
            format!("{} {dir}, ", Self::term(sort.kind, &prop))
        };
        let id = identifier(E::ID_FIELD)?;
        m.text.push_str(&format!(
            " RETURN n ORDER BY {order}n.{id} {dir} LIMIT $limit"
        ));
        Ok(m)
    }

    /// `... RETURN count(n) AS count`.
    fn count<E: GraphEntity>(query: &DocQuery) -> Result<Self> {
        let mut m = Self::new::<E>(query)?;
        m.text.push_str(" RETURN count(n) AS count");
        Ok(m)
    }

    fn new<E: GraphEntity>(query: &DocQuery) -> Result<Self> {
        let (l, s) = (identifier(E::LABEL)?, E::SCOPE.as_str());
        let mut m = Self {
            text: format!("MATCH (n:{l} {{{s}: ${s}}}) WHERE true"),
            params: Vec::new(),
        };
        for (field, op) in &query.conds {
            let prop = format!("n.{}", identifier(field)?);
            match op {
                Op::Eq(v) if v.is_null() => m.text.push_str(" AND false"),
                Op::Eq(v) => {
                    let p = m.param(v)?;
                    m.text.push_str(&format!(" AND {prop} = {p}"));
                }
                Op::In(vs) => {
                    let vs: Vec<Value> = vs.iter().filter(|v| !v.is_null()).cloned().collect();
                    let p = m.param(&Value::Array(vs))?;
                    m.text.push_str(&format!(" AND {prop} IN {p}"));
                }
                Op::Range(lo, hi, kind) => {
                    for (bound, strict, loose) in [(lo, ">", ">="), (hi, "<", "<=")] {
                        let (v, op) = match bound {
                            Bound::Excluded(v) => (v, strict),
                            Bound::Included(v) => (v, loose),
                            Bound::Unbounded => continue,
                        };
                        let p = m.param(v)?;
                        m.text.push_str(&format!(
                            " AND {} {op} {}",
                            Self::term(*kind, &prop),
                            Self::term(*kind, &p)
                        ));
                    }
                }
                Op::IsNull => m.text.push_str(&format!(" AND {prop} IS NULL")),
                Op::IsNotNull => m.text.push_str(&format!(" AND {prop} IS NOT NULL")),
                Op::Prefix(prefix) => {
                    let p = m.param(&Value::String(prefix.clone()))?;
                    m.text.push_str(&format!(" AND {prop} STARTS WITH {p}"));
                }
            }
        }
        Ok(m)
    }

    /// ` AND (f > $v OR (f = $v AND n.id > $id))` (`<` descending): after the cursor.
    fn after(&mut self, sort: DocSort, id_field: &str, value: &Value, id: &str) -> Result<()> {
        let op = match sort.direction {
            Direction::Asc => ">",
            Direction::Desc => "<",
        };
        let id_param = self.param(&Value::String(id.to_owned()))?;
        let id_prop = format!("n.{}", identifier(id_field)?);
        if sort.is_id {
            self.text
                .push_str(&format!(" AND {id_prop} {op} {id_param}"));
        } else {
            let prop = Self::term(sort.kind, &format!("n.{}", identifier(sort.field)?));
            let v = Self::term(sort.kind, &self.param(value)?);
            self.text.push_str(&format!(
                " AND ({prop} {op} {v} OR ({prop} = {v} AND {id_prop} {op} {id_param}))"
            ));
        }
        Ok(())
    }

    /// A property or parameter as it compares: times through `datetime()` (their text has a
    /// varying number of digits).
    fn term(kind: Kind, expr: &str) -> String {
        match kind {
            Kind::Time => format!("datetime({expr})"),
            Kind::Number | Kind::Text => expr.to_owned(),
        }
    }

    /// A new parameter holding `value`; its `$name`.
    fn param(&mut self, value: &Value) -> Result<String> {
        let name = format!("p{}", self.params.len());
        let bolt =
            BoltType::try_from(value.clone()).map_err(|e| Error::InvalidInput(e.to_string()))?;
        self.params.push((name.clone(), bolt));
        Ok(format!("${name}"))
    }

    /// The query, with its parameters bound (the tenant's and the limit are the caller's).
    fn bind(self) -> neo4rs::Query {
        let mut q = neo4rs::query(&self.text);
        for (name, value) in self.params {
            q = q.param(&name, value);
        }
        q
    }
}

/// Replaces the properties of the tenant's node with `node`'s; [`Error::NotFound`] when the
/// tenant has no node with its id.
pub(super) async fn update<E: GraphEntity>(scoped: &Scoped<'_>, node: &E) -> Result<()> {
    crate::document::check_id(&node.id_text())?;
    check_own(scoped, node)?;
    let tenant = scoped.tenant(E::SCOPE);
    let q = neo4rs::query(&queries::<E>()?.update)
        .param(scope_param::<E>(), tenant.to_string())
        .param("id", node.id_text())
        .param("props", props_with_nulls(node, true)?);
    async {
        let rows = scoped
            .client()
            .rows(scoped.breaker_key(E::SCOPE), q)
            .await?;
        match rows.first().and_then(|r| r.get::<i64>("updated").ok()) {
            Some(n) if n > 0 => Ok(()),
            _ => Err(Error::NotFound),
        }
    }
    .instrument(span::<E, _>(scoped, "update"))
    .await
}

crate::document::store_type!("Neo4j", GraphEntity);

impl<E: GraphEntity> Store<E> {
    /// The Cypher migration: an index on the scope, uniqueness on (scope, id), and one index per
    /// indexed property.
    pub fn migration_cypher() -> &'static str {
        E::MIGRATION
    }

    /// Creates the node built from `new` (MERGE on (scope, id)); [`Error::Duplicate`] when the
    /// tenant has one with this id.
    pub async fn create(&self, scoped: &Scoped<'_>, new: E::New) -> Result<E> {
        let node = E::from_new(new, None, scoped.tenant(E::SCOPE));
        create(scoped, &node).await?;
        Ok(node)
    }

    /// The node with this id, or `None` (also when it is another tenant's).
    pub async fn get(&self, scoped: &Scoped<'_>, id: &E::Id) -> Result<Option<E>> {
        let id: &str = &id.to_id();
        crate::document::check_id(id)?;
        let tenant = scoped.tenant(E::SCOPE).to_string();
        let q = neo4rs::query(&queries::<E>()?.get)
            .param(scope_param::<E>(), tenant.as_str())
            .param("id", id);
        async {
            let rows = scoped
                .client()
                .rows(scoped.breaker_key(E::SCOPE), q)
                .await?;
            match rows.first() {
                Some(r) => decode_node::<E>(r, "n", &tenant),
                None => Ok(None),
            }
        }
        .instrument(span::<E, _>(scoped, "get"))
        .await
    }

    /// One page of the tenant's nodes matching `filter`, in its order (the id ascending by
    /// default; [`Store`]'s `order_by` fields otherwise, the id breaking ties); the listing
    /// holds the next page's request when there are more. A cursor another listing made is
    /// [`Error::InvalidInput`].
    pub async fn list(
        &self,
        scoped: &Scoped<'_>,
        filter: E::Filter,
        page: Page,
    ) -> Result<Listing<E>> {
        let (query, pages, limit, after) =
            DocPages::start::<E, _>("neo4j", scoped.client().cursor_key(), scoped, filter, &page)?;
        let tenant = scoped.tenant(E::SCOPE).to_string();
        let after = after.as_ref().map(|(value, id)| (value, id.as_str()));
        let q = Matching::list::<E>(&query, pages.sort(), after)?
            .bind()
            .param(scope_param::<E>(), tenant.as_str())
            .param("limit", i64::from(limit) + 1);
        async {
            let items = decode_all::<E>(
                scoped
                    .client()
                    .rows(scoped.breaker_key(E::SCOPE), q)
                    .await?,
                &tenant,
            )?;
            pages.listing(items, limit)
        }
        .instrument(span::<E, _>(scoped, "list"))
        .await
    }

    /// The number of the tenant's nodes matching `filter` (as many as its listing holds).
    pub async fn count(&self, scoped: &Scoped<'_>, filter: E::Filter) -> Result<u64> {
        let query: DocQuery = filter.into();
        query.check()?;
        let tenant = scoped.tenant(E::SCOPE).to_string();
        let q = Matching::count::<E>(&query)?
            .bind()
            .param(scope_param::<E>(), tenant.as_str());
        async {
            let rows = scoped
                .client()
                .rows(scoped.breaker_key(E::SCOPE), q)
                .await?;
            let n = rows
                .first()
                .and_then(|r| r.get::<i64>("count").ok())
                .ok_or_else(|| Error::Backend("a count without a number".into()))?;
            Ok(u64::try_from(n).unwrap_or(0))
        }
        .instrument(span::<E, _>(scoped, "count"))
        .await
    }

    /// Replaces the properties of the tenant's node `id` with those of `new`;
    /// [`Error::NotFound`] when the tenant has no such node.
    pub async fn update(&self, scoped: &Scoped<'_>, id: &E::Id, new: E::New) -> Result<E> {
        let node = E::from_new(new, Some(id.clone()), scoped.tenant(E::SCOPE));
        update(scoped, &node).await?;
        Ok(node)
    }

    /// The tenant's nodes whose `property` equals `value`, in id order: what the generated
    /// `find_by_<field>` methods call, with the field's name.
    pub async fn find(
        &self,
        scoped: &Scoped<'_>,
        property: &'static str,
        value: BoltType,
    ) -> Result<Vec<E>> {
        let (l, s, p, id) = (
            identifier(E::LABEL)?,
            E::SCOPE.as_str(),
            identifier(property)?,
            identifier(E::ID_FIELD)?,
        );
        let tenant = scoped.tenant(E::SCOPE).to_string();
        let q = neo4rs::query(&format!(
            "MATCH (n:{l} {{{s}: ${s}, {p}: $value}}) RETURN n ORDER BY n.{id}"
        ))
        .param(s, tenant.as_str())
        .param("value", value);
        async {
            decode_all::<E>(
                scoped
                    .client()
                    .rows(scoped.breaker_key(E::SCOPE), q)
                    .await?,
                &tenant,
            )
        }
        .instrument(span::<E, _>(scoped, "find"))
        .await
    }

    /// Deletes the node and its relationships; [`Error::NotFound`] when the tenant has none.
    pub async fn delete(&self, scoped: &Scoped<'_>, id: &E::Id) -> Result<()> {
        let id: &str = &id.to_id();
        crate::document::check_id(id)?;
        let q = neo4rs::query(&queries::<E>()?.delete)
            .param(scope_param::<E>(), scoped.tenant(E::SCOPE).to_string())
            .param("id", id);
        async {
            match deleted(
                scoped
                    .client()
                    .rows(scoped.breaker_key(E::SCOPE), q)
                    .await?,
            ) {
                0 => Err(Error::NotFound),
                _ => Ok(()),
            }
        }
        .instrument(span::<E, _>(scoped, "delete"))
        .await
    }

    /// Moves every node of this label from `from`'s tenant to `to`'s, in one statement: atomic.
    /// Relationships between moved nodes, and to `to`'s nodes, stay; every relationship between a
    /// moved node and a node outside `to`'s tenant (one of another label that stayed behind) is
    /// deleted in the same statement, so no relationship crosses tenants afterwards. A node id both
    /// tenants hold is [`Error::Duplicate`] before anything moves (a query counts the clashes
    /// first; one made between the two is refused by the uniqueness constraint on (scope, id)).
    /// Re-running moves what is left (0).
    pub async fn move_tenant(&self, from: &Scoped<'_>, to: &Scoped<'_>) -> Result<u64> {
        let queries = queries::<E>()?;
        let (tenant, dest) = (
            from.tenant(E::SCOPE).to_string(),
            to.tenant(E::SCOPE).to_string(),
        );
        let q = neo4rs::query(&queries.move_tenant)
            .param(scope_param::<E>(), tenant.as_str())
            .param("to", dest.as_str());
        let clashes = neo4rs::query(&queries.move_clashes)
            .param(scope_param::<E>(), tenant.as_str())
            .param("to", dest.as_str());
        async {
            // An id both tenants hold: refused before anything moves. The uniqueness constraint
            // still refuses a clash made between this and the move.
            let rows = from
                .client()
                .rows(from.breaker_key(E::SCOPE), clashes)
                .await?;
            if rows
                .first()
                .and_then(|r| r.get::<i64>("n").ok())
                .unwrap_or(0)
                > 0
            {
                return Err(Error::Duplicate);
            }
            let rows = from.client().rows(from.breaker_key(E::SCOPE), q).await?;
            Ok(rows
                .first()
                .and_then(|r| r.get::<i64>("moved").ok())
                .unwrap_or(0)
                .max(0) as u64)
        }
        .instrument(span::<E, _>(from, "move_tenant"))
        .await
    }

    /// Deletes every node of this label in the tenant; returns how many.
    pub async fn delete_tenant(&self, scoped: &Scoped<'_>) -> Result<u64> {
        let q = neo4rs::query(&queries::<E>()?.delete_tenant)
            .param(scope_param::<E>(), scoped.tenant(E::SCOPE).to_string());
        async {
            Ok(deleted(
                scoped
                    .client()
                    .rows(scoped.breaker_key(E::SCOPE), q)
                    .await?,
            ))
        }
        .instrument(span::<E, _>(scoped, "delete_tenant"))
        .await
    }
}

impl<E: GraphEntity> DocumentStore for Store<E> {
    type Client = Client;
    type Entity = E;
    type New = E::New;
    type Id = E::Id;
    const BACKEND: &'static str = "neo4j";
    const UPSERTS: bool = false;

    fn id_of(entity: &E) -> E::Id {
        entity.id().clone()
    }

    async fn insert(&self, scoped: &Scoped<'_>, new: E::New) -> Result<E> {
        self.create(scoped, new).await
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

    async fn update(&self, scoped: &Scoped<'_>, id: &E::Id, new: E::New) -> Result<E> {
        self.update(scoped, id, new).await
    }

    async fn delete(&self, scoped: &Scoped<'_>, id: &E::Id) -> Result<()> {
        self.delete(scoped, id).await
    }

    async fn delete_tenant(&self, scoped: &Scoped<'_>) -> Result<u64> {
        self.delete_tenant(scoped).await
    }
}

fn decode_all<E: GraphEntity>(rows: Vec<Row>, tenant: &str) -> Result<Vec<E>> {
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.extend(decode_node::<E>(r, "n", tenant)?);
    }
    Ok(out)
}

fn deleted(rows: Vec<Row>) -> u64 {
    rows.first()
        .and_then(|r| r.get::<i64>("deleted").ok())
        .unwrap_or(0)
        .max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scope;

    #[derive(serde::Serialize, serde::Deserialize)]
    struct Sym {
        id: String,
        org_id: Uuid,
    }

    impl DocumentEntity for Sym {
        const ENTITY: &'static str = "Sym";
        const SCOPE: Scope = Scope::OrgId;
        const ID_FIELD: &'static str = "id";
        type Id = String;
        type New = String;
        type Filter = crate::query::DocQuery;
        fn id(&self) -> &String {
            &self.id
        }
        fn tenant_of(&self) -> Uuid {
            self.org_id
        }
        fn from_new(new: String, id: Option<String>, tenant: Uuid) -> Self {
            Sym {
                id: id.unwrap_or(new),
                org_id: tenant,
            }
        }
    }

    impl GraphEntity for Sym {
        const LABEL: &'static str = "CODE_SYMBOL";
        const MIGRATION: &'static str = "";
    }

    fn node(label: &str, org: &str) -> BoltType {
        let props: neo4rs::BoltMap = [
            (neo4rs::BoltString::from("id"), BoltType::from("x")),
            (neo4rs::BoltString::from("org_id"), BoltType::from(org)),
        ]
        .into_iter()
        .collect();
        BoltType::Node(neo4rs::BoltNode::new(
            neo4rs::BoltInteger::new(1),
            vec![BoltType::from(label)].into(),
            props,
        ))
    }

    fn row(value: BoltType) -> Row {
        Row::new(vec![BoltType::from("n")].into(), vec![value].into())
    }

    #[test]
    fn a_node_of_another_tenant_is_never_decoded() {
        let (mine, theirs) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
        let ok = row(node("CODE_SYMBOL", &mine));
        assert!(row_is_tenants(&ok, "org_id", &mine));
        let got = decode_node::<Sym>(&ok, "n", &mine).unwrap().unwrap();
        assert_eq!(got.org_id.to_string(), mine);

        let foreign = row(node("CODE_SYMBOL", &theirs));
        assert!(!row_is_tenants(&foreign, "org_id", &mine));
        assert!(decode_node::<Sym>(&foreign, "n", &mine).unwrap().is_none());
        // Nested in a list or a map, alongside one of the caller's.
        let nested = row(BoltType::List(
            vec![node("CODE_SYMBOL", &mine), node("CODE_SYMBOL", &theirs)].into(),
        ));
        assert!(!row_is_tenants(&nested, "org_id", &mine));
        // A node with no scope property at all is not the caller's either.
        let unscoped = row(BoltType::Node(neo4rs::BoltNode::new(
            neo4rs::BoltInteger::new(2),
            vec![BoltType::from("CODE_SYMBOL")].into(),
            neo4rs::BoltMap::new(),
        )));
        assert!(!row_is_tenants(&unscoped, "org_id", &mine));
        // Another label: not an entity of this type.
        assert!(decode_node::<Sym>(&row(node("CODE_REPO", &mine)), "n", &mine).is_err());
        // Plain values pass.
        assert!(row_is_tenants(&row(BoltType::from(3)), "org_id", &mine));
    }

    #[test]
    fn only_generated_schema_statements_are_migrations() {
        for ok in [
            "CREATE INDEX code_symbol_org_id IF NOT EXISTS FOR (n:CODE_SYMBOL) ON (n.org_id)",
            "CREATE INDEX s_org_id_name IF NOT EXISTS FOR (n:CODE_SYMBOL) ON (n.org_id, n.name)",
            "CREATE CONSTRAINT c IF NOT EXISTS FOR (n:CODE_SYMBOL) REQUIRE (n.org_id, n.id) IS UNIQUE",
            "DROP INDEX s_org_id_name IF EXISTS",
            "DROP CONSTRAINT c IF EXISTS",
        ] {
            assert!(is_schema_statement(ok), "{ok}");
        }
        for bad in [
            "MATCH (n) DETACH DELETE n",
            "CREATE INDEX x IF NOT EXISTS FOR (n:L) ON (n.a) MATCH (m) DETACH DELETE m",
            "CREATE INDEX x IF NOT EXISTS FOR (n:L) ON (n.a); MATCH (m) DETACH DELETE m",
            "CREATE INDEX x IF NOT EXISTS FOR (n:L) ON (n.a, size([(m)-->() | m]))",
            "CREATE CONSTRAINT c IF NOT EXISTS FOR (n:L) REQUIRE (n.a) IS UNIQUE OPTIONS {}",
            "CREATE INDEX x FOR (n:L) ON (n.a)",
            "CREATE (n:L {org_id: 1})",
            "DROP INDEX x",
            "DROP DATABASE neo4j IF EXISTS",
            "DROP INDEX x IF EXISTS MATCH (m) DETACH DELETE m",
            "DROP INDEX `x` IF EXISTS",
        ] {
            assert!(!is_schema_statement(bad), "{bad}");
        }
    }

    #[test]
    fn labels_and_properties_must_be_identifiers() {
        assert!(identifier("CODE_SYMBOL").is_ok());
        for bad in ["", "1x", "a b", "x) MATCH (n", "`x`"] {
            assert!(identifier(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_generated_query_passes_the_cypher_check() {
        let q = queries::<Sym>().unwrap();
        let reserved = tenant_store_cypher::Options {
            reserved_writes: true,
            ..Default::default()
        };
        assert!(
            tenant_store_cypher::check_with(&q.create, reserved).is_ok(),
            "{}",
            q.create
        );
        for cypher in [&q.get, &q.update, &q.delete, &q.delete_tenant] {
            let checked =
                tenant_store_cypher::check(cypher).unwrap_or_else(|e| panic!("{cypher}: {e:?}"));
            assert_eq!(checked.scope, "org_id");
            assert_eq!(checked.labels, vec!["CODE_SYMBOL".to_owned()]);
        }
        // Listings and counts, built per filter: every condition kind, an order by a time and
        // the keyset after a cursor, and the id order.
        #[derive(Clone, Copy)]
        struct At;
        impl crate::query::OrderField for At {
            fn name(self) -> Option<&'static str> {
                Some("at")
            }
            fn kind(self) -> Kind {
                Kind::Time
            }
        }
        let mut query = DocQuery::default();
        query.push("kind", crate::Cond::eq("fn".to_owned()));
        query.push("kind", crate::Cond::is_in(["fn".to_owned()]));
        query.push("line", crate::Cond::<i64>::range(1..=5));
        query.push("summary", crate::Cond::<Option<String>>::is_null());
        query.push("summary", crate::Cond::<Option<String>>::is_not_null());
        query.push("file", crate::Cond::<String>::starts_with("src/"));
        query.order_by(At, Direction::Desc);
        let at = Value::String("2026-11-30T18:00:00Z".into());
        let listings = [
            Matching::list::<Sym>(&query, query.sort_or_id("id"), Some((&at, "s1"))),
            Matching::list::<Sym>(
                &DocQuery::default(),
                DocQuery::default().sort_or_id("id"),
                Some((&Value::Null, "s1")),
            ),
            Matching::count::<Sym>(&query),
        ];
        for m in listings {
            let m = m.unwrap();
            // Every value is a parameter: none of `fn`, `src/`, the time or the id is text.
            assert!(
                !m.text.contains('\'') && !m.text.contains('"'),
                "{}",
                m.text
            );
            let checked =
                tenant_store_cypher::check(&m.text).unwrap_or_else(|e| panic!("{}: {e:?}", m.text));
            assert_eq!(checked.scope, "org_id");
        }
        // The move writes the scope: refused as hand-written Cypher, its first half accepted
        // only for `$to`; the second half is the fixed text `move_cut` documents.
        let set = format!(
            "{}RETURN size(moved) AS moved",
            move_set("CODE_SYMBOL", "org_id")
        );
        assert!(tenant_store_cypher::check(&set).is_err());
        let moving = tenant_store_cypher::Options {
            scope_write_param: Some("to"),
            ..Default::default()
        };
        assert!(tenant_store_cypher::check_with(&set, moving).is_ok());
        assert_eq!(
            q.move_tenant,
            format!(
                "{}{}",
                move_set("CODE_SYMBOL", "org_id"),
                move_cut("org_id")
            )
        );
    }
}
