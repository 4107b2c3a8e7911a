//! `POST /v1/webhook/redeliver`: an event is sent again with the same `webhook-id`, and the
//! new attempt shows in the call detail beside the first.

use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use super::receiver::Receiver;
use super::{app_posting_to, completed, enqueue, eventually, wait_for_status};
use crate::helpers::{TestApp, assert_invalid};

/// A call row for the detail page to show the events of.
async fn call_row(app: &TestApp, call: Uuid) {
    sqlx::query(
        "INSERT INTO calls (uuid, caller, callee, state, status, hangup_cause)
         VALUES ($1, '1001', '13800138000', 'completed', 'no_answer', 'NO_ANSWER')",
    )
    .bind(call)
    .execute(&app.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn redeliver_sends_the_same_webhook_id_again_and_the_attempt_shows_in_call_detail() {
    let receiver = Receiver::start(vec![]).await;
    let app = app_posting_to(&receiver.url(), |_| {}).await;
    let call = Uuid::new_v4();
    call_row(&app, call).await;
    let id = enqueue(&app.pool, &completed(call)).await;
    wait_for_status(&app.pool, call, "delivered").await;

    let (status, body) = app
        .post("/v1/webhook/redeliver", json!({"webhook_id": id}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["webhook_id"], id);
    assert_eq!(body["data"]["event_type"], "call.completed");

    eventually("the second request", || async {
        (receiver.received().len() == 2).then_some(())
    })
    .await;
    let got = receiver.received();
    assert_eq!(got[0].header("webhook-id"), Some(id.as_str()));
    assert_eq!(got[1].header("webhook-id"), Some(id.as_str()));
    assert_eq!(got[0].body, got[1].body, "the same message");

    let detail = eventually("both attempts in the call detail", || async {
        let (_, d) = app.get(&format!("/v1/call/detail?uuid={call}")).await;
        (d["data"]["webhook_attempts"].as_array().unwrap().len() == 2
            && d["data"]["webhooks"][0]["status"] == "delivered")
            .then_some(d)
    })
    .await;
    let d = &detail["data"];
    assert_eq!(d["webhooks"][0]["attempts"], 2);
    for a in d["webhook_attempts"].as_array().unwrap() {
        assert_eq!(a["webhook_id"], id);
        assert_eq!(a["status_code"], 200);
    }
}

#[tokio::test]
async fn redeliver_names_a_missing_or_malformed_id_and_404s_an_unknown_one() {
    let receiver = Receiver::start(vec![]).await;
    let app = app_posting_to(&receiver.url(), |_| {}).await;
    assert_invalid(
        &app.post("/v1/webhook/redeliver", json!({})).await,
        "webhook_id",
    );
    for bad in ["", "../etc", "msg 1", "msg_1;drop", &"a".repeat(65)] {
        let res = app
            .post("/v1/webhook/redeliver", json!({"webhook_id": bad}))
            .await;
        assert_invalid(&res, "webhook_id");
    }
    let (status, body) = app
        .post(
            "/v1/webhook/redeliver",
            json!({"webhook_id": "msg_unknown"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body["message"].as_str().unwrap().contains("msg_unknown"));
    let res = app
        .post(
            "/v1/webhook/redeliver",
            json!({"webhook_id": "msg_1", "extra": 1}),
        )
        .await;
    assert_eq!(res.0, StatusCode::BAD_REQUEST, "unknown fields are refused");
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn redeliver_without_a_webhook_url_is_a_conflict_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let call = Uuid::new_v4();
    let id = enqueue(&app.pool, &completed(call)).await;
    sqlx::query("UPDATE webhook_outbox SET status = 'failed' WHERE webhook_id = $1")
        .bind(&id)
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, body) = app
        .post("/v1/webhook/redeliver", json!({"webhook_id": id}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("CALLPLANE_WEBHOOK_URL"),
        "{body}"
    );
    let status: String =
        sqlx::query_scalar("SELECT status FROM webhook_outbox WHERE webhook_id = $1")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(status, "failed");
}
