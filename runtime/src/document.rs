//! What the four document backends (Valkey, OpenSearch, Neo4j, Qdrant) share.
//!
//! ## Shape
//! - [`DocumentEntity`] is the one entity core the macro generates for every document backend:
//!   the entity's name, scope and id, the tenant a value belongs to, and how a value is built
//!   from the generated `New{Entity}` and a tenant. Each backend's own trait (`ValkeyEntity`,
//!   `SearchEntity`, `GraphEntity`, `EmbeddingEntity`) extends it with that backend's items only.
//! - [`Scoped`] is one tenant's view of a backend's client, the only way the stores reach data.
//! - The helpers every store uses are written here once: the tracing span of an operation
//!   ([`span`]), the foreign-tenant check on writes ([`check_own`]) and reads ([`own`]), and the
//!   write half of every `move_tenant` ([`move_documents`]).
//! - Entities travel as JSON through serde ([`Document`]). The core does not require it, the
//!   backend traits do: a struct without the serde derives then gets one error per missing
//!   derive, at the struct, and no knock-on errors.

use serde::Serialize;
use serde::de::DeserializeOwned;

use uuid::Uuid;

use crate::{Error, Principal, Result, Scope};

/// An entity stored as a JSON document. Implemented for every type that derives `Serialize` and
/// `Deserialize`; field names in the JSON are the Rust field names (serde renames are not
/// supported by the generated stores).
#[diagnostic::on_unimplemented(
    message = "`{Self}` must derive `serde::Serialize` and `serde::Deserialize` to be stored as a document",
    label = "stored as JSON",
    note = "add `#[derive(serde::Serialize, serde::Deserialize)]` to the struct"
)]
pub trait Document: Sized {
    /// The document as stored.
    fn to_json(&self) -> Result<String>;
    /// The document read back.
    fn from_json(json: &str) -> Result<Self>;
}

impl<T: Serialize + DeserializeOwned> Document for T {
    fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| Error::InvalidInput(e.to_string()))
    }
    fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| Error::Backend(Box::new(e)))
    }
}

/// The entity core the macro generates for every document backend (Valkey, OpenSearch, Neo4j,
/// Qdrant); each backend's entity trait extends it. Not meant to be implemented by hand (see the
/// threat model in the crate docs).
pub trait DocumentEntity: Send + Sync + 'static {
    /// The struct's name: part of every key, id and filter, so entities sharing a namespace
    /// never see each other's records.
    const ENTITY: &'static str;
    /// The principal attribute that partitions the entity; the scope field has its name.
    const SCOPE: Scope;
    /// The id field's name.
    const ID_FIELD: &'static str;
    /// The id field's type.
    type Id: DocumentId + Clone + Send + Sync;
    /// The generated `New{Entity}`: every caller-set field and an optional id, never the scope.
    type New: Send;
    /// The generated `{Entity}Filter`: conditions on the `filter` fields and an order.
    type Filter: Into<crate::query::DocQuery> + Default + Send;
    /// The id.
    fn id(&self) -> &Self::Id;
    /// The value of the scope field.
    fn tenant_of(&self) -> Uuid;
    /// The entity `new` describes in `tenant`, with the id `id` if given, else `new`'s own, else
    /// a generated one.
    fn from_new(new: Self::New, id: Option<Self::Id>, tenant: Uuid) -> Self;
    /// The id as text, as it appears in keys and ids.
    fn id_text(&self) -> String {
        self.id().to_id()
    }
}

/// The span every document store operation runs in.
pub(crate) fn span<E: DocumentEntity, C>(
    scoped: &Scoped<'_, C>,
    op: &'static str,
) -> tracing::Span {
    tracing::info_span!("tenant_store", entity = E::ENTITY, op, tenant = %scoped.tenant(E::SCOPE))
}

/// Paging of a document listing: the cursor holds the last item's sort value (as JSON; `null`
/// in id order) and its id (on Qdrant, the next point's id), sealed to the backend, the entity,
/// the tenant, the order field and the direction.
#[cfg_attr(
    not(any(feature = "opensearch", feature = "neo4j", feature = "qdrant")),
    allow(dead_code)
)]
pub(crate) struct DocPages<'k> {
    key: &'k crate::query::CursorKey,
    context: crate::query::Context<'static>,
    sort: crate::query::DocSort,
}

#[cfg_attr(
    not(any(feature = "opensearch", feature = "neo4j", feature = "qdrant")),
    allow(dead_code)
)]
impl<'k> DocPages<'k> {
    /// The shared start of a document backend's `list`: the filter (checked), its paging, and
    /// the page opened (its limit and the (sort value, id) its cursor holds).
    #[allow(clippy::type_complexity)]
    pub(crate) fn start<E: DocumentEntity, C>(
        backend: &'static str,
        key: &'k crate::query::CursorKey,
        scoped: &Scoped<'_, C>,
        filter: E::Filter,
        page: &crate::Page,
    ) -> Result<(
        crate::query::DocQuery,
        Self,
        u32,
        Option<(serde_json::Value, String)>,
    )> {
        let query: crate::query::DocQuery = filter.into();
        query.check()?;
        let sort = query.sort_or_id(E::ID_FIELD);
        let pages = Self {
            key,
            context: crate::query::Context {
                backend,
                entity: E::ENTITY,
                tenant: scoped.tenant(E::SCOPE),
                order: sort.field,
                direction: sort.direction,
            },
            sort,
        };
        let (limit, after) = pages.open(page)?;
        Ok((query, pages, limit, after))
    }

    /// The order the listing is in.
    pub(crate) fn sort(&self) -> crate::query::DocSort {
        self.sort
    }

    /// The page's limit (checked, `1..=Page::MAX_LIMIT`) and the (sort value, id) its cursor
    /// holds.
    pub(crate) fn open(
        &self,
        page: &crate::Page,
    ) -> Result<(u32, Option<(serde_json::Value, String)>)> {
        let limit = page.checked_limit()?;
        let Some(cursor) = page.cursor() else {
            return Ok((limit, None));
        };
        let bad = crate::query::bad_cursor;
        let (value, id) = self.key.open(&self.context, cursor)?;
        let value = serde_json::from_slice(&value).map_err(|_| bad())?;
        let id = String::from_utf8(id).map_err(|_| bad())?;
        Ok((limit, Some((value, id))))
    }

    /// The next page of `limit`, after (or, on Qdrant, at) the item with `value` and `id`.
    pub(crate) fn next(&self, limit: u32, value: &serde_json::Value, id: &str) -> crate::Page {
        let value = serde_json::to_vec(value).expect("a JSON value serializes");
        crate::Page::after(self.key.seal(&self.context, &value, id.as_bytes()), limit)
    }

    /// The listing of `items` fetched with one more than `limit`: the extra one, if any, says
    /// there is a next page, which starts after the last item kept.
    #[cfg_attr(not(feature = "neo4j"), allow(dead_code))]
    pub(crate) fn listing<E: DocumentEntity + Document>(
        &self,
        mut items: Vec<E>,
        limit: u32,
    ) -> Result<crate::Listing<E>> {
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            match items.last() {
                Some(last) => Some(self.next(limit, &self.sort_value(last)?, &last.id_text())),
                None => None,
            }
        } else {
            None
        };
        Ok(crate::Listing { items, next })
    }

    /// The entity's value of the sort field (`null` in id order).
    #[cfg_attr(not(feature = "neo4j"), allow(dead_code))]
    fn sort_value<E: Document>(&self, e: &E) -> Result<serde_json::Value> {
        if self.sort.is_id {
            return Ok(serde_json::Value::Null);
        }
        let json: serde_json::Value =
            serde_json::from_str(&e.to_json()?).map_err(|e| Error::Backend(Box::new(e)))?;
        Ok(json.get(self.sort.field).cloned().unwrap_or_default())
    }
}

/// Refuses to write an entity whose scope field is not the caller's tenant.
pub(crate) fn check_own<E: DocumentEntity, C>(scoped: &Scoped<'_, C>, entity: &E) -> Result<()> {
    if entity.tenant_of() == scoped.tenant(E::SCOPE) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "the {}'s scope field is not the caller's tenant",
            E::ENTITY
        )))
    }
}

/// Defence in depth on reads: an entity found under the caller's tenant that names another
/// tenant is treated as absent rather than returned.
pub(crate) fn own<E: DocumentEntity, C>(scoped: &Scoped<'_, C>, entity: E) -> Option<E> {
    (entity.tenant_of() == scoped.tenant(E::SCOPE)).then_some(entity)
}

/// Decodes a record read back from a store whose records carry [`ENTITY_FIELD`] (OpenSearch,
/// Qdrant). Defence in depth behind the request filters: a record of another entity sharing the
/// index or collection, or naming another tenant, is treated as absent.
#[cfg_attr(not(any(feature = "opensearch", feature = "qdrant")), allow(dead_code))]
pub(crate) fn decode_stored<E: DocumentEntity + Document, C>(
    scoped: &Scoped<'_, C>,
    mut record: serde_json::Value,
) -> Result<Option<E>> {
    let entity = record.as_object_mut().and_then(|m| m.remove(ENTITY_FIELD));
    if entity.as_ref().and_then(serde_json::Value::as_str) != Some(E::ENTITY) {
        return Ok(None);
    }
    Ok(own(scoped, E::from_json(&record.to_string())?))
}

/// The write half of every document backend's `move_tenant`, given everything `from` holds (each
/// entity with what else its write needs: a TTL, a vector). Ordered so that re-running after a
/// crash finishes the job: (1) re-label each entity for `to` and refuse with
/// [`Error::Duplicate`], before writing anything, if `to` holds a *different* entity under the
/// same id (an identical one is the copy a cut-short run made); (2) write each under `to`
/// (repeating a write is harmless); (3) delete `from`'s. Returns how many were moved.
#[cfg_attr(
    not(any(feature = "valkey", feature = "opensearch", feature = "qdrant")),
    allow(dead_code)
)]
pub(crate) async fn move_documents<E: DocumentEntity + Document, X>(
    read: Vec<(E, X)>,
    to: Uuid,
    there: impl AsyncFn(&E) -> Result<Option<E>>,
    write: impl AsyncFn(&E, &X) -> Result<()>,
    delete_from: impl Future<Output = Result<u64>>,
) -> Result<u64> {
    let mut moving = Vec::with_capacity(read.len());
    for (entity, extra) in read {
        let moved = retenant(&entity, E::SCOPE, to)?;
        check_move_target(there(&moved).await?, &moved)?;
        moving.push((moved, extra));
    }
    for (entity, extra) in &moving {
        write(entity, extra).await?;
    }
    delete_from.await?;
    Ok(moving.len() as u64)
}

/// The reserved field every Qdrant point and OpenSearch document carries: the entity's name.
/// Entities may share a model or an index; every filter the stores send matches this field as
/// well as the tenant, so one entity never reads, counts or deletes another's records, whatever
/// their data fields hold. (Valkey puts the entity in the key instead.)
#[cfg_attr(not(any(feature = "opensearch", feature = "qdrant")), allow(dead_code))]
pub(crate) const ENTITY_FIELD: &str = "__tenant_store_entity";

/// `entity` with its scope field (named after `scope`, as the macro requires) set to `to`: how
/// the document backends' `move_tenant` re-labels an entity, through its JSON.
fn retenant<E: Document>(entity: &E, scope: Scope, to: Uuid) -> Result<E> {
    let mut json: serde_json::Value =
        serde_json::from_str(&entity.to_json()?).map_err(|e| Error::Backend(Box::new(e)))?;
    match json.get_mut(scope.as_str()) {
        Some(field) => *field = serde_json::Value::String(to.to_string()),
        None => {
            return Err(Error::Backend(
                format!("the entity has no `{}` field", scope.as_str()).into(),
            ));
        }
    }
    E::from_json(&json.to_string())
}

/// Refuses a move onto an id the target tenant already holds with other content
/// ([`Error::Duplicate`]); an identical entity there is the copy a cut-short move made.
fn check_move_target<E: Document>(there: Option<E>, moved: &E) -> Result<()> {
    match there {
        Some(there) if there.to_json()? != moved.to_json()? => Err(Error::Duplicate),
        _ => Ok(()),
    }
}

/// A type usable as the id of a document, item, node or point (Valkey, OpenSearch, Neo4j, Qdrant).
#[diagnostic::on_unimplemented(
    message = "the `id` field of a Valkey, OpenSearch, Neo4j or Qdrant entity must be a `String` or a `Uuid`, found `{Self}`",
    label = "not a document id"
)]
pub trait DocumentId {
    /// A fresh id, when the caller gives none.
    fn generate() -> Self;
    /// The id as text.
    fn to_id(&self) -> String;
}

impl DocumentId for String {
    fn generate() -> Self {
        Uuid::new_v4().to_string()
    }
    fn to_id(&self) -> String {
        self.clone()
    }
}

impl DocumentId for Uuid {
    fn generate() -> Self {
        Uuid::new_v4()
    }
    fn to_id(&self) -> String {
        self.to_string()
    }
}

/// The longest document id, in bytes.
pub const MAX_ID_LEN: usize = 256;

/// The one rule for a document id on every backend (Valkey keys, OpenSearch `_id`s and URLs,
/// Neo4j properties, Qdrant point ids): 1 to [`MAX_ID_LEN`] characters of `A-Z a-z 0-9 - _ .`.
/// A `Uuid` id always passes. Checked before any request, so an id one backend takes is an id
/// every backend takes.
#[cfg_attr(not(feature = "document"), allow(dead_code))]
pub(crate) fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "document id {:?} must be 1 to {MAX_ID_LEN} characters of `A-Za-z0-9-_.`",
            id.chars().take(80).collect::<String>()
        )))
    }
}

/// One tenant's view of a document backend's client: the only way generated methods (and, on
/// Neo4j, checked Cypher) reach the data. `valkey::Scoped`, `opensearch::Scoped`,
/// `neo4j::Scoped` and `qdrant::Scoped` are this type for their `Client`; it is made only by that
/// client's `scoped(&Principal)`, and carries the principal's two tenant ids.
pub struct Scoped<'c, C> {
    client: &'c C,
    user_id: Uuid,
    org_id: Uuid,
}

impl<'c, C> Scoped<'c, C> {
    pub(crate) fn new(client: &'c C, principal: &Principal) -> Self {
        Self {
            client,
            user_id: principal.user_id(),
            org_id: principal.org_id(),
        }
    }

    /// The tenant id for entities of `scope`.
    pub fn tenant(&self, scope: Scope) -> Uuid {
        scope.pick(self.user_id, self.org_id)
    }

    pub(crate) fn client(&self) -> &'c C {
        self.client
    }

    /// Whose circuit breaker a call of this handle for an entity of `scope` counts against: the
    /// tenant that entity is scoped by (one user's timeouts on a user-scoped store cost that
    /// user alone, not the org).
    #[cfg_attr(not(feature = "resilience"), allow(dead_code))]
    pub(crate) fn breaker_key(&self, scope: Scope) -> crate::resilience::Tenant {
        Some((scope, self.tenant(scope)))
    }
}

// Not derived: the derives would require `C: Clone` / `C: Debug` of the client.
impl<C> Clone for Scoped<'_, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C> Copy for Scoped<'_, C> {}

impl<C> std::fmt::Debug for Scoped<'_, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scoped")
            .field("user_id", &self.user_id)
            .field("org_id", &self.org_id)
            .finish_non_exhaustive()
    }
}

/// The part of a document backend's `Client` every backend shares: the breaker's state and the
/// settings. The client has a `policy: CallPolicy`. (`scoped` stays in each backend's module, written
/// out: it is the method a user meets in the guard's compile errors, which should show its
/// signature, not a macro.)
macro_rules! guarded_client {
    () => {
        impl Client {
            /// Whether the backend's circuit breaker (connection failures) currently rejects
            /// calls.
            pub fn circuit_open(&self) -> bool {
                self.policy.is_open()
            }

            /// Whether the breaker of `principal`'s tenant for entities of `scope` (its queries
            /// timed out repeatedly) currently rejects its calls; other tenants are unaffected.
            pub fn circuit_open_for(
                &self,
                principal: &crate::Principal,
                scope: crate::Scope,
            ) -> bool {
                let tenant = scope.pick(principal.user_id(), principal.org_id());
                self.policy.is_open_for((scope, tenant))
            }

            /// The resilience settings in force.
            pub fn resilience(&self) -> crate::Resilience {
                self.policy.settings()
            }

            /// Seals this client's listing cursors with `key` instead of a random key of its
            /// own: give every instance of the application the same key (say
            /// `CursorKey::derive` of a configured secret) and each accepts the others' cursors.
            pub fn with_cursor_key(mut self, key: crate::query::CursorKey) -> Self {
                self.policy.set_cursor_key(key);
                self
            }

            pub(crate) fn cursor_key(&self) -> &crate::query::CursorKey {
                self.policy.cursor_key()
            }
        }
    };
}
pub(crate) use guarded_client;

/// Defines a document backend's `Store<E>`: a zero-sized handle whose methods (written once in
/// the backend's `store` module) act on one entity. The generated `{Entity}Store` is an alias of
/// it, and `Entity::store()` makes one.
macro_rules! store_type {
    ($backend:literal, $entity_trait:ident) => {
        #[doc = concat!(
            "The tenant-scoped ", $backend, " store of the entity `E`; the generated `{Entity}Store` ",
            "is this type for one entity, made by `Entity::store()`. Zero-sized: it holds no ",
            "connection. Every data method takes a [`Scoped`] handle and acts only inside its tenant."
        )]
        pub struct Store<E>(::std::marker::PhantomData<fn() -> E>);

        impl<E: $entity_trait> Store<E> {
            /// The store of `E`.
            pub const fn new() -> Self {
                Self(::std::marker::PhantomData)
            }
        }

        // Not derived: the derives would require `E: Default`, `E: Clone`, ...
        impl<E: $entity_trait> Default for Store<E> {
            fn default() -> Self {
                Self::new()
            }
        }

        impl<E> Clone for Store<E> {
            fn clone(&self) -> Self {
                *self
            }
        }

        impl<E> Copy for Store<E> {}

        impl<E: $entity_trait> ::std::fmt::Debug for Store<E> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{}Store", E::ENTITY)
            }
        }
    };
}
#[cfg_attr(
    not(any(
        feature = "valkey",
        feature = "opensearch",
        feature = "neo4j",
        feature = "qdrant"
    )),
    allow(unused_imports)
)]
pub(crate) use store_type;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_counts_against_the_tenant_its_entity_is_scoped_by() {
        let org = Uuid::new_v4();
        let (a, b) = (
            Principal::new(Uuid::new_v4(), org).unwrap(),
            Principal::new(Uuid::new_v4(), org).unwrap(),
        );
        let (a, b) = (Scoped::new(&(), &a), Scoped::new(&(), &b));
        // Two users of one org: their user-scoped calls have breakers of their own...
        assert_ne!(a.breaker_key(Scope::UserId), b.breaker_key(Scope::UserId));
        assert_eq!(
            a.breaker_key(Scope::UserId),
            Some((Scope::UserId, a.user_id))
        );
        // ...and share the org's for org-scoped entities.
        assert_eq!(a.breaker_key(Scope::OrgId), b.breaker_key(Scope::OrgId));
        assert_eq!(a.breaker_key(Scope::OrgId), Some((Scope::OrgId, org)));
    }
}
