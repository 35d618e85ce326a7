//! SearchStore (store 7 of the product plan): an organisation's searchable documents in
//! OpenSearch, behind a filtered alias per tenant, promotable to a dedicated index.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

/// A searchable document.
#[tenant_store(backend = "opensearch", scope = "org_id", index = "search")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchDoc {
    /// The document's id within the organisation.
    #[tenant_store(id)]
    pub id: String,
    /// The organisation: the tenant.
    pub org_id: Uuid,
    /// Title, full-text searched.
    #[tenant_store(text)]
    pub title: String,
    /// Body, full-text searched.
    #[tenant_store(text)]
    pub body: String,
    /// Exact-match labels.
    pub tags: Vec<String>,
    /// When it was published: "the newest first".
    #[tenant_store(filter, order_by)]
    pub published_at: DateTime<Utc>,
    /// How often it was read: "the most read first".
    #[tenant_store(filter, order_by)]
    pub views: i64,
    /// Who wrote it, when known.
    #[tenant_store(filter)]
    pub author: Option<String>,
}
