//! The resilience layer every network backend shares: a per-call timeout and a circuit breaker.
//!
//! Each call runs under `tokio::time::timeout`; a call that does not finish in time yields
//! [`Error::Timeout`], so no call hangs. Calls that fail with [`Error::Unavailable`] or
//! [`Error::Timeout`] count as failures for the breaker (other errors, such as a rejected
//! command, mean the server answered and count as successes). After `failure_threshold`
//! consecutive failures the breaker opens: calls fail at once with `Error::Unavailable` without
//! touching the network. After `open_for` it lets one probe through (half-open); a probe that
//! succeeds closes it, one that fails opens it again.
//!
//! The breaker is [`failsafe`](https://docs.rs/failsafe)'s `StateMachine` with a
//! consecutive-failures policy and a constant back-off.

use std::future::Future;
use std::time::Duration;

use failsafe::futures::CircuitBreaker as _;
use failsafe::{StateMachine, backoff, failure_policy};

use crate::{Error, Result};

/// Timeout and circuit-breaker settings of one backend client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resilience {
    /// The longest one call may take, connecting included.
    pub timeout: Duration,
    /// Consecutive failures (unavailable or timed out) that open the breaker.
    pub failure_threshold: u32,
    /// How long the breaker stays open before it lets a probe through.
    pub open_for: Duration,
}

impl Default for Resilience {
    /// 1 s per call, open after 5 consecutive failures, probe again after 2 s.
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(1),
            failure_threshold: 5,
            open_for: Duration::from_secs(2),
        }
    }
}

type Breaker = StateMachine<failure_policy::ConsecutiveFailures<backoff::Constant>, ()>;

/// Runs calls under the timeout and the breaker. Cheap to clone; clones share the breaker.
#[derive(Clone)]
pub(crate) struct Guard {
    settings: Resilience,
    breaker: Breaker,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Guard {
    pub(crate) fn new(settings: Resilience) -> Result<Self> {
        if settings.timeout.is_zero()
            || settings.failure_threshold == 0
            || settings.open_for.is_zero()
        {
            return Err(Error::InvalidInput(
                "resilience settings need a non-zero timeout, failure threshold and open time"
                    .into(),
            ));
        }
        let policy = failure_policy::consecutive_failures(
            settings.failure_threshold,
            backoff::constant(settings.open_for),
        );
        Ok(Self {
            settings,
            breaker: failsafe::Config::new().failure_policy(policy).build(),
        })
    }

    #[cfg_attr(not(feature = "opensearch"), allow(dead_code))]
    pub(crate) fn settings(&self) -> Resilience {
        self.settings
    }

    /// Whether the breaker currently rejects calls.
    pub(crate) fn is_open(&self) -> bool {
        !self.breaker.is_call_permitted()
    }

    /// Runs `call` under the timeout and the breaker.
    pub(crate) async fn run<T, F>(&self, call: F) -> Result<T>
    where
        F: Future<Output = Result<T>>,
    {
        let timeout = self.settings.timeout;
        let timed = async move {
            tokio::time::timeout(timeout, call)
                .await
                .unwrap_or(Err(Error::Timeout))
        };
        let counts_as_failure = |e: &Error| matches!(e, Error::Unavailable(_) | Error::Timeout);
        match self.breaker.call_with(counts_as_failure, timed).await {
            Ok(v) => Ok(v),
            Err(failsafe::Error::Inner(e)) => Err(e),
            Err(failsafe::Error::Rejected) => Err(Error::Unavailable(
                "circuit breaker open after repeated failures; calls fail fast until a probe succeeds".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Resilience {
        Resilience {
            timeout: Duration::from_millis(50),
            failure_threshold: 2,
            open_for: Duration::from_millis(100),
        }
    }

    #[tokio::test]
    async fn a_slow_call_times_out() {
        let g = Guard::new(settings()).unwrap();
        let r: Result<()> = g
            .run(async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(())
            })
            .await;
        assert!(matches!(r, Err(Error::Timeout)), "{r:?}");
    }

    #[tokio::test]
    async fn the_breaker_opens_after_consecutive_failures_and_closes_after_a_good_probe() {
        let g = Guard::new(settings()).unwrap();
        for _ in 0..2 {
            let r: Result<()> = g
                .run(async { Err(Error::Unavailable("down".into())) })
                .await;
            assert!(matches!(r, Err(Error::Unavailable(m)) if m == "down"));
        }
        assert!(g.is_open());
        // Open: rejected without running the call.
        let r: Result<()> = g.run(async { panic!("must not run while open") }).await;
        assert!(
            matches!(&r, Err(Error::Unavailable(m)) if m.contains("circuit breaker open")),
            "{r:?}"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(g.run(async { Ok(7) }).await.unwrap(), 7);
        assert!(!g.is_open());
    }

    #[tokio::test]
    async fn errors_from_a_live_server_do_not_open_the_breaker() {
        let g = Guard::new(settings()).unwrap();
        for _ in 0..5 {
            let r: Result<()> = g
                .run(async { Err(Error::InvalidInput("bad".into())) })
                .await;
            assert!(r.is_err());
        }
        assert!(!g.is_open());
    }

    #[test]
    fn zero_settings_are_rejected() {
        let bad = Resilience {
            timeout: Duration::ZERO,
            ..Resilience::default()
        };
        assert!(matches!(Guard::new(bad), Err(Error::InvalidInput(_))));
    }
}
