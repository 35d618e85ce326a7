//! How entities of the document backends (Valkey, OpenSearch) travel: JSON through serde.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Error, Result};

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
