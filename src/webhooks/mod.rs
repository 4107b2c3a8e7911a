//! Call webhooks, from enqueue to delivery.
//!
//! - [`enqueue`] writes an outbox row inside the caller's transaction, so a webhook exists
//!   exactly when the state change it reports was committed; at most one per call and event
//!   type, whoever calls it how often.
//! - [`Worker`] claims due rows (`FOR UPDATE SKIP LOCKED`, safe with several replicas), POSTs
//!   them with Standard Webhooks headers, logs every attempt and retries with exponential
//!   backoff and jitter until `webhook.retry_for_secs` has passed. Delivery is at least once:
//!   a crash between the receiver's 2xx and our bookkeeping sends the same `webhook-id`
//!   again, and receivers dedupe on it.
//! - [`deliveries_for_call`], [`attempts_for_call`] and [`redeliver`] serve the call detail
//!   and an operator's "send again".
//!
//! Rows are written whether or not a webhook URL is configured: without one no worker runs
//! and they stay `pending` (the call detail shows what would have been sent). Once a URL is
//! set, events still inside their retry window are delivered; older ones are marked `failed`
//! unsent rather than flooding the receiver with history.

pub mod payload;
pub mod schedule;
pub mod signing;
pub mod worker;

use std::time::Duration;

use sqlx::PgConnection;

pub use crate::store::webhooks::{
    Attempt, Delivery, RetryLimits, attempts_for_call, deliveries_for_call, delivery, redeliver,
};
pub use payload::{CallStatus, CdrSummary, EventType, Recording, RecordingStatus, WebhookEvent};
pub use schedule::Backoff;
pub use signing::SigningKey;
pub use worker::Worker;

use crate::config::{ConfigError, WebhookConfig};
use crate::store::{self, StoreError};

/// Queues `event` for delivery inside the caller's transaction and returns its `webhook-id`
/// (the `webhook-id` header, stable across retries). If the call already has an event of
/// this type, nothing is written and the first event's id is returned.
pub async fn enqueue(conn: &mut PgConnection, event: &WebhookEvent) -> Result<String, StoreError> {
    let webhook_id = format!("msg_{}", uuid::Uuid::new_v4().simple());
    store::webhooks::insert_once(
        conn,
        &webhook_id,
        event.call_uuid,
        event.event_type.as_str(),
        &event.to_body(),
    )
    .await
}

/// Checks `[webhook]` for `Config::validate`: the error names the first bad key, and never
/// echoes a secret.
pub fn check_config(w: &WebhookConfig) -> Result<(), ConfigError> {
    let bad = |key: &str, problem: &str| ConfigError {
        key: key.into(),
        problem: problem.into(),
    };
    if let Some(s) = &w.secret {
        SigningKey::parse(s.expose())
            .map_err(|p| bad("webhook.secret (CALLPLANE_WEBHOOK_SECRET)", &p))?;
    }
    if let Some(s) = &w.previous_secret {
        if w.secret.is_none() {
            return Err(bad(
                "webhook.previous_secret",
                "only makes sense next to webhook.secret (CALLPLANE_WEBHOOK_SECRET)",
            ));
        }
        SigningKey::parse(s.expose()).map_err(|p| bad("webhook.previous_secret", &p))?;
    }
    let positive = [
        ("webhook.retry_for_secs", w.retry_for_secs),
        ("webhook.backoff_base_ms", w.backoff_base_ms),
        ("webhook.backoff_max_secs", w.backoff_max_secs),
        ("webhook.retry_after_max_secs", w.retry_after_max_secs),
        ("webhook.connect_timeout_ms", w.connect_timeout_ms),
        ("webhook.timeout_ms", w.timeout_ms),
        ("webhook.poll_interval_ms", w.poll_interval_ms),
        ("webhook.batch_size", w.batch_size.into()),
    ];
    if let Some((key, _)) = positive.iter().find(|(_, v)| *v == 0) {
        return Err(bad(key, "must be at least 1"));
    }
    if w.timeout_ms > 300_000 {
        return Err(bad(
            "webhook.timeout_ms",
            "must be at most 300000 (5 minutes)",
        ));
    }
    Ok(())
}

/// Everything the worker needs, checked and converted from `[webhook]`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub url: String,
    /// The current key, then the previous one during a rotation. Empty: requests go out
    /// without `webhook-signature` (the service warns at start).
    pub keys: Vec<SigningKey>,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub poll_interval: Duration,
    /// Rows claimed, and requests in flight, per round on each replica.
    pub batch_size: u16,
    pub backoff: Backoff,
    pub limits: RetryLimits,
}

impl Settings {
    /// `None` when no URL is configured: webhooks are disabled.
    pub fn from_config(cfg: &WebhookConfig) -> Result<Option<Settings>, String> {
        let Some(url) = &cfg.url else {
            return Ok(None);
        };
        let keys = [&cfg.secret, &cfg.previous_secret]
            .into_iter()
            .flatten()
            .map(|s| SigningKey::parse(s.expose()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Settings {
            url: url.clone(),
            keys,
            connect_timeout: Duration::from_millis(cfg.connect_timeout_ms),
            timeout: Duration::from_millis(cfg.timeout_ms),
            poll_interval: Duration::from_millis(cfg.poll_interval_ms),
            batch_size: cfg.batch_size,
            backoff: Backoff {
                base: Duration::from_millis(cfg.backoff_base_ms),
                max: Duration::from_secs(cfg.backoff_max_secs),
                retry_after_max: Duration::from_secs(cfg.retry_after_max_secs),
            },
            limits: RetryLimits {
                retry_for: Duration::from_secs(cfg.retry_for_secs),
                max_attempts: i32::try_from(cfg.max_attempts).unwrap_or(i32::MAX),
            },
        }))
    }

    /// How long a claimed row is reserved for the worker that claimed it: longer than any
    /// request can take, so another replica never sends it while the first is still waiting
    /// for an answer; short enough that a crashed worker's rows come back soon.
    pub fn lease(&self) -> Duration {
        self.timeout + Duration::from_secs(30)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Secret};

    #[test]
    fn no_url_means_webhooks_are_disabled() {
        assert!(
            Settings::from_config(&WebhookConfig::default())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn settings_carry_the_configured_schedule_and_a_lease_longer_than_a_request() {
        let cfg = WebhookConfig {
            url: Some("https://crm.example.com/hooks".into()),
            secret: Some(Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")),
            ..WebhookConfig::default()
        };
        let s = Settings::from_config(&cfg).unwrap().unwrap();
        assert_eq!(s.keys.len(), 1);
        assert_eq!(s.limits.retry_for, Duration::from_secs(86_400));
        assert_eq!(s.limits.max_attempts, 0);
        assert_eq!(s.backoff.base, Duration::from_secs(5));
        assert_eq!(s.connect_timeout, Duration::from_secs(5));
        assert_eq!(s.timeout, Duration::from_secs(20));
        assert!(s.lease() > s.timeout);
    }

    #[test]
    fn a_malformed_whsec_secret_stops_the_service_at_start_by_name() {
        let mut cfg = Config::default();
        cfg.webhook.url = Some("https://crm.example.com/hooks".into());
        cfg.webhook.secret = Some(Secret::new("whsec_***"));
        let e = cfg.validate().unwrap_err();
        assert_eq!(e.key, "webhook.secret (CALLPLANE_WEBHOOK_SECRET)");
        assert!(!e.to_string().contains("***"), "{e}");

        cfg.webhook.secret = Some(Secret::new("a plain shared password"));
        cfg.validate().unwrap();
        cfg.webhook.poll_interval_ms = 0;
        assert_eq!(cfg.validate().unwrap_err().key, "webhook.poll_interval_ms");
    }
}
