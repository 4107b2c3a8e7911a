//! The endpoints behind the console's overview: `GET /v1/call/stats` (calls per minute,
//! outcomes, failure causes), `GET /v1/node/list` (ESL state of every node) and the
//! `live_calls` a gateway answer carries next to its `max_concurrent`.

use std::time::Duration;

use fsim::{OutcomeRule, Sim, SimConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_invalid};
use crate::webhooks::receiver::closed_port;

/// Inserts a finished (or, without a status, ongoing) call created `ago_secs` ago.
async fn call_at(app: &TestApp, ago_secs: i64, status: Option<&str>, cause: Option<&str>) {
    let state = if status.is_some() {
        "completed"
    } else {
        "ringing"
    };
    sqlx::query(
        "INSERT INTO calls (uuid, caller, callee, state, status, hangup_cause, created_at)
         VALUES ($1, '1001', '13800138000', $2, $3, $4, now() - make_interval(secs => $5))",
    )
    .bind(uuid::Uuid::new_v4())
    .bind(state)
    .bind(status)
    .bind(cause)
    .bind(ago_secs as f64)
    .execute(&app.pool)
    .await
    .unwrap();
}

fn count_of(list: &Value, key: &str) -> i64 {
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == key)
        .map(|c| c["count"].as_i64().unwrap())
        .unwrap_or(0)
}

#[tokio::test]
async fn call_stats_count_the_window_per_minute_by_outcome_and_cause() {
    let app = TestApp::spawn().await;
    call_at(&app, 0, Some("answered"), Some("NORMAL_CLEARING")).await;
    call_at(&app, 0, Some("busy"), Some("USER_BUSY")).await;
    call_at(&app, 0, None, None).await;
    call_at(&app, 600, Some("no_answer"), Some("NO_ANSWER")).await;
    call_at(&app, 610, Some("failed"), Some("USER_BUSY")).await;
    call_at(&app, 3 * 3600, Some("failed"), Some("CALL_REJECTED")).await; // outside the hour

    let (status, body) = app.get("/v1/call/stats?minutes=60").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let d = &body["data"];
    assert_eq!(d["minutes"], 60);
    assert_eq!(d["total"], 5);
    let minutes = d["per_minute"].as_array().unwrap();
    assert_eq!(
        minutes.len(),
        60,
        "every minute of the window, empty ones too"
    );
    // The calls made just now are in the current minute, or the one before if the minute
    // turned between the inserts and the query.
    let recent = |k: &str| -> i64 { minutes[58..].iter().map(|m| m[k].as_i64().unwrap()).sum() };
    assert_eq!(
        (recent("total"), recent("answered"), recent("unanswered")),
        (3, 1, 1)
    );
    let sum: i64 = minutes.iter().map(|m| m["total"].as_i64().unwrap()).sum();
    assert_eq!(sum, 5);
    assert!(
        minutes
            .windows(2)
            .all(|w| w[0]["minute"].as_str() < w[1]["minute"].as_str())
    );

    assert_eq!(count_of(&d["by_status"], "answered"), 1);
    assert_eq!(count_of(&d["by_status"], "in_progress"), 1);
    assert_eq!(count_of(&d["by_status"], "failed"), 1);
    let causes = &d["failure_causes"];
    assert_eq!(
        causes[0],
        json!({"key": "USER_BUSY", "count": 2}),
        "{causes}"
    );
    assert_eq!(count_of(causes, "NO_ANSWER"), 1);
    assert_eq!(
        count_of(causes, "NORMAL_CLEARING"),
        0,
        "answered calls are no failure"
    );
    assert_eq!(count_of(causes, "CALL_REJECTED"), 0, "outside the window");

    let (_, wide) = app.get("/v1/call/stats?minutes=240").await;
    assert_eq!(wide["data"]["total"], 6);
    assert_eq!(wide["data"]["per_minute"].as_array().unwrap().len(), 240);
}

#[tokio::test]
async fn call_stats_reject_a_window_out_of_range_by_name() {
    let app = TestApp::spawn().await;
    for q in ["minutes=0", "minutes=1441", "minutes=-5", "minutes=an+hour"] {
        let res = app.get(&format!("/v1/call/stats?{q}")).await;
        assert_eq!(res.0, StatusCode::BAD_REQUEST, "{q}: {}", res.1);
        assert!(
            res.1["message"].as_str().unwrap().contains("minutes"),
            "{q}: {}",
            res.1
        );
    }
    assert_invalid(&app.get("/v1/call/stats?minutes=0").await, "minutes");
    let (status, body) = app.get("/v1/call/stats").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["minutes"], 60, "an hour by default");
    assert_eq!(body["data"]["total"], 0);
}

async fn wait_for(app: &TestApp, path: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..400 {
        let (_, body) = app.get(path).await;
        if check(&body["data"]) {
            return body["data"].clone();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn node_list_reports_each_nodes_esl_state() {
    let sim = Sim::start_local(SimConfig {
        heartbeat_secs: 0,
        // Like freeswitch-conf/xml_cdr.conf.xml: the callee legs' CDRs are posted too.
        cdr: fsim::CdrConfig {
            log_b_leg: true,
            ..Default::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let live = sim.addr().to_string();
    let dead = closed_port().await.to_string();
    let nodes = vec![live.clone(), dead.clone()];
    let app = TestApp::spawn_with(move |c| c.esl.nodes = nodes).await;

    let d = wait_for(&app, "/v1/node/list", "the live node to connect", |d| {
        d["list"][0]["state"] == "connected"
    })
    .await;
    let list = d["list"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["node"], live);
    assert!(list[0]["hostname"].is_string(), "{d}");
    assert_eq!(list[0]["live_channels"], 0);
    assert_eq!(list[1]["node"], dead);
    assert_ne!(list[1]["state"], "connected");
}

#[tokio::test]
async fn a_gateway_shows_its_live_calls_against_its_cap() {
    let sim = Sim::start_local(SimConfig {
        heartbeat_secs: 0,
        // Like freeswitch-conf/xml_cdr.conf.xml: the callee legs' CDRs are posted too.
        cdr: fsim::CdrConfig {
            log_b_leg: true,
            ..Default::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap();
    sim.register_extension("1001");
    sim.add_gateway(fsim::GatewayConfig {
        name: "carrier-a".into(),
        state: "NOREG".into(),
        ..Default::default()
    });
    // Answered and never hung up: the call stays live until the test ends.
    sim.set_default_outcome(OutcomeRule {
        ring_ms: 10,
        talk_ms: 0,
        ..OutcomeRule::default()
    });
    let node = sim.addr().to_string();
    let app = TestApp::spawn_with(move |c| c.esl.nodes = vec![node]).await;
    app.post("/v1/extension/create", json!({"extension": "1001"}))
        .await;
    let (status, gw) = app
        .post(
            "/v1/gateway/create",
            json!({"name": "carrier-a", "realm": "192.0.2.1", "max_concurrent": 3}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{gw}");
    assert_eq!(gw["data"]["live_calls"], 0);
    wait_for(&app, "/v1/node/list", "the node to connect", |d| {
        d["list"][0]["state"] == "connected"
    })
    .await;

    let (status, placed) = app
        .post(
            "/v1/call/callback",
            json!({"caller": "1001", "callee": "13800138000"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{placed}");
    let d = wait_for(&app, "/v1/gateway/list", "a live call on the line", |d| {
        d["list"][0]["live_calls"] == 1
    })
    .await;
    assert_eq!(d["list"][0]["max_concurrent"], 3);
    let (_, one) = app.get("/v1/gateway/detail?name=carrier-a").await;
    assert_eq!(one["data"]["live_calls"], 1);
}
