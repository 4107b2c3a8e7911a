//! Admission limits on click-to-call (`POST /v1/call/callback`, HOSTILE_INPUTS C14 and C22):
//! a token bucket per API key, so that one client's retry storm cannot crowd out the others,
//! and a cap on click-to-calls per second per connected FreeSWITCH node, so that callplane
//! stays under the switch's own `sessions-per-second` (switch.conf.xml, 30 by default). Past
//! that limit FreeSWITCH accepts the `bgapi` job and then fails the originate, which the caller
//! only learns from the webhook; refusing up front with 429 and `Retry-After` tells it to slow
//! down now. Both limits are off by default (`[limits]` in config/default.toml).
//!
//! The check runs after authentication and before the body is read, so a refused request
//! costs no parsing and no database work. It counts requests, not originates: a request
//! refused later (invalid number, no line) has still used its token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::Method;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use crate::config::LimitsConfig;
use crate::esl::SupervisorHandle;

/// The route the limits apply to.
pub const CALLBACK_PATH: &str = "/v1/call/callback";

/// A token bucket: `rate` tokens per second, at most `burst` saved up.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn full(burst: f64, now: Instant) -> Self {
        Bucket {
            tokens: burst,
            last: now,
        }
    }

    /// Takes one token, or says how long until one is there.
    fn take(&mut self, rate: f64, burst: f64, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate))
        }
    }
}

/// Why a request was refused, and when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This API key is over `limits.callback_per_key_per_sec`.
    Key(Duration),
    /// All callers together are over `limits.callback_per_node_per_sec` times the nodes.
    Nodes(Duration),
}

/// The limiter's state: one bucket per API key seen (bounded by the configured keys, since
/// only authenticated requests get here) and one shared by all callers for the node cap.
pub struct Limits {
    config: LimitsConfig,
    per_key: Mutex<HashMap<[u8; 32], Bucket>>,
    nodes: Mutex<Option<Bucket>>,
}

impl Limits {
    pub fn new(config: LimitsConfig) -> Self {
        Limits {
            config,
            per_key: Mutex::new(HashMap::new()),
            nodes: Mutex::new(None),
        }
    }

    /// Admits one request from `key` (the digest of its API key; all zeros without keys) while
    /// `connected_nodes` FreeSWITCH nodes are connected.
    pub fn admit(
        &self,
        key: [u8; 32],
        connected_nodes: usize,
        now: Instant,
    ) -> Result<(), Refusal> {
        let c = &self.config;
        if c.callback_per_key_per_sec > 0.0 {
            let (rate, burst) = (c.callback_per_key_per_sec, c.callback_per_key_burst as f64);
            let mut buckets = self.per_key.lock().unwrap_or_else(|p| p.into_inner());
            buckets
                .entry(key)
                .or_insert_with(|| Bucket::full(burst, now))
                .take(rate, burst, now)
                .map_err(Refusal::Key)?;
        }
        // With no node connected there is nothing to protect; the handler answers 503.
        if c.callback_per_node_per_sec > 0.0 && connected_nodes > 0 {
            let rate = c.callback_per_node_per_sec * connected_nodes as f64;
            // One second's worth may arrive at once, and always at least one call.
            let burst = rate.max(1.0);
            let mut bucket = self.nodes.lock().unwrap_or_else(|p| p.into_inner());
            bucket
                .get_or_insert_with(|| Bucket::full(burst, now))
                .take(rate, burst, now)
                .map_err(Refusal::Nodes)?;
        }
        Ok(())
    }

    fn enabled(&self) -> bool {
        self.config.callback_per_key_per_sec > 0.0 || self.config.callback_per_node_per_sec > 0.0
    }
}

/// What the middleware needs: the limits and the node connections.
#[derive(Clone)]
pub struct Admission {
    pub limits: Arc<Limits>,
    pub esl: SupervisorHandle,
}

/// Middleware for the `/v1` routes; only `POST /v1/call/callback` is counted.
pub async fn admit(State(a): State<Admission>, req: Request, next: Next) -> Response {
    if !a.limits.enabled() || req.method() != Method::POST || req.uri().path() != CALLBACK_PATH {
        return next.run(req).await;
    }
    // The key was checked by the auth layer; only its digest is kept, never the key.
    let key: [u8; 32] = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|k| Sha256::digest(k.trim().as_bytes()).into())
        .unwrap_or([0; 32]);
    let nodes = a.esl.connected().len();
    match a.limits.admit(key, nodes, Instant::now()) {
        Ok(()) => next.run(req).await,
        Err(refusal) => {
            let (wait, scope) = match refusal {
                Refusal::Key(w) => (w, "api_key"),
                Refusal::Nodes(w) => (w, "freeswitch_nodes"),
            };
            tracing::info!(
                route = CALLBACK_PATH,
                limit = scope,
                "click-to-call refused: rate limit"
            );
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            match refusal {
                Refusal::Key(_) => ApiError::KeyRateLimited(secs),
                Refusal::Nodes(_) => ApiError::NodeRateLimited(secs),
            }
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_key: f64, burst: u32, per_node: f64) -> Limits {
        Limits::new(LimitsConfig {
            callback_per_key_per_sec: per_key,
            callback_per_key_burst: burst,
            callback_per_node_per_sec: per_node,
        })
    }

    #[test]
    fn a_key_gets_its_burst_then_waits_for_the_rate() {
        let l = limits(2.0, 3, 0.0);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.admit([1; 32], 1, t0), Ok(()));
        }
        assert_eq!(
            l.admit([1; 32], 1, t0),
            Err(Refusal::Key(Duration::from_millis(500)))
        );
        // Another key has its own bucket.
        assert_eq!(l.admit([2; 32], 1, t0), Ok(()));
        // Half a second later one token is back, and only one.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(l.admit([1; 32], 1, t1), Ok(()));
        assert!(matches!(l.admit([1; 32], 1, t1), Err(Refusal::Key(_))));
        // A long pause refills up to the burst, not beyond.
        let t2 = t1 + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(l.admit([1; 32], 1, t2), Ok(()));
        }
        assert!(l.admit([1; 32], 1, t2).is_err());
    }

    #[test]
    fn the_node_cap_scales_with_connected_nodes_and_ignores_none() {
        let l = limits(0.0, 1, 5.0);
        let t0 = Instant::now();
        for _ in 0..10 {
            assert_eq!(l.admit([0; 32], 2, t0), Ok(()));
        }
        assert_eq!(
            l.admit([0; 32], 2, t0),
            Err(Refusal::Nodes(Duration::from_millis(100)))
        );
        assert_eq!(l.admit([0; 32], 0, t0), Ok(()), "no node: not limited here");
    }

    #[test]
    fn off_by_default() {
        let l = Limits::new(LimitsConfig::default());
        assert!(!l.enabled());
        let t0 = Instant::now();
        for _ in 0..10_000 {
            assert_eq!(l.admit([0; 32], 1, t0), Ok(()));
        }
    }
}
