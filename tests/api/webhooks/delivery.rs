//! Enqueue and the happy path: one signed POST per event, idempotent enqueue, order per call,
//! the per-call views and redelivery.

use std::time::Duration;

use callplane::webhooks::{self, EventType, attempts_for_call, deliveries_for_call, redeliver};
use serde_json::Value;
use uuid::Uuid;

use super::receiver::{Receiver, Reply, signature_is_valid};
use super::{SECRET, app_posting_to, completed, enqueue, eventually, wait_for_status};
use crate::helpers::TestApp;

#[tokio::test]
async fn a_completed_call_is_posted_once_with_standard_webhooks_headers_and_a_valid_signature() {
    let receiver = Receiver::start(vec![]).await;
    let app = app_posting_to(&receiver.url(), |_| {}).await;
    let call = Uuid::new_v4();
    let event = completed(call);

    let id = enqueue(&app.pool, &event).await;
    let delivery = wait_for_status(&app.pool, call, "delivered").await;
    // Several more polls: a delivered event is not sent again.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let got = receiver.received();
    assert_eq!(got.len(), 1, "exactly one request");
    let r = &got[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/hooks/calls");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("webhook-id"), Some(id.as_str()));
    assert!(id.starts_with("msg_"), "{id}");
    let ts: i64 = r.header("webhook-timestamp").unwrap().parse().unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!(
        (now - ts).abs() < 60,
        "timestamp {ts} is Unix seconds near {now}"
    );
    assert!(signature_is_valid(SECRET, r), "{:?}", r.headers);
    assert_eq!(r.body, event.to_body());
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["type"], "call.completed");
    assert_eq!(body["call_uuid"], call.to_string());
    assert_eq!(body["ext_data"], "order=42");

    assert_eq!(delivery.webhook_id, id);
    assert_eq!(delivery.attempts, 1);
    assert!(delivery.delivered_at.is_some() && delivery.next_attempt_at.is_none());
    let attempts = attempts_for_call(&app.pool, call).await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].status_code, Some(200));
    assert_eq!(attempts[0].error, None);
    assert!(attempts[0].latency_ms.is_some());
}

#[tokio::test]
async fn without_a_secret_the_post_carries_no_signature() {
    let receiver = Receiver::start(vec![]).await;
    let app = app_posting_to(&receiver.url(), |w| w.secret = None).await;
    let call = Uuid::new_v4();
    let id = enqueue(&app.pool, &completed(call)).await;
    wait_for_status(&app.pool, call, "delivered").await;
    let got = receiver.received();
    assert_eq!(got[0].header("webhook-id"), Some(id.as_str()));
    assert!(got[0].header("webhook-timestamp").is_some());
    assert_eq!(got[0].header("webhook-signature"), None);
}

#[tokio::test]
async fn a_repeated_completion_enqueues_one_event_and_returns_the_first_id() {
    let app = TestApp::spawn().await; // no webhook URL: rows are kept, nothing is sent
    let call = Uuid::new_v4();
    let first = enqueue(&app.pool, &completed(call)).await;
    let again = enqueue(&app.pool, &completed(call)).await;
    assert_eq!(first, again);

    let mut ready = completed(call);
    ready.event_type = EventType::RecordingReady;
    let second = enqueue(&app.pool, &ready).await;
    assert_ne!(first, second);
    assert_eq!(app.count("webhook_outbox").await, 2);

    let d = deliveries_for_call(&app.pool, call).await.unwrap();
    let kinds: Vec<_> = d
        .iter()
        .map(|d| (d.event_type.as_str(), d.status.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("call.completed", "pending"),
            ("call.recording_ready", "pending")
        ]
    );
}

#[tokio::test]
async fn an_event_enqueued_in_a_rolled_back_transaction_does_not_exist() {
    let app = TestApp::spawn().await;
    let mut tx = app.pool.begin().await.unwrap();
    webhooks::enqueue(&mut tx, &completed(Uuid::new_v4()))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(app.count("webhook_outbox").await, 0);
}

#[tokio::test]
async fn a_later_event_of_a_call_waits_until_the_earlier_one_is_delivered() {
    let receiver = Receiver::start(vec![Reply::status(500), Reply::status(500)]).await;
    let app = app_posting_to(&receiver.url(), |_| {}).await;
    let call = Uuid::new_v4();
    let mut ready = completed(call);
    ready.event_type = EventType::RecordingReady;
    enqueue(&app.pool, &completed(call)).await;
    enqueue(&app.pool, &ready).await;

    eventually("both events delivered", || async {
        let d = deliveries_for_call(&app.pool, call).await.unwrap();
        d.iter().all(|d| d.status == "delivered").then_some(())
    })
    .await;
    let types: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| serde_json::from_str::<Value>(&r.body).unwrap()["type"].to_string())
        .collect();
    assert_eq!(
        types,
        [
            "\"call.completed\"",
            "\"call.completed\"",
            "\"call.completed\"",
            "\"call.recording_ready\""
        ]
    );
}

#[tokio::test]
async fn redeliver_sends_a_delivered_event_again_with_the_same_id() {
    let receiver = Receiver::start(vec![]).await;
    let app = app_posting_to(&receiver.url(), |_| {}).await;
    let call = Uuid::new_v4();
    let id = enqueue(&app.pool, &completed(call)).await;
    wait_for_status(&app.pool, call, "delivered").await;

    assert!(redeliver(&app.pool, &id).await.unwrap());
    eventually("a second request", || async {
        (receiver.received().len() == 2).then_some(())
    })
    .await;
    let d = wait_for_status(&app.pool, call, "delivered").await;
    assert_eq!(d.attempts, 2);
    let got = receiver.received();
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    assert!(!redeliver(&app.pool, "msg_unknown").await.unwrap());
}

#[tokio::test]
async fn during_a_secret_rotation_receivers_verify_with_either_secret() {
    const OLD: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let receiver = Receiver::start(vec![]).await;
    let app = app_posting_to(&receiver.url(), |w| {
        w.previous_secret = Some(callplane::config::Secret::new(OLD));
    })
    .await;
    let call = Uuid::new_v4();
    enqueue(&app.pool, &completed(call)).await;
    wait_for_status(&app.pool, call, "delivered").await;
    let r = &receiver.received()[0];
    assert!(signature_is_valid(SECRET, r), "new secret verifies");
    assert!(signature_is_valid(OLD, r), "old secret verifies");
    assert_eq!(r.header("webhook-signature").unwrap().split(' ').count(), 2);
}
