//! The webhook receiver down for a long time. Paused tokio time cannot drive a worker whose
//! clock is Postgres's `now()`, so the drill runs the production schedule compressed instead
//! (20 ms backoff base, 1 s cap: `rig::fast_webhooks`); the schedule itself is unit-tested in
//! `webhooks::schedule`. The receiver first answers 503 for many attempts, then refuses
//! connections for many more (a proxy in front of it is cut), then comes back: every event is
//! delivered, each exactly once with a 2xx, under one `webhook-id` across all its attempts, and
//! a call's second event is never sent before its first was delivered.

use std::collections::HashMap;
use std::time::Duration;

use callplane::webhooks::{
    self, CallStatus, EventType, Recording, WebhookEvent, attempts_for_call,
};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::proxy::Proxy;
use crate::receiver::{Receiver, Reply, url_at};
use crate::rig::{eventually, fast_webhooks};

fn event(call: Uuid, event_type: EventType) -> WebhookEvent {
    WebhookEvent {
        event_type,
        call_uuid: call,
        caller: "1001".into(),
        callee: "13800138000".into(),
        gateway: Some("carrier-a".into()),
        ext_data: None,
        status: CallStatus::Answered,
        hangup_cause: "NORMAL_CLEARING".into(),
        cdr: None,
        caller_cdr: None,
        recording: Recording::absent(),
    }
}

/// Every call has at least `n` attempts whose status `matches`.
async fn each_call_has(
    app: &TestApp,
    calls: &[Uuid],
    n: usize,
    matches: impl Fn(Option<i32>) -> bool,
) -> bool {
    for c in calls {
        let a = attempts_for_call(&app.pool, *c).await.unwrap();
        if a.iter().filter(|a| matches(a.status_code)).count() < n {
            return false;
        }
    }
    true
}

#[tokio::test]
async fn receiver_down_for_many_attempts_gets_every_event_once_in_order_with_one_id() {
    let receiver = Receiver::start(vec![]).await;
    receiver.then_always(Reply::status(503));
    let front = Proxy::start(receiver.addr).await;
    let app = TestApp::spawn_with(|c| fast_webhooks(&mut c.webhook, &url_at(front.addr))).await;

    // Each call has two events, enqueued in order as the call lifecycle does.
    let calls: Vec<Uuid> = (0..6).map(|_| Uuid::new_v4()).collect();
    let mut ids: HashMap<String, (Uuid, &str)> = HashMap::new();
    for c in &calls {
        for t in [EventType::CallCompleted, EventType::RecordingReady] {
            let mut tx = app.pool.begin().await.unwrap();
            let id = webhooks::enqueue(&mut tx, &event(*c, t)).await.unwrap();
            tx.commit().await.unwrap();
            ids.insert(id, (*c, t.as_str()));
        }
    }

    // Down, answering 503, for several attempts of every call's first event...
    eventually("three 503s per call", Duration::from_secs(20), || async {
        each_call_has(&app, &calls, 3, |s| s == Some(503))
            .await
            .then_some(())
    })
    .await;
    // ...then gone altogether, refusing connections, for several more.
    front.cut();
    eventually(
        "three refused attempts per call",
        Duration::from_secs(20),
        || async {
            each_call_has(&app, &calls, 3, |s| s.is_none())
                .await
                .then_some(())
        },
    )
    .await;

    // Back.
    receiver.then_always(Reply::status(200));
    front.restore();
    eventually("every event delivered", Duration::from_secs(20), || async {
        let left: i64 =
            sqlx::query_scalar("SELECT count(*) FROM webhook_outbox WHERE status <> 'delivered'")
                .fetch_one(&app.pool)
                .await
                .unwrap();
        (left == 0).then_some(())
    })
    .await;

    for c in &calls {
        let attempts = attempts_for_call(&app.pool, *c).await.unwrap();
        let delivered: Vec<_> = attempts
            .iter()
            .filter(|a| a.status_code == Some(200))
            .collect();
        // Once each, first event first.
        let types: Vec<&str> = delivered.iter().map(|a| a.event_type.as_str()).collect();
        assert_eq!(types, ["call.completed", "call.recording_ready"], "{c}");
        // The second event was never tried before the first was delivered.
        let first_ok = attempts
            .iter()
            .position(|a| a.status_code == Some(200))
            .unwrap();
        assert!(
            attempts[..first_ok]
                .iter()
                .all(|a| a.event_type == "call.completed"),
            "{attempts:?}"
        );
        // Many failed attempts, all under the event's one id.
        let completed_ids: Vec<&str> = attempts
            .iter()
            .filter(|a| a.event_type == "call.completed")
            .map(|a| a.webhook_id.as_str())
            .collect();
        assert!(completed_ids.len() >= 7, "{attempts:?}");
        assert!(completed_ids.iter().all(|id| *id == completed_ids[0]));
    }

    // What the receiver saw: every request under the id of the event in its body; across all
    // attempts, exactly one 2xx per event.
    let got = receiver.received();
    let mut seen_ids = std::collections::HashSet::new();
    for r in &got {
        let id = r.header("webhook-id").unwrap().to_string();
        let body: Value = serde_json::from_str(&r.body).unwrap();
        let (call, t) = ids[&id];
        assert_eq!(body["call_uuid"], call.to_string());
        assert_eq!(body["type"], t);
        seen_ids.insert(id);
    }
    assert_eq!(
        seen_ids.len(),
        ids.len(),
        "every event reached the receiver"
    );
    let delivered: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM webhook_attempts WHERE status_code BETWEEN 200 AND 299",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(delivered, ids.len() as i64);
}
