//! Qdrant backend: one collection per embedding model with a tenant payload index, every call
//! under the shared [`Resilience`] layer, over `qdrant-client`'s gRPC API.
//!
//! ## Layout
//! For an entity with `model = "minilm"`, `dims = 384` and tenant `T` (the principal's `org_id`
//! or `user_id`, whichever the entity's `scope` names):
//! - the collection is `embeddings_minilm`, created with size 384 and the entity's distance;
//! - the scope field (`org_id`) has a keyword payload index marked `is_tenant`, so Qdrant keeps
//!   each tenant's points together and a tenant filter is cheap;
//! - every point's payload is the entity as JSON, scope field included;
//! - a point's id is `UUIDv5(T, id)`: derived from the tenant and the entity id, so an upsert by
//!   one tenant can never overwrite another tenant's point, whatever id it names (Qdrant ids are
//!   global to a collection).
//!
//! ## Every read and delete carries the tenant filter
//! `search` wraps the caller's filter as `must: [scope == T, <caller's filter>]`; `get`, `delete`
//! and `count` filter on the scope field and the point id together. Another tenant's point is
//! never addressed: it looks absent.
//!
//! ## Vectors
//! A vector whose length is not the entity's `dims`, or that holds a NaN or infinity, is
//! `Error::InvalidInput` before any request is sent.

mod store;

use std::future::Future;

use qdrant_client::{Qdrant, QdrantError};

use crate::resilience::{CallPolicy, Resilience};
use crate::{Error, Principal, Result};

pub use qdrant_client::qdrant::{Condition, Distance, FieldType, Filter};
pub use store::{
    EmbeddingEntity, MAX_LIMIT, Scored, Store, collection_name, is_tenant_index, point_id,
};

crate::document::guarded_client!();

/// The Qdrant client this crate is built with, for [`Client::from_client`].
pub use qdrant_client;

/// Where a Qdrant server is, and the API key it requires (if any).
#[derive(Clone, PartialEq, Eq)]
pub struct QdrantConfig {
    /// The gRPC endpoint, `http://host:6334` or `https://host:6334`.
    pub url: String,
    /// The server's API key (sent as the `api-key` header).
    pub api_key: Option<String>,
}

impl QdrantConfig {
    /// `url` without an API key.
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            api_key: None,
        }
    }

    /// From `TENANT_STORE_QDRANT_URL` (required) and `TENANT_STORE_QDRANT_API_KEY` (optional).
    pub fn from_env() -> Result<Self> {
        let url = std::env::var("TENANT_STORE_QDRANT_URL").map_err(|_| {
            Error::InvalidInput(
                "TENANT_STORE_QDRANT_URL is not set (e.g. http://127.0.0.1:6334)".into(),
            )
        })?;
        Ok(Self {
            url,
            api_key: std::env::var("TENANT_STORE_QDRANT_API_KEY").ok(),
        })
    }
}

impl std::fmt::Debug for QdrantConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QdrantConfig")
            .field("url", &self.url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A Qdrant connection (gRPC) with timeouts and a circuit breaker. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    qdrant: Qdrant,
    policy: CallPolicy,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("uri", &self.qdrant.config.uri)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// The handle through which one tenant's points are reached.
    pub fn scoped(&self, principal: &Principal) -> Scoped<'_> {
        Scoped::new(self, principal)
    }

    /// Connects to the gRPC endpoint at `url` (`http://host:6334`, or `https://` for TLS,
    /// checked against the platform's certificate authorities: a private one goes into the
    /// system store or the `SSL_CERT_FILE` it reads) and checks that it answers.
    pub async fn connect(url: &str, resilience: Resilience) -> Result<Self> {
        Self::connect_with(&QdrantConfig::new(url), resilience).await
    }

    /// Connects with `config` (the URL and, for a server that requires one, the API key).
    pub async fn connect_with(config: &QdrantConfig, resilience: Resilience) -> Result<Self> {
        let mut builder = Qdrant::from_url(&config.url)
            .timeout(resilience.timeout)
            .connect_timeout(resilience.connect_timeout)
            // The client's own check runs a blocking health check on a thread of its own and
            // only prints its verdict; `connect` checks the server below instead.
            .skip_compatibility_check();
        if let Some(key) = &config.api_key {
            builder = builder.api_key(key.clone());
        }
        let qdrant = builder
            .build()
            .map_err(|e| Error::InvalidInput(format!("bad Qdrant URL: {e}")))?;
        Self::from_client(qdrant, resilience).await
    }

    /// Connects through a client the application built itself ([`qdrant_client`] is this
    /// crate's); checks that the server answers, with the client's credentials.
    pub async fn from_client(qdrant: Qdrant, resilience: Resilience) -> Result<Self> {
        let endpoint = format!("qdrant at {}", qdrant.config.uri);
        let policy = CallPolicy::new(resilience, endpoint)?;
        let client = Self { qdrant, policy };
        let version = client
            .call(None, |q| async move { q.health_check().await })
            .await?;
        if !version.version.starts_with("1.") {
            return Err(Error::Unavailable(format!(
                "Qdrant {} is not supported; tenant-store speaks the 1.x gRPC API",
                version.version
            )));
        }
        Ok(client)
    }

    /// The per-request server timeout (seconds) every request carries.
    pub(crate) fn server_timeout(&self) -> Option<u64> {
        Some(self.policy.server_timeout_secs())
    }

    /// Runs one request under the timeout and the breaker, mapping gRPC statuses to [`Error`].
    pub(crate) async fn call<T, F, Fut>(
        &self,
        tenant: crate::resilience::Tenant,
        request: F,
    ) -> Result<T>
    where
        F: FnOnce(Qdrant) -> Fut,
        Fut: Future<Output = std::result::Result<T, QdrantError>>,
    {
        let fut = request(self.qdrant.clone());
        self.policy
            .run(tenant, async move { fut.await.map_err(map_error) })
            .await
    }
}

/// gRPC status -> store error. Transport failures and `UNAVAILABLE` count against the breaker.
fn map_error(err: QdrantError) -> Error {
    use tonic::Code;
    let status = match err {
        QdrantError::ResponseError { status } => status,
        QdrantError::ResourceExhaustedError { status, .. } => {
            return Error::Unavailable(status.message().to_owned());
        }
        QdrantError::Io(e) => return Error::Unavailable(e.to_string()),
        QdrantError::ConversionError(e) => return Error::InvalidInput(e),
        other => return Error::Backend(Box::new(other)),
    };
    let message = status.message().to_owned();
    match status.code() {
        Code::InvalidArgument | Code::OutOfRange | Code::FailedPrecondition => {
            Error::InvalidInput(message)
        }
        Code::NotFound => Error::NotFound,
        Code::Unauthenticated | Code::PermissionDenied => Error::Credentials(message),
        Code::AlreadyExists => Error::Duplicate,
        Code::Aborted => Error::Conflict,
        Code::DeadlineExceeded => Error::Timeout(status.message().to_owned()),
        // qdrant-client reports a refused or failed connection as INTERNAL with this message.
        Code::Internal if message.starts_with("Failed to connect") => Error::Unavailable(message),
        Code::Unavailable | Code::Unknown | Code::Cancelled => {
            Error::Unavailable(if message.is_empty() {
                status.to_string()
            } else {
                message
            })
        }
        _ => Error::Backend(Box::new(status)),
    }
}

/// One tenant's view of a [`Client`]: the only way generated Qdrant methods reach points.
pub type Scoped<'c> = crate::Scoped<'c, Client>;

/// How a `filter` field's payload is indexed.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no Qdrant payload index in tenant-store",
    label = "a `filter` field needs a payload index type",
    note = "supported: String and Uuid (keyword), integers (integer), f32/f64 (float), bool, DateTime<Utc> (datetime), and Option/Vec of them"
)]
pub trait PayloadField {
    /// The payload index type.
    const INDEX: FieldType;
}

macro_rules! payload_fields {
    ($($ty:ty => $t:ident),* $(,)?) => {
        $(impl PayloadField for $ty { const INDEX: FieldType = FieldType::$t; })*
    };
}

payload_fields! {
    String => Keyword,
    uuid::Uuid => Keyword,
    i32 => Integer,
    i64 => Integer,
    u32 => Integer,
    f32 => Float,
    f64 => Float,
    bool => Bool,
    chrono::DateTime<chrono::Utc> => Datetime,
}

impl<T: PayloadField> PayloadField for Option<T> {
    const INDEX: FieldType = T::INDEX;
}

impl<T: PayloadField> PayloadField for Vec<T> {
    const INDEX: FieldType = T::INDEX;
}
