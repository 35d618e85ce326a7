//! OpenSearch backend: a shared index with a filtered alias per tenant, promotion of a large
//! tenant to a dedicated index, every call under the shared [`Resilience`] layer.
//!
//! ## Layout
//! For an entity `SearchDoc` with `index = "search"` and tenant `T` (the principal's `org_id` or
//! `user_id`):
//! - `search` is the shared index, created from the entity's mapping;
//! - `search.-search-doc.t.T` is the tenant's alias for the entity: a filter on the scope
//!   field and the entity field, and routing `T`;
//! - `search.-search-doc.d.T` is the tenant's dedicated index once promoted
//!   ([`Store::promote_tenant`]); the alias then points at it alone;
//! - a mapping change rebuilds an index as `<name>.v2`, `.v3`, ... ([`evolve`]).
//!
//! The names are an encoding, not a convention: fields joined by `.`, which no `index` key may
//! hold, and the entity's name with each upper-case letter written `-` and its lower case, which
//! no Rust identifier holds. So two (index, entity, tenant) triples never share a name, and no
//! generated name is an index name a user can choose. A call that deletes an index also checks
//! that it holds only its entity's documents of its tenant.
//!
//! Every document carries `__tenant_store_entity: "SearchDoc"`, and its `_id` is
//! `SearchDoc:T:<id>`: a write through one tenant's alias can never overwrite another tenant's
//! document, nor another entity's that shares the index (and, for a personal org, the tenant
//! id), whatever id it names; every read, count and delete filters on both fields.
//!
//! ## Why an explicit filter too
//! OpenSearch applies alias filters to searches but not to get-by-id, and not to writes. So every
//! read here is a search through the alias that also carries the tenant and entity filter,
//! get-by-id included; writes go through the alias with explicit routing (the alias routing is
//! not applied to writes everywhere); deletes are `_delete_by_query` with the same filter.
//! Writes use `refresh=wait_for` so a write is visible to the next search on real OpenSearch.

pub mod evolve;
mod store;

use std::time::Duration;

use opensearch::auth::Credentials;
use opensearch::cert::{Certificate, CertificateValidation};
use opensearch::http::request::JsonBody;
use opensearch::http::transport::{SingleNodeConnectionPool, Transport, TransportBuilder};
use opensearch::http::{Method, StatusCode, Url, headers::HeaderMap};
use serde_json::Value;
use uuid::Uuid;

use crate::resilience::{CallPolicy, Resilience};
use crate::{Error, Principal, Result};

pub use store::{
    DocVersion, MAX_PAGE, MAX_REGEX_STATES, Promotion, SearchCursor, SearchEntity, SearchPage,
    Store, alias_name, dedicated_index_name,
};

crate::document::guarded_client!();

/// The OpenSearch client this crate is built with, for [`Client::from_transport`].
pub use opensearch;

/// Where an OpenSearch cluster is and how to authenticate to it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct OpenSearchConfig {
    /// `http://host:9200` or `https://host:9200` (credentials may be in it).
    pub url: String,
    /// Basic-authentication user (overrides one in the URL).
    pub username: Option<String>,
    /// Its password.
    pub password: Option<String>,
    /// A private certificate authority (PEM) the server's certificate and host name are
    /// checked against, instead of the system's.
    pub ca_pem: Option<Vec<u8>>,
}

impl OpenSearchConfig {
    /// `url`, nothing else.
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            ..Self::default()
        }
    }

    /// From `TENANT_STORE_OPENSEARCH_URL` (required), `TENANT_STORE_OPENSEARCH_USERNAME`,
    /// `TENANT_STORE_OPENSEARCH_PASSWORD` and `TENANT_STORE_OPENSEARCH_CA_FILE` (a PEM file).
    pub fn from_env() -> Result<Self> {
        let var = |name: &str| std::env::var(name).ok();
        let url = var("TENANT_STORE_OPENSEARCH_URL").ok_or_else(|| {
            Error::InvalidInput(
                "TENANT_STORE_OPENSEARCH_URL is not set (e.g. https://127.0.0.1:9200)".into(),
            )
        })?;
        let ca_pem = match var("TENANT_STORE_OPENSEARCH_CA_FILE") {
            Some(path) => Some(std::fs::read(&path).map_err(|e| {
                Error::InvalidInput(format!("TENANT_STORE_OPENSEARCH_CA_FILE {path}: {e}"))
            })?),
            None => None,
        };
        Ok(Self {
            url,
            username: var("TENANT_STORE_OPENSEARCH_USERNAME"),
            password: var("TENANT_STORE_OPENSEARCH_PASSWORD"),
            ca_pem,
        })
    }
}

impl std::fmt::Debug for OpenSearchConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = Url::parse(&self.url).map_or_else(
            |_| "<unparsable>".to_owned(),
            |mut u| {
                let _ = u.set_password(u.password().map(|_| "<redacted>"));
                u.to_string()
            },
        );
        f.debug_struct("OpenSearchConfig")
            .field("url", &url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("ca_pem", &self.ca_pem.as_ref().map(|_| "<PEM>"))
            .finish()
    }
}

/// `%XX` escapes of a URL's user or password, decoded.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// An OpenSearch connection with timeouts and a circuit breaker. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    transport: Transport,
    policy: CallPolicy,
    /// Whose breaker a call that names none counts against: `None` (the client's own) unless
    /// this is a tenant's copy from [`for_tenant`](Self::for_tenant).
    tenant: crate::resilience::Tenant,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// The handle through which one tenant's documents are reached.
    pub fn scoped(&self, principal: &Principal) -> Scoped<'_> {
        Scoped::new(self, principal)
    }

    /// Connects to `url` (`http://host:port`, or `https://` with the certificate checked
    /// against the system's authorities; `https://user:password@host:port` for basic
    /// authentication) and checks that it answers.
    pub async fn connect(url: &str, resilience: Resilience) -> Result<Self> {
        Self::connect_with(&OpenSearchConfig::new(url), resilience).await
    }

    /// Connects with `config`: the URL, basic-auth credentials, and a private certificate
    /// authority to check the server against (its host name included).
    pub async fn connect_with(config: &OpenSearchConfig, resilience: Resilience) -> Result<Self> {
        let mut url = Url::parse(&config.url)
            .map_err(|e| Error::InvalidInput(format!("bad OpenSearch URL: {e}")))?;
        // Credentials in the URL become basic authentication; the URL keeps none.
        let mut user = (!url.username().is_empty()).then(|| {
            let decode = percent_decode;
            (
                decode(url.username()),
                url.password().map(decode).unwrap_or_default(),
            )
        });
        let _ = url.set_username("");
        let _ = url.set_password(None);
        if let Some(name) = &config.username {
            user = Some((name.clone(), config.password.clone().unwrap_or_default()));
        }
        let endpoint = format!("opensearch at {url}");
        let mut builder = TransportBuilder::new(SingleNodeConnectionPool::new(url))
            .disable_proxy()
            .timeout(resilience.connect_timeout);
        if let Some((name, password)) = user {
            builder = builder.auth(Credentials::Basic(name, password));
        }
        if let Some(pem) = &config.ca_pem {
            let ca = Certificate::from_pem(pem)
                .map_err(|e| Error::InvalidInput(format!("bad certificate authority: {e}")))?;
            builder = builder.cert_validation(CertificateValidation::Full(ca));
        }
        let transport = builder
            .build()
            .map_err(|e| Error::InvalidInput(e.to_string()))?;
        Self::from_transport_at(transport, resilience, endpoint).await
    }

    /// Connects through a transport the application built itself ([`opensearch`] is this
    /// crate's), and checks that the server answers.
    pub async fn from_transport(transport: Transport, resilience: Resilience) -> Result<Self> {
        let endpoint = "opensearch (through the application's transport)".to_owned();
        Self::from_transport_at(transport, resilience, endpoint).await
    }

    async fn from_transport_at(
        transport: Transport,
        resilience: Resilience,
        endpoint: String,
    ) -> Result<Self> {
        let policy = CallPolicy::new(resilience, endpoint)?;
        let client = Self {
            transport,
            policy,
            tenant: None,
        };
        client
            .call(None, Method::Get, "/", None)
            .await
            .and_then(ok)?;
        Ok(client)
    }

    /// The server's name in messages (`opensearch at <url>`).
    pub(crate) fn endpoint(&self) -> &str {
        self.policy.endpoint()
    }

    /// The per-call timeout of the resilience settings.
    pub(crate) fn call_timeout(&self) -> Duration {
        self.policy.settings().timeout
    }

    /// This client for one tenant's multi-step work (offboarding, a promotion, an alias): every
    /// request it sends, the helpers' included, counts against that tenant's breaker.
    pub(crate) fn for_tenant(&self, tenant: crate::resilience::Tenant) -> Client {
        Client {
            tenant,
            ..self.clone()
        }
    }

    /// Sends one request under the timeout and the breaker; returns the status and JSON body.
    /// Transport failures become `Unavailable`/`Timeout`; HTTP statuses are the caller's to read.
    pub(crate) async fn call(
        &self,
        tenant: crate::resilience::Tenant,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value)> {
        let transport = self.transport.clone();
        let tenant = tenant.or(self.tenant);
        let timeout: Duration = self.policy.timeout_for(tenant);
        self.policy
            .run(tenant, async move {
                let response = transport
                    .send(
                        method,
                        path,
                        HeaderMap::new(),
                        None::<&()>,
                        body.map(JsonBody::new),
                        Some(timeout),
                    )
                    .await
                    .map_err(|e| {
                        if e.is_timeout() {
                            Error::Timeout(with_causes(&e))
                        } else {
                            Error::Unavailable(with_causes(&e))
                        }
                    })?;
                let status = response.status_code();
                let text = response
                    .text()
                    .await
                    .map_err(|e| Error::Unavailable(e.to_string()))?;
                let json = if text.is_empty() {
                    Value::Null
                } else {
                    serde_json::from_str(&text).unwrap_or(Value::String(text))
                };
                if status.is_server_error() {
                    // The server answered but cannot serve: counts against the breaker.
                    return Err(Error::Unavailable(format!("{status}: {}", reason(&json))));
                }
                Ok((status, json))
            })
            .await
    }
}

/// `e` and every error under it ("error sending request: ...: invalid peer certificate: ..."),
/// so a TLS or connection failure says what failed.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

/// The error's reason, as OpenSearch reports it.
pub(crate) fn reason(body: &Value) -> String {
    body.pointer("/error/root_cause/0/reason")
        .or_else(|| body.pointer("/error/reason"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| body.to_string())
}

/// Maps a non-success status to the store error; success passes the body through.
pub(crate) fn ok((status, body): (StatusCode, Value)) -> Result<Value> {
    match status.as_u16() {
        200..=299 => Ok(body),
        400 => Err(Error::InvalidInput(reason(&body))),
        401 => Err(Error::Credentials(reason(&body))),
        // Writes refused while a mapping change rebuilds the index: retry after it.
        403 if body.pointer("/error/type").and_then(Value::as_str)
            == Some("cluster_block_exception") =>
        {
            Err(Error::Unavailable(reason(&body)))
        }
        404 => Err(Error::NotFound),
        409 => Err(Error::Conflict),
        429 => Err(Error::Unavailable(reason(&body))),
        _ => Err(Error::Backend(
            format!("{status}: {}", reason(&body)).into(),
        )),
    }
}

/// One tenant's view of a [`Client`]: the only way generated OpenSearch methods reach documents.
pub type Scoped<'c> = crate::Scoped<'c, Client>;

/// How a field type is mapped in the index.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no OpenSearch mapping in tenant-store",
    label = "no mapping for this field",
    note = "supported: String, Uuid (keyword), bool, i32, i64, f32, f64, DateTime<Utc> (date), and Option/Vec of them"
)]
pub trait SearchField {
    /// The mapping `type`.
    const MAPPING: &'static str;
}

macro_rules! fields {
    ($($ty:ty => $m:literal),* $(,)?) => { $(impl SearchField for $ty { const MAPPING: &'static str = $m; })* };
}

fields! {
    String => "keyword",
    Uuid => "keyword",
    bool => "boolean",
    i32 => "integer",
    i64 => "long",
    f32 => "float",
    f64 => "double",
    chrono::DateTime<chrono::Utc> => "date",
}

impl<T: SearchField> SearchField for Option<T> {
    const MAPPING: &'static str = T::MAPPING;
}

impl<T: SearchField> SearchField for Vec<T> {
    const MAPPING: &'static str = T::MAPPING;
}

/// Marks the types a `text` (full-text) field can have.
#[diagnostic::on_unimplemented(
    message = "a `text` field must be a `String` (or `Option<String>`), found `{Self}`",
    label = "not text"
)]
pub trait TextField {}
impl TextField for String {}
impl TextField for Option<String> {}
