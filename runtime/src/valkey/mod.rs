//! Valkey backend: tenant-keyed episodic items with TTL and recency weighting, over one
//! standalone server or a cluster, every call under the shared [`Resilience`] layer.
//!
//! ## Key layout
//! For an entity with `prefix = "episodic"`, tenant `T` (the principal's `user_id` or `org_id`),
//! session `S` and item id `I`:
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `episodic:{T}:S:I` | string | the item as JSON, with its TTL |
//! | `episodic:{T}:S:~recent` | sorted set | item ids scored by insertion order (newest highest) |
//! | `episodic:{T}:S:~weight` | sorted set | item ids scored by their decayed weight |
//! | `episodic:{T}:S:~seq` | string | the session's insertion counter |
//!
//! `{T}` is a hash tag: every key of one tenant hashes to one cluster slot, so the multi-key
//! commands and scripts below never meet `CROSSSLOT`. Session and item ids may not contain `:`,
//! `{`, `}` or control characters, nor start with `~` (the index keys' marker), so two different
//! (session, item) pairs can never name the same key. Index keys live as long as the longest-lived
//! item written into them; an expired item's id is dropped from the indexes when a listing meets it.
//!
//! ## Entities that change
//! Items are JSON, read by the struct as it is now. A field added later reads as its default from
//! older items when it is an `Option` or carries `#[serde(default)]`; without either, reading an
//! older item is an error that names the field (never a made-up value). A field removed later is
//! ignored when older items are read, unless the struct has `#[serde(deny_unknown_fields)]`.
//! `tests/tests/valkey.rs` (`shapes`) reads items across three versions of one entity.
//!
//! ## Tenant boundary
//! Keys are built only from a [`Scoped`] handle, made from a `&Principal` by
//! [`Client::scoped`]: no generated method takes a raw tenant id. Reading another tenant's
//! session id through one's own handle addresses one's own (empty) keyspace, so it looks absent.

mod store;

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::{FromRedisValue, RedisError};

use crate::resilience::{CallPolicy, Resilience};
use crate::{Error, Principal, Result};

pub use crate::document::Document;
pub use store::{MAX_LIMIT, Store, ValkeyEntity};

crate::document::guarded_client!();

#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

/// A Valkey connection (standalone or cluster) with timeouts and a circuit breaker. Cheap to
/// clone; clones share the connection and the breaker.
#[derive(Clone)]
pub struct Client {
    conn: Conn,
    policy: CallPolicy,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.conn {
            Conn::Single(_) => "standalone",
            Conn::Cluster(_) => "cluster",
        };
        f.debug_struct("Client")
            .field("kind", &kind)
            .field("policy", &self.policy)
            .finish()
    }
}

/// The Valkey client this crate is built with, for [`Client::from_client`].
pub use redis;

impl From<RedisError> for Error {
    fn from(e: RedisError) -> Self {
        if e.is_timeout() {
            Error::Timeout(e.to_string())
        } else if e.is_connection_refusal() || e.is_connection_dropped() || e.is_io_error() {
            Error::Unavailable(e.to_string())
        } else {
            Error::Backend(Box::new(e))
        }
    }
}

impl Client {
    /// The handle through which one tenant's keys are reached.
    pub fn scoped(&self, principal: &Principal) -> Scoped<'_> {
        Scoped::new(self, principal)
    }

    /// Connects to one server: `redis://host:port`, or `rediss://host:port` for TLS (the
    /// server's certificate checked against the public web roots; for a private authority,
    /// build the client with `redis::Client::build_with_tls` and use
    /// [`from_client`](Self::from_client)). Credentials go in the URL
    /// (`rediss://user:password@host:port`). A refused or silent server fails within the
    /// resilience connect timeout with [`Error::Unavailable`] or [`Error::Timeout`], naming the
    /// address.
    pub async fn connect(url: &str, resilience: Resilience) -> Result<Self> {
        let client = redis::Client::open(url).map_err(|e| Error::InvalidInput(e.to_string()))?;
        Self::from_client(client, resilience).await
    }

    /// [`connect`](Self::connect) to `TENANT_STORE_VALKEY_URL` (`rediss://user:password@host:port`).
    pub async fn connect_from_env(resilience: Resilience) -> Result<Self> {
        let url = std::env::var("TENANT_STORE_VALKEY_URL").map_err(|_| {
            Error::InvalidInput(
                "TENANT_STORE_VALKEY_URL is not set (e.g. rediss://host:6379)".into(),
            )
        })?;
        Self::connect(&url, resilience).await
    }

    /// Connects through a client the application built itself (TLS with its own authority or
    /// client certificate, say). [`redis`] is this crate's, so the versions match.
    pub async fn from_client(client: redis::Client, resilience: Resilience) -> Result<Self> {
        crate::install_tls_provider();
        let at = client.get_connection_info().addr().to_string();
        let policy = CallPolicy::new(resilience, format!("valkey at {at}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(resilience.connect_timeout))
            .set_response_timeout(Some(resilience.timeout))
            .set_number_of_retries(1);
        let conn = policy
            .run(None, async {
                Ok(ConnectionManager::new_with_config(client, config).await?)
            })
            .await?;
        Ok(Self {
            conn: Conn::Single(conn),
            policy,
        })
    }

    /// Connects to a cluster through any of its nodes (`redis://` or `rediss://` URLs).
    pub async fn connect_cluster(urls: &[&str], resilience: Resilience) -> Result<Self> {
        crate::install_tls_provider();
        let policy = CallPolicy::new(resilience, format!("valkey cluster at {}", urls.join(", ")))?;
        let client = redis::cluster::ClusterClient::builder(urls.iter().copied())
            .connection_timeout(resilience.connect_timeout)
            .response_timeout(resilience.timeout)
            .retries(1)
            .build()
            .map_err(|e| Error::InvalidInput(e.to_string()))?;
        let conn = policy
            .run(None, async { Ok(client.get_async_connection().await?) })
            .await?;
        Ok(Self {
            conn: Conn::Cluster(conn),
            policy,
        })
    }

    /// Runs one command under the timeout and the breaker.
    pub(crate) async fn query<T: FromRedisValue>(
        &self,
        tenant: crate::resilience::Tenant,
        cmd: &redis::Cmd,
    ) -> Result<T> {
        let conn = self.conn.clone();
        self.policy
            .run(tenant, async move {
                Ok(match conn {
                    Conn::Single(mut c) => cmd.query_async(&mut c).await?,
                    Conn::Cluster(mut c) => cmd.query_async(&mut c).await?,
                })
            })
            .await
    }

    /// Runs a Lua script under the timeout and the breaker.
    pub(crate) async fn script<T: FromRedisValue>(
        &self,
        tenant: crate::resilience::Tenant,
        inv: redis::ScriptInvocation<'_>,
    ) -> Result<T> {
        let conn = self.conn.clone();
        self.policy
            .run(tenant, async move {
                Ok(match conn {
                    Conn::Single(mut c) => inv.invoke_async(&mut c).await?,
                    Conn::Cluster(mut c) => inv.invoke_async(&mut c).await?,
                })
            })
            .await
    }
}

/// One tenant's view of a [`Client`]: the only way generated Valkey methods reach keys.
pub type Scoped<'c> = crate::Scoped<'c, Client>;

/// Checks a caller-supplied key part (session id, item id).
pub(crate) fn check_part(what: &str, part: &str) -> Result<()> {
    let bad = part.is_empty()
        || part.len() > 512
        || part.starts_with('~')
        || part
            .chars()
            .any(|c| matches!(c, ':' | '{' | '}') || c.is_control());
    if bad {
        return Err(Error::InvalidInput(format!(
            "{what} {part:?} is not a valid key part: 1 to 512 bytes, no `:`, `{{`, `}}` or control characters, not starting with `~`"
        )));
    }
    Ok(())
}

/// The default time to live when an entity sets none: items do not expire.
pub(crate) fn ttl_millis(ttl: Option<Duration>) -> Result<Option<u64>> {
    match ttl {
        None => Ok(None),
        Some(d) if d.is_zero() => Err(Error::InvalidInput("a TTL must be longer than zero".into())),
        Some(d) => Ok(Some(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))),
    }
}
