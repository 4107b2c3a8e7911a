//! C14 and C22: a client's retry storm and a switch at its call rate. Over a limit the
//! click-to-call answers 429 with `Retry-After` and the envelope, before anything is stored
//! or sent; a switch that refuses a call it accepted fails the call, not the request.

use callplane::config::Secret;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::rig::{Rig, ZJ, outcome};
use crate::helpers::read;

const KEY_A: &str = "tenant-a-key-0123456789";
const KEY_B: &str = "tenant-b-key-0123456789";

async fn call_as(rig: &Rig, key: Option<&str>, body: Value) -> (StatusCode, Option<u64>, Value) {
    let mut req = rig
        .app
        .client
        .post(rig.app.url("/v1/call/callback"))
        .json(&body);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let res = req.send().await.unwrap();
    let retry_after = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
    let (status, body) = read(res).await;
    (status, retry_after, body)
}

#[tokio::test]
async fn a_key_over_its_rate_gets_429_with_retry_after_and_nothing_is_placed() {
    let rig = Rig::new(&["a"], |c| {
        c.api.keys = vec![Secret::new(KEY_A), Secret::new(KEY_B)];
        // One token per 1000 s: the test cannot outlast the wait.
        c.limits.callback_per_key_per_sec = 0.001;
        c.limits.callback_per_key_burst = 2;
    })
    .await;
    let body = json!({"caller": "1001", "callee": ZJ});
    for _ in 0..2 {
        let (status, _, b) = call_as(&rig, Some(KEY_A), body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{b}");
    }
    let (status, retry_after, b) = call_as(&rig, Some(KEY_A), body.clone()).await;
    assert_eq!(
        (status, b["code"].as_u64()),
        (StatusCode::TOO_MANY_REQUESTS, Some(42900)),
        "{b}"
    );
    assert!(
        retry_after.is_some_and(|s| (1..=1000).contains(&s)),
        "{retry_after:?}"
    );
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .contains("callback_per_key_per_sec"),
        "{b}"
    );
    // An invalid request over the limit is refused for the rate, not read.
    let (status, _, _) = call_as(&rig, Some(KEY_A), json!({"caller": "${x}"})).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        rig.originates().len(),
        2,
        "the refused requests reached no switch"
    );
    assert_eq!(rig.app.count("calls").await, 2, "and stored nothing");

    // Another key has its own bucket; a wrong key is a 401 and uses none.
    let (status, _, b) = call_as(&rig, Some(KEY_B), body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{b}");
    let (status, _, _) = call_as(&rig, Some("wrong-key-0123456789abc"), body.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Other routes are not limited.
    let res = rig
        .app
        .client
        .get(rig.app.url("/v1/call/list"))
        .bearer_auth(KEY_A)
        .send()
        .await;
    assert_eq!(res.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn over_the_node_call_rate_click_to_call_gets_429_before_the_switch_must_refuse() {
    let rig = Rig::new(&["a"], |c| c.limits.callback_per_node_per_sec = 0.001).await;
    let (status, _, b) = call_as(&rig, None, json!({"caller": "1001", "callee": ZJ})).await;
    assert_eq!(status, StatusCode::OK, "{b}");
    let (status, retry_after, b) = call_as(
        &rig,
        None,
        json!({"caller": "1002", "callee": "13000960001"}),
    )
    .await;
    assert_eq!(
        (status, b["code"].as_u64()),
        (StatusCode::TOO_MANY_REQUESTS, Some(42901)),
        "{b}"
    );
    assert!(retry_after.is_some_and(|s| s >= 1), "{retry_after:?}");
    assert_eq!(rig.originates().len(), 1);
    assert_eq!(rig.app.count("calls").await, 1);
}

#[tokio::test]
async fn freeswitch_refusing_a_call_for_load_fails_the_call_and_tries_the_next_line() {
    // At max-sessions or sessions-per-second FreeSWITCH still takes the bgapi job, then fails
    // the originate; callplane has already answered 200 (the contract: accepted once the job
    // is), so the outcome is the call's, reported with its cause, never a 500.
    let rig = Rig::new(&["a", "b"], |_| {}).await;
    for cause in [
        "SWITCH_CONGESTION",
        "NORMAL_TEMPORARY_FAILURE",
        "DESTINATION_OUT_OF_ORDER",
    ] {
        rig.sim.script(outcome(ZJ, "fail", Some(cause)));
        let (status, body) = rig.call(json!({"caller": "1001", "callee": ZJ})).await;
        assert_eq!(status, StatusCode::OK, "{cause}: {body}");
        assert_eq!(body["data"]["gateways"], json!(["a", "b"]));
        let call = rig.ended(body["data"]["call_uuid"].as_str().unwrap()).await;
        assert_eq!(
            (
                call["state"].as_str(),
                call["status"].as_str(),
                call["hangup_cause"].as_str()
            ),
            (Some("failed"), Some("failed"), Some(cause)),
            "{call}"
        );
        let tried: Vec<&Value> = call["legs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["role"] == "callee" && l["created_at"].is_string())
            .collect();
        assert_eq!(
            tried.len(),
            2,
            "{cause}: the load failure moved on to line b: {call}"
        );
    }
}
