//! EmbeddingStore (store 6 of the product plan): an organisation's text chunks embedded by one
//! model, in the Qdrant collection `embeddings_minilm` with a tenant index on `org_id`.

use serde::{Deserialize, Serialize};
use tenant_store::tenant_store;
use uuid::Uuid;

/// One embedded chunk of text: the point's payload. The vector travels beside it.
#[tenant_store(
    backend = "qdrant",
    scope = "org_id",
    model = "minilm",
    dims = 384,
    distance = "cosine",
    new_derive(Debug, Clone)
)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embedding {
    /// The chunk's id within the organisation.
    #[tenant_store(id)]
    pub id: Uuid,
    /// The organisation: the tenant.
    pub org_id: Uuid,
    /// Where the text came from (a document id, a URL).
    #[tenant_store(filter)]
    pub source: String,
    /// The embedded text.
    pub text: String,
    /// Where in the source the chunk starts, in characters.
    #[tenant_store(filter)]
    pub offset: i64,
    /// The text's language, when it was detected.
    #[tenant_store(filter)]
    pub lang: Option<String>,
}

/// A unit vector of [`EmbeddingStore::DIMS`] components pointing mostly along `axis`, for
/// examples and tests that need distinct, reproducible vectors without an embedding model.
pub fn unit_vector(axis: usize) -> Vec<f32> {
    let dims = EmbeddingStore::DIMS;
    let mut v = vec![0.01_f32; dims];
    v[axis % dims] = 1.0;
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= norm);
    v
}
