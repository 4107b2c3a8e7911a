//! The delivery worker: claims due outbox rows, POSTs each one, logs the attempt and
//! reschedules or settles the row. All state is in Postgres, so a restart (or a second
//! replica) picks up exactly where the outbox says.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, LOCATION, RETRY_AFTER};
use sqlx::PgPool;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::Settings;
use super::schedule::{Verdict, parse_retry_after, random_jitter, verdict};
use super::signing::signature_header;
use crate::store::webhooks::{self as outbox, AttemptRecord, Claimed, Next};

/// How much of a response body is read. Enough to drain ordinary answers so the
/// connection can be reused; a receiver that streams more is not waited for (W4).
const BODY_READ_CAP: usize = 64 * 1024;
/// How much of a failing response body is kept in the attempt's error, for the operator.
const ERROR_EXCERPT: usize = 256;

/// A cheap handle on the worker's shared parts.
#[derive(Clone)]
pub struct Worker {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    client: reqwest::Client,
    settings: Settings,
}

/// What one request saw.
struct Seen {
    status: Option<u16>,
    retry_after: Option<Duration>,
    error: Option<String>,
}

impl Worker {
    /// Builds the HTTP client: redirects are not followed (a 3xx is a failed attempt, W3, so a
    /// receiver cannot bounce us to an internal address), and both timeouts are bounded (W4).
    pub fn new(pool: PgPool, settings: Settings) -> Result<Worker, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("callplane/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Worker {
            inner: Arc::new(Inner {
                pool,
                client,
                settings,
            }),
        })
    }

    /// Runs the worker until `stop` turns true. The task finishes the batch in flight; the
    /// owner bounds how long it waits for that.
    pub fn start(self, stop: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(self.run(stop))
    }

    async fn run(self, mut stop: watch::Receiver<bool>) {
        let poll = self.inner.settings.poll_interval;
        let mut failing = false;
        loop {
            if *stop.borrow() {
                return;
            }
            let busy = match self.tick().await {
                Ok(busy) => {
                    if failing {
                        tracing::info!("webhook outbox reachable again, delivering");
                        failing = false;
                    }
                    busy
                }
                Err(e) => {
                    // A database outage pauses deliveries; nothing is lost (D5). Say so once.
                    if !failing {
                        tracing::warn!(error = %e, "webhook outbox unavailable, deliveries paused");
                        failing = true;
                    }
                    false
                }
            };
            if !busy {
                tokio::select! {
                    _ = tokio::time::sleep(poll) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }

    /// One round: expire stale backlog, claim a batch and deliver it concurrently. Returns
    /// true when something was claimed, so the loop looks again at once (a delivered event
    /// may have unblocked the next event of the same call).
    async fn tick(&self) -> Result<bool, crate::store::StoreError> {
        let s = &self.inner.settings;
        let expired = outbox::expire_unsent(&self.inner.pool, s.limits.retry_for).await?;
        if expired > 0 {
            tracing::warn!(
                count = expired,
                "webhooks never sent: their retry window ended first"
            );
        }
        let claimed = outbox::claim_due(
            &self.inner.pool,
            s.batch_size.into(),
            s.lease(),
            s.limits.retry_for,
        )
        .await?;
        let busy = !claimed.is_empty();
        let mut set = JoinSet::new();
        for c in claimed {
            let w = self.clone();
            set.spawn(async move { w.deliver(c).await });
        }
        while set.join_next().await.is_some() {}
        Ok(busy)
    }

    async fn deliver(&self, c: Claimed) {
        let s = &self.inner.settings;
        let started = Instant::now();
        let seen = self.post(&c).await;
        let latency_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        let attempt_no = u32::try_from(c.attempts).unwrap_or(1);
        let v = verdict(
            seen.status,
            seen.retry_after,
            attempt_no,
            &s.backoff,
            random_jitter(),
        );
        let next = match v {
            Verdict::Delivered => Next::Delivered,
            Verdict::Retry(d) => Next::RetryAfter(d),
            Verdict::Stop => Next::Stop,
        };
        let record = AttemptRecord {
            status_code: seen.status.map(i32::from),
            latency_ms,
            error: seen.error,
        };
        match v {
            Verdict::Delivered => tracing::info!(
                webhook.id = %c.webhook_id, call.uuid = %c.call_uuid, attempt = c.attempts,
                status = seen.status, duration_ms = latency_ms, "webhook delivered"
            ),
            _ => tracing::warn!(
                webhook.id = %c.webhook_id, call.uuid = %c.call_uuid, attempt = c.attempts,
                status = seen.status, duration_ms = latency_ms,
                error = record.error.as_deref().unwrap_or(""), ?next, "webhook attempt failed"
            ),
        }
        match outbox::finish_attempt(&self.inner.pool, &c, &record, next, s.limits).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                webhook.id = %c.webhook_id,
                "webhook row changed during the attempt (lease expired or redelivered); left as is"
            ),
            // The lease runs out and the event is sent again: at least once, never lost.
            Err(e) => tracing::warn!(
                webhook.id = %c.webhook_id, error = %e,
                "could not record the webhook attempt; it will be retried"
            ),
        }
    }

    async fn post(&self, c: &Claimed) -> Seen {
        let s = &self.inner.settings;
        let mut req = self
            .inner
            .client
            .post(&s.url)
            .header(CONTENT_TYPE, "application/json")
            .header("webhook-id", &c.webhook_id)
            .header("webhook-timestamp", c.now_unix.to_string())
            .body(c.body.clone());
        if let Some(sig) = signature_header(&s.keys, &c.webhook_id, c.now_unix, c.body.as_bytes()) {
            req = req.header("webhook-signature", sig);
        }
        let mut resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                return Seen {
                    status: None,
                    retry_after: None,
                    error: Some(describe(e)),
                };
            }
        };
        let status = resp.status();
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let retry_after = header(RETRY_AFTER).and_then(|v| parse_retry_after(&v, c.now_unix));
        let location = header(LOCATION);
        let body = read_capped(&mut resp).await;
        let error = if status.is_success() {
            None
        } else {
            let mut e = format!("HTTP {status}");
            if let Some(loc) = location.filter(|_| status.is_redirection()) {
                e.push_str(&format!(": redirect to {loc} not followed"));
            }
            let excerpt = String::from_utf8_lossy(&body[..body.len().min(ERROR_EXCERPT)]);
            let excerpt = excerpt.trim();
            if !excerpt.is_empty() {
                e.push_str(&format!(": {excerpt}"));
            }
            Some(e)
        };
        Seen {
            status: Some(status.as_u16()),
            retry_after,
            error,
        }
    }
}

/// Reads at most `BODY_READ_CAP` bytes; errors and the rest are ignored, because the status
/// line already carried the answer.
async fn read_capped(resp: &mut reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < BODY_READ_CAP {
        match resp.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(BODY_READ_CAP);
    body
}

/// The error and its causes, without the URL (it may carry a token the operator put there).
fn describe(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connect failed"
    } else {
        "request failed"
    };
    let e = e.without_url();
    let mut text = kind.to_string();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
