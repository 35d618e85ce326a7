//! ScopedMemoryStore (store 1 of the product plan): a user's memories, private to that user.

use chrono::{DateTime, Utc};
use tenant_store::tenant_store;
use uuid::Uuid;

/// Lifecycle of a memory. `Deleted` is the soft-delete state: deleted memories look absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum MemoryState {
    /// In use.
    #[default]
    Active,
    /// Kept, but not offered.
    Paused,
    /// Kept for the record.
    Archived,
    /// Soft-deleted.
    Deleted,
}

impl tenant_store::postgres::PgColumn for MemoryState {
    const SQL_TYPE: &'static str = "text";
}

/// Something an application remembers about a user.
#[tenant_store(
    backend = "postgres",
    scope = "user_id",
    table = "memories",
    new_derive(Default, Debug, Clone)
)]
#[derive(Debug, Clone, PartialEq)]
pub struct Memory {
    /// The memory's id.
    #[tenant_store(id)]
    pub id: Uuid,
    /// The owner: the tenant. Set from the principal, never from input.
    pub user_id: Uuid,
    /// The application that wrote it.
    #[tenant_store(filter)]
    pub app_id: Uuid,
    /// What is remembered.
    pub content: String,
    /// Free-form metadata.
    pub metadata: serde_json::Value,
    /// Lifecycle state.
    #[tenant_store(filter, soft_delete = MemoryState::Deleted)]
    pub state: MemoryState,
    /// Optimistic-locking version, from 1.
    #[tenant_store(version)]
    pub version: i64,
    /// Set by the database on insert. Listings can be ordered by it: "the newest memories".
    #[tenant_store(created_at, filter, order_by)]
    pub created_at: DateTime<Utc>,
    /// Set by the database on every change.
    #[tenant_store(updated_at)]
    pub updated_at: DateTime<Utc>,
}
