//! The resilience layer every network backend shares: a per-call timeout and a circuit breaker.
//!
//! Each call runs under `tokio::time::timeout`; a call that does not finish in time yields
//! [`Error::Timeout`], so no call hangs. Connecting, and the client's own set-up calls
//! (migrations, index and collection set-up), get [`Resilience::connect_timeout`] instead: a
//! loaded machine may take longer to open a connection than to answer a query on it. Every
//! timeout and every unreachable-server error names the backend and its address. After `failure_threshold` consecutive failures a breaker
//! opens: calls fail at once with `Error::Unavailable` without touching the network. After
//! `open_for` it lets one probe through (half-open); a probe that succeeds closes it, one that
//! fails opens it again.
//!
//! ## Whose failure is it
//! One tenant must not open the breaker for all, so there are two kinds of breaker:
//! - **the backend's**, shared by every caller, counts only [`Error::Unavailable`]: the server
//!   refused or dropped the connection, which no query can cause;
//! - **one per tenant** (the tenant the store is scoped by: a user for a user-scoped entity, an
//!   org for an org-scoped one), counts [`Error::Timeout`]: a query that ran too long may be
//!   the server's fault or the query's, so it costs only the tenant that sent it. Every call
//!   made for a tenant counts there (reads, writes, deletes, offboarding, alias and index
//!   moves); only the client's own calls (connecting, migrations, index set-up) count as the
//!   client's.
//!   A tenant sending slow queries fails fast after the threshold; the others go on. When the
//!   whole server hangs, every tenant's breaker opens after its own threshold.
//!
//! Errors from a server that answered (invalid query, not found, ...) count for nothing.
//! Per-tenant breakers live in a map bounded by [`MAX_TENANT_BREAKERS`]: when it is full,
//! closed breakers are dropped (they hold no state worth keeping).
//!
//! The breakers are [`failsafe`](https://docs.rs/failsafe)'s `StateMachine` with a
//! consecutive-failures policy and a constant back-off.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use uuid::Uuid;

use failsafe::futures::CircuitBreaker as _;
use failsafe::{StateMachine, backoff, failure_policy};

use crate::{Error, Result, Scope};

/// Whose per-tenant breaker a call counts against: the tenant a store is scoped by (its scope
/// and id), or `None` for the client's own calls.
pub(crate) type Tenant = Option<(Scope, Uuid)>;

/// Timeout and circuit-breaker settings of one backend client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resilience {
    /// The longest one call may take.
    pub timeout: Duration,
    /// The longest connecting may take, and each of the client's own set-up calls (the check
    /// that the server answers, migrations, index and collection set-up).
    pub connect_timeout: Duration,
    /// Consecutive failures (unavailable or timed out) that open the breaker.
    pub failure_threshold: u32,
    /// How long the breaker stays open before it lets a probe through.
    pub open_for: Duration,
}

impl Default for Resilience {
    /// 1 s per call, 30 s to connect, open after 5 consecutive failures, probe again after 2 s.
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(30),
            failure_threshold: 5,
            open_for: Duration::from_secs(2),
        }
    }
}

type Breaker = StateMachine<failure_policy::ConsecutiveFailures<backoff::Constant>, ()>;

/// Refuses a page larger than `max`: what one query may return is bounded, so one tenant cannot
/// make the server (or this process) materialise an unbounded result.
#[cfg_attr(not(any(feature = "opensearch", feature = "qdrant")), allow(dead_code))]
pub(crate) fn check_cap(what: &str, n: usize, max: usize) -> Result<()> {
    if n > max {
        return Err(Error::InvalidInput(format!(
            "{what} {n} is over the maximum {max}"
        )));
    }
    Ok(())
}

/// The most per-tenant breakers one client keeps (see the module docs).
pub const MAX_TENANT_BREAKERS: usize = 10_000;

/// Runs calls under the timeout and the breakers. Cheap to clone; clones share the breakers.
#[derive(Clone)]
pub(crate) struct CallPolicy {
    settings: Resilience,
    /// The backend's breaker: connection faults only.
    breaker: Breaker,
    /// One breaker per tenant: timeouts. `None` is the client's own calls (connect, migrations).
    tenants: Arc<Mutex<HashMap<Tenant, Breaker>>>,
    /// Seals the cursors of this client's listings (random unless the application sets one).
    cursor_key: crate::query::CursorKey,
    /// The backend and its address, which every timeout and unreachable-server error names:
    /// `neo4j at bolt://127.0.0.1:7687`.
    endpoint: Arc<str>,
}

impl std::fmt::Debug for CallPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallPolicy")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl CallPolicy {
    /// A policy for calls to `endpoint` (the backend and its address, for messages).
    pub(crate) fn new(settings: Resilience, endpoint: String) -> Result<Self> {
        if settings.timeout.is_zero()
            || settings.connect_timeout.is_zero()
            || settings.failure_threshold == 0
            || settings.open_for.is_zero()
        {
            return Err(Error::InvalidInput(
                "resilience settings need non-zero timeouts, failure threshold and open time"
                    .into(),
            ));
        }
        Ok(Self {
            settings,
            breaker: Self::breaker(settings),
            tenants: Arc::default(),
            cursor_key: crate::query::CursorKey::random(),
            endpoint: endpoint.into(),
        })
    }

    /// The backend and its address, as messages name them.
    #[cfg_attr(not(feature = "opensearch"), allow(dead_code))]
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// How long one call of `tenant` may take: the call timeout, or the connect timeout for the
    /// client's own calls (`None`).
    pub(crate) fn timeout_for(&self, tenant: Tenant) -> Duration {
        match tenant {
            Some(_) => self.settings.timeout,
            None => self.settings.connect_timeout,
        }
    }

    /// The key listings seal their cursors with.
    #[cfg_attr(not(feature = "document"), allow(dead_code))]
    pub(crate) fn cursor_key(&self) -> &crate::query::CursorKey {
        &self.cursor_key
    }

    #[cfg_attr(not(feature = "document"), allow(dead_code))]
    pub(crate) fn set_cursor_key(&mut self, key: crate::query::CursorKey) {
        self.cursor_key = key;
    }

    fn breaker(settings: Resilience) -> Breaker {
        let policy = failure_policy::consecutive_failures(
            settings.failure_threshold,
            backoff::constant(settings.open_for),
        );
        failsafe::Config::new().failure_policy(policy).build()
    }

    fn tenant_breaker(&self, tenant: Tenant) -> Breaker {
        let mut map = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        if !map.contains_key(&tenant) && map.len() >= MAX_TENANT_BREAKERS {
            map.retain(|_, b| !b.is_call_permitted());
        }
        map.entry(tenant)
            .or_insert_with(|| Self::breaker(self.settings))
            .clone()
    }

    #[cfg_attr(not(feature = "opensearch"), allow(dead_code))]
    pub(crate) fn settings(&self) -> Resilience {
        self.settings
    }

    /// The call timeout in whole seconds (at least 1), for servers that take a per-request
    /// timeout in seconds: the server stops work the client has stopped waiting for.
    #[cfg_attr(not(feature = "qdrant"), allow(dead_code))]
    pub(crate) fn server_timeout_secs(&self) -> u64 {
        self.settings.timeout.as_secs().max(1) + u64::from(self.settings.timeout.subsec_nanos() > 0)
    }

    /// Whether the backend's breaker currently rejects calls.
    pub(crate) fn is_open(&self) -> bool {
        !self.breaker.is_call_permitted()
    }

    /// Whether `tenant`'s breaker currently rejects its calls.
    pub(crate) fn is_open_for(&self, tenant: (Scope, Uuid)) -> bool {
        let map = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&Some(tenant))
            .is_some_and(|b| !b.is_call_permitted())
    }

    /// Runs `call` for `tenant` under the timeout and both breakers.
    pub(crate) async fn run<T, F>(&self, tenant: Tenant, call: F) -> Result<T>
    where
        F: Future<Output = Result<T>>,
    {
        let timeout = self.timeout_for(tenant);
        let timed = async move {
            tokio::time::timeout(timeout, call)
                .await
                .unwrap_or_else(|_| {
                    Err(Error::Timeout(format!(
                        "no answer within {} ms",
                        timeout.as_millis()
                    )))
                })
                .map_err(|e| e.at(&self.endpoint))
        };
        let shared = self
            .breaker
            .call_with(|e: &Error| matches!(e, Error::Unavailable(_)), timed);
        let per_tenant = self.tenant_breaker(tenant).call_with(
            |e: &Error| matches!(e, Error::Timeout(_)),
            async {
                match shared.await {
                    Ok(v) => Ok(v),
                    Err(failsafe::Error::Inner(e)) => Err(e),
                    Err(failsafe::Error::Rejected) => Err(Error::Unavailable(format!(
                        "{}: circuit breaker open after repeated connection failures; calls \
                         fail fast until a probe succeeds",
                        self.endpoint
                    ))),
                }
            },
        );
        // Boxed: two nested breakers make the future deep enough to overflow the compiler's
        // layout recursion in callers' async fns; one allocation per network call is noise.
        match Box::pin(per_tenant).await {
            Ok(v) => Ok(v),
            Err(failsafe::Error::Inner(e)) => Err(e),
            Err(failsafe::Error::Rejected) => Err(Error::Unavailable(match tenant {
                Some((scope, id)) => format!(
                    "{}: circuit breaker open for tenant {} {id} after repeated timeouts; its \
                     calls fail fast until a probe succeeds (other tenants are unaffected)",
                    self.endpoint,
                    scope.as_str()
                ),
                None => format!(
                    "{}: circuit breaker open for this client's own calls after repeated \
                     timeouts; they fail fast until a probe succeeds",
                    self.endpoint
                ),
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Resilience {
        Resilience {
            timeout: Duration::from_millis(50),
            connect_timeout: Duration::from_millis(80),
            failure_threshold: 2,
            open_for: Duration::from_millis(100),
        }
    }

    fn policy() -> CallPolicy {
        CallPolicy::new(settings(), "valkey at 127.0.0.1:1".into()).unwrap()
    }

    /// How long a call that never ends takes to fail, and with what.
    async fn never(g: &CallPolicy, tenant: Tenant) -> (Duration, Result<()>) {
        let start = std::time::Instant::now();
        let r = g
            .run(tenant, async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(())
            })
            .await;
        (start.elapsed(), r)
    }

    #[tokio::test]
    async fn a_slow_call_times_out_naming_the_backend_and_address() {
        let g = policy();
        let (took, r) = never(&g, Some((Scope::OrgId, Uuid::new_v4()))).await;
        assert!(
            matches!(&r, Err(Error::Timeout(m)) if m == "valkey at 127.0.0.1:1: no answer within 50 ms"),
            "{r:?}"
        );
        assert!(took < Duration::from_millis(80), "{took:?}");
        // The client's own calls (connecting, set-up) have the connect timeout.
        let (took, r) = never(&g, None).await;
        assert!(
            matches!(&r, Err(Error::Timeout(m)) if m.ends_with("no answer within 80 ms")),
            "{r:?}"
        );
        assert!(took >= Duration::from_millis(80), "{took:?}");
        // An unreachable server is named too, once.
        let r: Result<()> = g
            .run(None, async {
                Err(Error::Unavailable("connection refused".into()))
            })
            .await;
        assert!(
            matches!(&r, Err(Error::Unavailable(m)) if m == "valkey at 127.0.0.1:1: connection refused"),
            "{r:?}"
        );
    }

    #[tokio::test]
    async fn the_breaker_opens_after_consecutive_failures_and_closes_after_a_good_probe() {
        let g = policy();
        for _ in 0..2 {
            let r: Result<()> = g
                .run(None, async { Err(Error::Unavailable("down".into())) })
                .await;
            assert!(matches!(r, Err(Error::Unavailable(m)) if m.ends_with(": down")));
        }
        assert!(g.is_open());
        // Open: rejected without running the call.
        let r: Result<()> = g
            .run(None, async { panic!("must not run while open") })
            .await;
        assert!(
            matches!(&r, Err(Error::Unavailable(m)) if m.contains("circuit breaker open")),
            "{r:?}"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(g.run(None, async { Ok(7) }).await.unwrap(), 7);
        assert!(!g.is_open());
    }

    #[tokio::test]
    async fn errors_from_a_live_server_do_not_open_the_breaker() {
        let g = policy();
        for _ in 0..5 {
            let r: Result<()> = g
                .run(None, async { Err(Error::InvalidInput("bad".into())) })
                .await;
            assert!(r.is_err());
        }
        assert!(!g.is_open());
    }

    #[tokio::test]
    async fn one_tenants_timeouts_open_only_its_own_breaker() {
        let g = policy();
        let (slow, other) = (Uuid::new_v4(), Uuid::new_v4());
        for _ in 0..3 {
            let r: Result<()> = g
                .run(Some((Scope::OrgId, slow)), async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    Ok(())
                })
                .await;
            assert!(r.is_err());
        }
        assert!(g.is_open_for((Scope::OrgId, slow)));
        let r: Result<()> = g
            .run(Some((Scope::OrgId, slow)), async {
                panic!("must not run while open")
            })
            .await;
        // The message says whose breaker is open.
        let whose = format!("for tenant org_id {slow}");
        assert!(
            matches!(&r, Err(Error::Unavailable(m)) if m.contains(&whose)),
            "{r:?}"
        );
        // The other tenant, and the backend, are unaffected.
        assert!(!g.is_open() && !g.is_open_for((Scope::OrgId, other)));
        assert_eq!(
            g.run(Some((Scope::OrgId, other)), async { Ok(1) })
                .await
                .unwrap(),
            1
        );
    }

    #[tokio::test]
    async fn connection_faults_open_the_backends_breaker_for_everyone() {
        let g = policy();
        for _ in 0..2 {
            let _: Result<()> = g
                .run(Some((Scope::OrgId, Uuid::new_v4())), async {
                    Err(Error::Unavailable("refused".into()))
                })
                .await;
        }
        assert!(g.is_open());
        let r: Result<()> = g
            .run(Some((Scope::OrgId, Uuid::new_v4())), async { Ok(()) })
            .await;
        assert!(
            matches!(&r, Err(Error::Unavailable(m)) if m.contains("connection failures")),
            "{r:?}"
        );
    }

    #[tokio::test]
    async fn the_tenant_map_stays_bounded() {
        let g = policy();
        for _ in 0..MAX_TENANT_BREAKERS + 10 {
            g.run(Some((Scope::OrgId, Uuid::new_v4())), async { Ok(()) })
                .await
                .unwrap();
        }
        assert!(g.tenants.lock().unwrap().len() <= MAX_TENANT_BREAKERS);
    }

    #[test]
    fn zero_settings_are_rejected() {
        let bad = Resilience {
            timeout: Duration::ZERO,
            ..Resilience::default()
        };
        assert!(matches!(
            CallPolicy::new(bad, String::new()),
            Err(Error::InvalidInput(_))
        ));
    }
}
