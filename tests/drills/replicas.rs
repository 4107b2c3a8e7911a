//! Two replicas on one database, both connected to the same simulated FreeSWITCH: each
//! webhook is delivered once, a callee's daily limit holds when both replicas get requests
//! for that callee at the same moment, and a line's concurrency cap holds across both.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::receiver::{Receiver, url_at};
use crate::rig::{Api, LINE, Replica, ended, eventually, fast_calls, fast_webhooks, start_sim};

/// Replica A (owning the database) and replica B, with `extra` line settings.
async fn two_replicas(
    sim: &fsim::Sim,
    webhook: Option<String>,
    extra: Value,
) -> (TestApp, Replica, Api, Api) {
    let esl = sim.addr();
    let hook = webhook.clone();
    let a = TestApp::spawn_with(|c| {
        fast_calls(c, esl);
        if let Some(url) = &hook {
            fast_webhooks(&mut c.webhook, url);
        }
    })
    .await;
    let b = Replica::start(&a.db_name, |c| {
        fast_calls(c, esl);
        if let Some(url) = &webhook {
            fast_webhooks(&mut c.webhook, url);
        }
    })
    .await;
    let (api_a, api_b) = (Api::at(a.addr), b.api());
    api_a.provision(extra).await;
    api_a.wait_esl_connected().await;
    api_b.wait_esl_connected().await;
    (a, b, api_a, api_b)
}

/// Fires `n` click-to-calls at once, alternating between the replicas; returns the answers.
async fn burst(apis: [&Api; 2], callees: impl Fn(usize) -> String, n: usize) -> Vec<Value> {
    let requests = (0..n).map(|i| {
        let api = apis[i % 2].clone();
        let callee = callees(i);
        async move {
            let (status, body) = api.call(&callee).await;
            assert!(
                status == StatusCode::OK || status == StatusCode::CONFLICT,
                "{status} {body}"
            );
            body
        }
    });
    join_all(requests).await
}

fn accepted(answers: &[Value]) -> usize {
    answers.iter().filter(|b| b["code"] == 0).count()
}

#[tokio::test]
async fn two_replicas_hold_a_callee_daily_limit_of_one_under_concurrent_requests() {
    let sim = start_sim(200).await;
    let (_a, _b, api_a, api_b) = two_replicas(&sim, None, json!({"callee_daily_limit": 1})).await;

    let answers = burst([&api_a, &api_b], |_| "13800138000".into(), 10).await;

    assert_eq!(accepted(&answers), 1, "{answers:#?}");
    for refused in answers.iter().filter(|b| b["code"] != 0) {
        assert_eq!(refused["code"], 40901, "{refused}");
    }
}

#[tokio::test]
async fn two_replicas_hold_a_line_concurrency_cap_across_both() {
    // Answered calls stay up, so every accepted call holds a channel on the line.
    let sim = start_sim(0).await;
    let (_a, _b, api_a, api_b) = two_replicas(&sim, None, json!({"max_concurrent": 2})).await;

    let answers = burst([&api_a, &api_b], |i| format!("1380013{i:04}"), 10).await;

    assert_eq!(accepted(&answers), 2, "{answers:#?}");
    // The switch agrees: never more than two legs on the line.
    eventually(
        "the two calls to be up",
        Duration::from_secs(10),
        || async {
            let on_line = sim
                .channels()
                .iter()
                .filter(|l| l.var("callplane_gateway") == Some(LINE))
                .count();
            (on_line == 2).then_some(())
        },
    )
    .await;
    let (status, again) = api_b.call("13800139999").await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
}

#[tokio::test]
async fn two_replicas_deliver_each_call_webhook_exactly_once() {
    let receiver = Receiver::start(vec![]).await;
    let sim = start_sim(100).await;
    let (a, _b, api_a, api_b) = two_replicas(&sim, Some(url_at(receiver.addr)), json!({})).await;

    let answers = burst([&api_a, &api_b], |i| format!("1390013{i:04}"), 12).await;
    assert_eq!(accepted(&answers), 12, "{answers:#?}");
    let calls: Vec<String> = answers
        .iter()
        .map(|b| b["data"]["call_uuid"].as_str().unwrap().to_string())
        .collect();
    for c in &calls {
        api_a.wait_call(c, "the call to end", ended).await;
    }
    eventually("every webhook delivered", Duration::from_secs(20), || async {
        let delivered: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM webhook_outbox WHERE status = 'delivered' AND event_type = 'call.completed'",
        )
        .fetch_one(&a.pool)
        .await
        .unwrap();
        (delivered == calls.len() as i64).then_some(())
    })
    .await;
    // Let both workers poll a few more rounds: nothing more may arrive.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut per_id: HashMap<String, usize> = HashMap::new();
    let mut completed_per_call: HashMap<String, usize> = HashMap::new();
    for r in receiver.received() {
        *per_id
            .entry(r.header("webhook-id").unwrap().to_string())
            .or_default() += 1;
        let body: Value = serde_json::from_str(&r.body).unwrap();
        if body["type"] == "call.completed" {
            *completed_per_call
                .entry(body["call_uuid"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    assert!(per_id.values().all(|n| *n == 1), "{per_id:?}");
    assert_eq!(completed_per_call.len(), calls.len());
    assert!(completed_per_call.values().all(|n| *n == 1));
}
