//! How entities of the document backends (Valkey, OpenSearch, Neo4j, Qdrant) travel: JSON through
//! serde.

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

/// The reserved field every Qdrant point and OpenSearch document carries: the entity's name.
/// Entities may share a model or an index; every filter the stores send matches this field as
/// well as the tenant, so one entity never reads, counts or deletes another's records, whatever
/// their data fields hold. (Valkey puts the entity in the key instead.)
#[cfg_attr(not(any(feature = "opensearch", feature = "qdrant")), allow(dead_code))]
pub(crate) const ENTITY_FIELD: &str = "__tenant_store_entity";

/// `entity` with its scope field (named after `scope`, as the macro requires) set to `to`: how
/// the document backends' `move_tenant` re-labels an entity, through its JSON.
#[cfg_attr(
    not(any(feature = "valkey", feature = "opensearch", feature = "qdrant")),
    allow(dead_code)
)]
pub(crate) fn retenant<E: Document>(entity: &E, scope: Scope, to: Uuid) -> Result<E> {
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
#[cfg_attr(
    not(any(feature = "valkey", feature = "opensearch", feature = "qdrant")),
    allow(dead_code)
)]
pub(crate) fn check_move_target<E: Document>(there: Option<E>, moved: &E) -> Result<()> {
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
        match scope {
            Scope::UserId => self.user_id,
            Scope::OrgId => self.org_id,
        }
    }

    pub(crate) fn client(&self) -> &'c C {
        self.client
    }

    /// Whose circuit breaker a call of this handle counts against: the principal's org.
    #[cfg_attr(not(feature = "resilience"), allow(dead_code))]
    pub(crate) fn breaker_key(&self) -> Option<Uuid> {
        Some(self.org_id)
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
