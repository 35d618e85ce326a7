// A qdrant entity with every qdrant key compiles and exposes its vector size.
use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

/// An embedded chunk.
#[tenant_store(
    backend = "qdrant",
    scope = "user_id",
    model = "e5-small_v2",
    dims = 65536,
    distance = "dot",
    new_derive(Default)
)]
#[derive(Serialize, Deserialize)]
pub struct Chunk {
    #[tenant_store(id)]
    pub id: String,
    pub user_id: Uuid,
    pub text: String,
}

fn main() {
    assert_eq!(ChunkStore::DIMS, 65_536);
    let _ = NewChunk::default();
}
