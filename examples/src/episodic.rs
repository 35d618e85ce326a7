//! EpisodicMemoryStore (store 4 of the product plan): what happened in a user's recent sessions,
//! kept in Valkey with a time to live and a recency weight that decays.

use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

/// One remembered event of a session.
#[tenant_store(
    backend = "valkey",
    scope = "user_id",
    prefix = "episodic",
    ttl = 86400
)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// The item's id within its session.
    #[tenant_store(id)]
    pub id: String,
    /// The owner: the tenant. Set from the principal, never from input.
    pub user_id: Uuid,
    /// The conversation or task session the episode belongs to.
    #[tenant_store(session)]
    pub session_id: String,
    /// What happened.
    #[tenant_store(filter)]
    pub content: String,
    /// The turn of the session it happened at.
    #[tenant_store(filter)]
    pub turn: i64,
    /// The tool it involved, if any.
    #[tenant_store(filter)]
    pub tool: Option<String>,
    /// How much the episode matters at first; decays over time.
    #[tenant_store(weight)]
    pub importance: f64,
}
