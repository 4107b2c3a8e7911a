//! Webhook delivery against a real HTTP receiver: signing and headers, retries, restarts,
//! several workers on one database, redirects, Retry-After, 410 and the retry window.
//!
//! Backoff is configured in milliseconds here, so retries take moments instead of minutes;
//! the schedule itself is unit-tested in `webhooks::schedule`.

mod backlog;
mod delivery;
pub mod receiver;
mod redeliver;
mod replicas;
mod retries;

use std::future::Future;
use std::time::{Duration, Instant};

use callplane::config::{Config, DbUrl, WebhookConfig};
use callplane::webhooks::{
    self, CallStatus, Delivery, EventType, Recording, WebhookEvent, deliveries_for_call,
};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{TestApp, pg_base};

/// A Standard Webhooks secret for the tests.
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Fast retries: 50 ms backoff base, 20 ms polling, short timeouts.
pub fn fast(w: &mut WebhookConfig, url: &str) {
    w.url = Some(url.to_string());
    w.secret = Some(callplane::config::Secret::new(SECRET));
    w.backoff_base_ms = 50;
    w.backoff_max_secs = 1;
    w.poll_interval_ms = 20;
    w.connect_timeout_ms = 1000;
    w.timeout_ms = 3000;
}

/// The app with its webhook worker pointed at `url`, then `adjust`ed.
pub async fn app_posting_to(url: &str, adjust: impl FnOnce(&mut WebhookConfig)) -> TestApp {
    TestApp::spawn_with(|c| {
        fast(&mut c.webhook, url);
        adjust(&mut c.webhook);
    })
    .await
}

pub fn completed(call_uuid: Uuid) -> WebhookEvent {
    WebhookEvent {
        event_type: EventType::CallCompleted,
        call_uuid,
        caller: "1001".into(),
        callee: "13800138000".into(),
        gateway: Some("carrier-a".into()),
        ext_data: Some("order=42".into()),
        status: CallStatus::NoAnswer,
        hangup_cause: "NO_ANSWER".into(),
        cdr: None,
        caller_cdr: None,
        recording: Recording::absent(),
    }
}

/// Enqueues in a transaction of its own, as the call lifecycle does with its state change.
pub async fn enqueue(pool: &PgPool, event: &WebhookEvent) -> String {
    let mut tx = pool.begin().await.unwrap();
    let id = webhooks::enqueue(&mut tx, event).await.unwrap();
    tx.commit().await.unwrap();
    id
}

/// Polls `check` every 20 ms until it yields a value; fails the test after 15 s.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The call's only event once it has reached `status`.
pub async fn wait_for_status(pool: &PgPool, call: Uuid, status: &str) -> Delivery {
    eventually(&format!("the event to be {status}"), || async {
        let d = deliveries_for_call(pool, call).await.unwrap();
        d.into_iter().find(|d| d.status == status)
    })
    .await
}

/// A second (or third) replica: the same application built on an existing test database,
/// stopped by `stop` or on drop without dropping the database.
pub struct Replica {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Replica {
    pub async fn start(db: &TestApp, adjust: impl FnOnce(&mut WebhookConfig)) -> Replica {
        let url = format!("{}/{}", pg_base(), db.db_name);
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            database_url: DbUrl::new(url.clone()),
            ..Config::default()
        };
        adjust(&mut config.webhook);
        config.validate().expect("test configuration is valid");
        let pool = callplane::store::connect(&url, &config.database)
            .await
            .unwrap();
        let app = callplane::app::build(config, pool).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(app.serve(listener, async {
            let _ = rx.await;
        }));
        Replica {
            stop: Some(tx),
            served: Some(served),
        }
    }

    /// Shuts the replica down the way SIGTERM does and waits until it has stopped.
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        let served = self.served.take().unwrap();
        tokio::time::timeout(Duration::from_secs(10), served)
            .await
            .expect("the replica stops within its shutdown bound")
            .unwrap()
            .unwrap();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
