//! Click-to-call end to end over real TCP: the service drives fsim, which plays scripted
//! outcomes per number; every routing rule, each caller/callee kind, outcomes, idempotency and
//! a node that is down.

use std::time::Duration;

use fsim::{OutcomeRule, Sim, SimConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_invalid};

const ZJ: &str = "13000670001"; // 浙江 温州 in the number data
const XJ: &str = "13000960001"; // 新疆 乌鲁木齐

struct Rig {
    sim: Sim,
    app: TestApp,
}

fn rule(number: &str, outcome: &str, cause: Option<&str>, talk_ms: u64) -> OutcomeRule {
    OutcomeRule {
        number: Some(number.into()),
        outcome: outcome.into(),
        cause: cause.map(str::to_string),
        ring_ms: 30,
        talk_ms,
        ..OutcomeRule::default()
    }
}

impl Rig {
    async fn new(gateways: &[Value]) -> Rig {
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
        sim.register_extension("1002");
        sim.set_default_outcome(OutcomeRule {
            ring_ms: 30,
            talk_ms: 200,
            ..OutcomeRule::default()
        });
        let node = sim.addr().to_string();
        let app = TestApp::spawn_with(move |c| {
            c.esl.nodes = vec![node];
            c.calls.job_timeout_secs = 5;
        })
        .await;
        for g in gateways {
            let (status, body) = app.post("/v1/gateway/create", g.clone()).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            // The switch has the line loaded (as from detail_xml), reachable.
            let name = g["name"].as_str().unwrap().to_string();
            sim.add_gateway(fsim::GatewayConfig {
                name,
                state: "NOREG".into(),
                status: "UP".into(),
                ..Default::default()
            });
        }
        for ext in ["1001", "1002"] {
            app.post(
                "/v1/extension/create",
                json!({"extension": ext, "password": "secret-pw-1"}),
            )
            .await;
        }
        let rig = Rig { sim, app };
        rig.wait_connected().await;
        rig
    }

    async fn wait_connected(&self) {
        for _ in 0..200 {
            let body: Value = self
                .app
                .client
                .get(self.app.url("/readyz"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if body["esl"][0]["state"] == "connected" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("never connected to fsim");
    }

    async fn call(&self, body: Value) -> (StatusCode, Value) {
        self.app.post("/v1/call/callback", body).await
    }

    async fn wait_state(&self, uuid: &str, state: &str) {
        for _ in 0..400 {
            let (_, d) = self.app.get(&format!("/v1/call/detail?uuid={uuid}")).await;
            if d["data"]["state"] == state {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("call {uuid} never reached {state}");
    }

    /// Polls the call until it has ended.
    async fn ended(&self, uuid: &str) -> Value {
        for _ in 0..400 {
            let (_, d) = self.app.get(&format!("/v1/call/detail?uuid={uuid}")).await;
            if matches!(d["data"]["state"].as_str(), Some("completed" | "failed")) {
                return d["data"].clone();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("call {uuid} never ended");
    }

    /// Runs an API command on fsim over a connection of the test's own.
    async fn api(&self, cmd: &str) -> String {
        let addr = self.sim.addr().to_string();
        let (tx, _) = tokio::sync::broadcast::channel(16);
        let (esl, _conn) = callplane::esl::connect(
            &addr,
            "ClueCon",
            callplane::esl::ConnectOptions::new(addr.as_str(), tx),
        )
        .await
        .unwrap();
        esl.api(cmd).await.unwrap_or_else(|e| e.to_string())
    }

    fn originates(&self) -> Vec<String> {
        self.sim
            .commands_received()
            .into_iter()
            .filter(|c| c.contains("originate"))
            .collect()
    }
}

fn gw(name: &str, extra: Value) -> Value {
    let mut g = json!({"name": name, "realm": "192.0.2.1", "caller_id": "057188880000"});
    for (k, v) in extra.as_object().unwrap() {
        g[k] = v.clone();
    }
    g
}

#[tokio::test]
async fn extension_to_external_answered_records_everything() {
    let rig = Rig::new(&[gw("carrier-a", json!({"prefix": "9"}))]).await;
    rig.sim.script(rule(&format!("9{ZJ}"), "answer", None, 200));
    let (status, body) = rig
        .call(json!({"caller": "1001", "callee": ZJ, "ext_data": "{\"order\": 42}"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["gateways"], json!(["carrier-a"]));
    let uuid = body["data"]["call_uuid"].as_str().unwrap().to_string();

    let sent = rig.originates();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].starts_with("bgapi originate {callplane_call_uuid="),
        "{}",
        sent[0]
    );
    assert!(sent[0].contains(&format!("sofia/gateway/carrier-a/9{ZJ}")));
    assert!(sent[0].contains("origination_caller_id_number=057188880000"));
    assert!(
        !sent[0].contains("order"),
        "ext_data never reaches FreeSWITCH"
    );

    let call = rig.ended(&uuid).await;
    assert_eq!(
        (call["state"].as_str(), call["status"].as_str()),
        (Some("completed"), Some("answered"))
    );
    assert_eq!(call["gateway"], "carrier-a");
    assert_eq!(call["caller_kind"], "extension");
    assert_eq!(call["callee_province"], "浙江");
    assert_eq!(call["ext_data"], "{\"order\": 42}");
    assert!(
        call["answered_at"].is_string()
            && call["bridged_at"].is_string()
            && call["ended_at"].is_string()
    );
    let names: Vec<&str> = call["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"CHANNEL_BRIDGE") && names.contains(&"CHANNEL_HANGUP_COMPLETE"),
        "{names:?}"
    );
    // FreeSWITCH reports the caller's hangup before the callee's, so the callee leg's end
    // may land just after the call is over.
    let mut legs = call["legs"].as_array().unwrap().clone();
    for _ in 0..200 {
        if legs.iter().all(|l| l["ended_at"].is_string()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
        let (_, d) = rig.app.get(&format!("/v1/call/detail?uuid={uuid}")).await;
        legs = d["data"]["legs"].as_array().unwrap().clone();
    }
    assert_eq!(legs.len(), 2);
    assert!(legs.iter().all(|l| l["ended_at"].is_string()), "{legs:?}");
}

#[tokio::test]
async fn a_busy_callee_is_not_rung_again_on_the_next_line() {
    let rig = Rig::new(&[
        gw("a", json!({"priority": 1})),
        gw("b", json!({"priority": 2})),
    ])
    .await;
    rig.sim.script(rule(ZJ, "busy", None, 0));
    let (status, body) = rig.call(json!({"caller": "1001", "callee": ZJ})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["gateways"], json!(["a", "b"]));
    let call = rig.ended(body["data"]["call_uuid"].as_str().unwrap()).await;
    assert_eq!(
        (call["state"].as_str(), call["status"].as_str()),
        (Some("failed"), Some("busy"))
    );
    assert_eq!(call["hangup_cause"], "USER_BUSY");
    let callee_legs: Vec<&Value> = call["legs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["role"] == "callee")
        .collect();
    assert!(callee_legs[0]["created_at"].is_string());
    assert!(
        callee_legs[1]["created_at"].is_null(),
        "line b never tried: {callee_legs:?}"
    );
}

#[tokio::test]
async fn a_failing_line_fails_over_to_the_next() {
    let rig = Rig::new(&[
        gw("a", json!({"prefix": "7"})),
        gw("b", json!({"prefix": "8"})),
    ])
    .await;
    rig.sim.script(rule(
        &format!("7{ZJ}"),
        "fail",
        Some("NORMAL_TEMPORARY_FAILURE"),
        0,
    ));
    rig.sim.script(rule(&format!("8{ZJ}"), "answer", None, 100));
    let (_, body) = rig
        .call(json!({"caller": "1001", "callee": ZJ, "gateways": "a,b"}))
        .await;
    let call = rig.ended(body["data"]["call_uuid"].as_str().unwrap()).await;
    assert_eq!(
        (call["status"].as_str(), call["gateway"].as_str()),
        (Some("answered"), Some("b"))
    );
}

#[tokio::test]
async fn blind_areas_skip_lines_that_cannot_reach_the_callee() {
    let rig = Rig::new(&[
        gw("a", json!({"blind_areas": ["新疆"], "priority": 1})),
        gw("b", json!({"priority": 2})),
    ])
    .await;
    let (_, body) = rig.call(json!({"caller": "1001", "callee": XJ})).await;
    assert_eq!(body["data"]["gateways"], json!(["b"]), "{body}");
    let (_, body) = rig.call(json!({"caller": "1001", "callee": ZJ})).await;
    assert_eq!(body["data"]["gateways"], json!(["a", "b"]));
    let uuid = body["data"]["call_uuid"].as_str().unwrap();
    let (_, d) = rig.app.get(&format!("/v1/call/detail?uuid={uuid}")).await;
    assert_eq!(d["data"]["routing"]["callee"]["chain"], json!(["a", "b"]));
}

#[tokio::test]
async fn the_daily_limit_allows_one_call_per_callee_per_day() {
    let rig = Rig::new(&[gw("a", json!({"callee_daily_limit": 1}))]).await;
    let (status, _) = rig.call(json!({"caller": "1001", "callee": ZJ})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = rig.call(json!({"caller": "1001", "callee": ZJ})).await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::CONFLICT, Some(40901)),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("limit 1"),
        "{body}"
    );
    let (status, _) = rig.call(json!({"caller": "1001", "callee": XJ})).await;
    assert_eq!(status, StatusCode::OK, "another callee is not limited");
    assert_eq!(rig.originates().len(), 2);
}

#[tokio::test]
async fn the_daily_limit_holds_under_concurrent_requests() {
    let rig = std::sync::Arc::new(Rig::new(&[gw("a", json!({"callee_daily_limit": 2}))]).await);
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let rig = rig.clone();
            tokio::spawn(async move { rig.call(json!({"caller": "1001", "callee": ZJ})).await.0 })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() == StatusCode::OK {
            ok += 1;
        }
    }
    assert_eq!(ok, 2);
}

#[tokio::test]
async fn the_concurrency_cap_counts_live_calls() {
    let rig = Rig::new(&[gw("a", json!({"max_concurrent": 1}))]).await;
    rig.sim.script(rule(ZJ, "answer", None, 0)); // stays up until killed
    let (status, body) = rig.call(json!({"caller": "1001", "callee": ZJ})).await;
    assert_eq!(status, StatusCode::OK);
    let first = body["data"]["call_uuid"].as_str().unwrap().to_string();
    let (status, body) = rig.call(json!({"caller": "1002", "callee": XJ})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("at its cap of 1"),
        "{body}"
    );
    rig.wait_state(&first, "bridged").await;
    // Hang the first call up; the line frees up.
    rig.api(&format!("uuid_kill {first}")).await;
    rig.ended(&first).await;
    let (status, body) = rig.call(json!({"caller": "1002", "callee": XJ})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn when_no_line_fits_every_candidate_has_a_reason_and_nothing_is_sent() {
    let rig = Rig::new(&[
        gw("a", json!({"blind_areas": ["新疆"]})),
        gw("b", json!({"enabled": false})),
        gw("c", json!({"blind_areas": "新"})),
    ])
    .await;
    let (status, body) = rig.call(json!({"caller": "1001", "callee": XJ})).await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::CONFLICT, Some(40901))
    );
    let msg = body["message"].as_str().unwrap();
    assert!(
        msg.contains("a: cannot reach 新疆") && msg.contains("c: cannot reach 新疆"),
        "{msg}"
    );
    assert!(rig.originates().is_empty());
    assert_eq!(
        rig.app.count("calls").await,
        0,
        "no call row for a call never placed"
    );
    let (status, body) = rig
        .call(json!({"caller": "1001", "callee": XJ, "gateways": ["b"]}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("gateways[0]: gateway b is disabled")
    );
    let (status, _) = rig
        .call(json!({"caller": "1001", "callee": XJ, "gateways": ["nope"]}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn extension_to_extension_needs_no_line() {
    let rig = Rig::new(&[]).await;
    let (status, body) = rig.call(json!({"caller": "1001", "callee": "1002"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["gateways"], json!([]));
    let call = rig.ended(body["data"]["call_uuid"].as_str().unwrap()).await;
    assert_eq!(
        (call["status"].as_str(), call["callee_kind"].as_str()),
        (Some("answered"), Some("extension"))
    );
    assert!(rig.originates()[0].contains("]user/1002^"));
}

#[tokio::test]
async fn external_to_external_rings_both_through_lines() {
    let rig = Rig::new(&[gw("a", json!({}))]).await;
    let (status, body) = rig.call(json!({"caller": XJ, "callee": ZJ})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let call = rig.ended(body["data"]["call_uuid"].as_str().unwrap()).await;
    assert_eq!(call["status"], "answered");
    assert_eq!(call["caller_kind"], "external");
    let sent = &rig.originates()[0];
    assert!(
        sent.contains(&format!("sofia/gateway/a/{XJ} 'm:^:"))
            && sent.contains(&format!("sofia/gateway/a/{ZJ}^")),
        "{sent}"
    );
}

#[tokio::test]
async fn an_unregistered_agent_fails_the_call_with_the_job_cause() {
    let rig = Rig::new(&[gw("a", json!({}))]).await;
    rig.app
        .post("/v1/extension/create", json!({"extension": "1009"}))
        .await;
    let (status, body) = rig.call(json!({"caller": "1009", "callee": ZJ})).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "accepted as soon as FreeSWITCH took the job: {body}"
    );
    let call = rig.ended(body["data"]["call_uuid"].as_str().unwrap()).await;
    assert_eq!(
        (call["state"].as_str(), call["status"].as_str()),
        (Some("failed"), Some("failed"))
    );
    assert_eq!(call["hangup_cause"], "USER_NOT_REGISTERED");
}

#[tokio::test]
async fn the_callee_not_answering_is_no_answer() {
    let rig = Rig::new(&[gw("a", json!({}))]).await;
    rig.sim.script(rule(ZJ, "no_answer", None, 0));
    let (_, body) = rig.call(json!({"caller": "1001", "callee": ZJ})).await;
    let call = rig.ended(body["data"]["call_uuid"].as_str().unwrap()).await;
    assert_eq!(call["status"], "no_answer", "{call}");
}

#[tokio::test]
async fn an_idempotency_key_places_one_call_even_when_repeated_concurrently() {
    let rig = std::sync::Arc::new(Rig::new(&[gw("a", json!({}))]).await);
    let send = |rig: std::sync::Arc<Rig>, body: Value| async move {
        let res = rig
            .app
            .client
            .post(rig.app.url("/v1/call/callback"))
            .header("Idempotency-Key", "order-42-attempt")
            .json(&body)
            .send()
            .await
            .unwrap();
        crate::helpers::read(res).await
    };
    let tasks: Vec<_> = (0..5)
        .map(|_| tokio::spawn(send(rig.clone(), json!({"caller": "1001", "callee": ZJ}))))
        .collect();
    let mut uuids = std::collections::HashSet::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        uuids.insert(body["data"]["call_uuid"].as_str().unwrap().to_string());
    }
    assert_eq!(uuids.len(), 1, "every repeat returns the first call");
    assert_eq!(rig.originates().len(), 1, "one originate");
    let (status, body) = send(rig.clone(), json!({"caller": "1001", "callee": XJ})).await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some(42200))
    );
    assert_eq!(rig.originates().len(), 1);
}

#[tokio::test]
async fn with_freeswitch_unreachable_the_answer_is_503_and_nothing_is_left_pending() {
    let rig = Rig::new(&[gw("a", json!({}))]).await;
    rig.sim.stop();
    for _ in 0..200 {
        let body: Value = rig
            .app
            .client
            .get(rig.app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if body["esl"][0]["state"] != "connected" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let res = rig
        .app
        .client
        .post(rig.app.url("/v1/call/callback"))
        .json(&json!({"caller": "1001", "callee": ZJ}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], 50301);
    let open: i64 =
        sqlx::query_scalar("SELECT count(*) FROM calls WHERE state NOT IN ('completed', 'failed')")
            .fetch_one(&rig.app.pool)
            .await
            .unwrap();
    assert_eq!(open, 0);
}

#[tokio::test]
async fn hostile_inputs_are_rejected_before_anything_is_sent() {
    let rig = Rig::new(&[gw("a", json!({}))]).await;
    let long = "1".repeat(100_000);
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"caller": "1001", "callee": "13800000000,sofia/gateway/intl/00882"}),
            "callee",
        ),
        (json!({"caller": "1001", "callee": "138|139"}), "callee"),
        (json!({"caller": "1001", "callee": "138:_:139"}), "callee"),
        (json!({"caller": "1001", "callee": "{x=1}138"}), "callee"),
        (
            json!({"caller": "1001", "callee": "[x]13800000000"}),
            "callee",
        ),
        (
            json!({"caller": "1001", "callee": "<13800000000>"}),
            "callee",
        ),
        (
            json!({"caller": "1001", "callee": "13800000000^x"}),
            "callee",
        ),
        (json!({"caller": "${system(id)}", "callee": ZJ}), "caller"),
        (
            json!({"caller": "1001", "callee": "$${default_password}"}),
            "callee",
        ),
        (
            json!({"caller": "1001", "callee": "138\r\n\r\nbgapi system id"}),
            "callee",
        ),
        (json!({"caller": "1001", "callee": "'138'"}), "callee"),
        (json!({"caller": "1001", "callee": "\"138\""}), "callee"),
        (json!({"caller": "1001", "callee": "138\\0"}), "callee"),
        (json!({"caller": "1001", "callee": "138;x=1"}), "callee"),
        (json!({"caller": "1001", "callee": "138 000 000"}), "callee"),
        (
            json!({"caller": "1001", "callee": " 13800000000"}),
            "callee",
        ),
        (
            json!({"caller": "1001", "callee": "&bridge(user/1002)"}),
            "callee",
        ),
        (json!({"caller": "1001", "callee": "١٣٨٠٠٠٠٠٠٠٠"}), "callee"),
        (json!({"caller": "1001", "callee": "𝟏𝟑𝟖𝟎𝟎𝟎𝟎𝟎𝟎𝟎𝟎"}), "callee"),
        (json!({"caller": "1001", "callee": ""}), "callee"),
        (
            json!({"caller": "1001", "callee": "123456789012345678901"}),
            "callee",
        ),
        (
            json!({"caller": "1001", "callee": 13800000000u64}),
            "callee",
        ),
        (json!({"caller": "1001"}), "callee"),
        (json!({"caller": "1001", "callee": "110"}), "callee"),
        (json!({"caller": "1001", "callee": "1001"}), "callee"),
        (
            json!({"caller": "1001", "callee": ZJ, "gateways": ["a", "b|c"]}),
            "gateways[1]",
        ),
        (
            json!({"caller": "1001", "callee": ZJ, "gateways": "a,${x}"}),
            "gateways[1]",
        ),
        (
            json!({"caller": "1001", "callee": ZJ, "ext_data": "x".repeat(4097)}),
            "ext_data",
        ),
        (
            json!({"caller": "1001", "callee": ZJ, "ext_data": {"nested": true}}),
            "ext_data",
        ),
        (
            json!({"caller": "1001", "callee": ZJ, "prefix": "00"}),
            "prefix",
        ),
    ];
    for (body, field) in cases {
        let res = rig.call(body.clone()).await;
        assert_invalid(&res, field);
    }
    let (status, _) = rig
        .app
        .post_raw(
            "/v1/call/callback",
            "application/json",
            format!("{{\"caller\":\"1001\",\"callee\":\"{long}\"}}"),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, _) = rig
        .app
        .post_raw(
            "/v1/call/callback",
            "application/json",
            r#"{"caller":"1001","callee":"13800000000","callee":"1002"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        rig.originates().is_empty(),
        "nothing reached FreeSWITCH: {:?}",
        rig.originates()
    );
    assert_eq!(rig.app.count("calls").await, 0);
}

#[tokio::test]
async fn full_width_digits_are_normalised_and_the_list_filters() {
    let rig = Rig::new(&[gw("a", json!({}))]).await;
    let (status, body) = rig
        .call(json!({"caller": "1001", "callee": "１３０００６７０００１"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, list) = rig.app.get(&format!("/v1/call/list?callee={ZJ}")).await;
    assert_eq!(list["data"]["total"], 1);
    assert_eq!(list["data"]["list"][0]["callee"], ZJ);
    let (_, none) = rig.app.get("/v1/call/list?caller=9999").await;
    assert_eq!(none["data"]["total"], 0);
    crate::helpers::assert_invalid(&rig.app.get("/v1/call/list?from=yesterday").await, "from");
    crate::helpers::assert_invalid(&rig.app.get("/v1/call/detail?uuid=../etc").await, "uuid");
}

#[tokio::test]
async fn late_and_repeated_events_do_not_move_a_call_back() {
    let rig = Rig::new(&[gw("a", json!({}))]).await;
    rig.sim.script(rule(ZJ, "busy", None, 0));
    let (_, body) = rig.call(json!({"caller": "1001", "callee": ZJ})).await;
    let uuid = body["data"]["call_uuid"].as_str().unwrap().to_string();
    let before = rig.ended(&uuid).await;
    assert_eq!(before["status"], "busy");
    let callee_leg = before["legs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["role"] == "callee")
        .unwrap()["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let tag = [("variable_callplane_call_uuid", uuid.as_str())];
    // A stray answer and bridge after the end, and the caller's hangup again with another cause.
    rig.sim.fire_event(
        "CHANNEL_ANSWER",
        &[
            tag[0],
            ("Unique-ID", &callee_leg),
            ("variable_callplane_leg", "callee"),
        ],
        None,
    );
    rig.sim.fire_event(
        "CHANNEL_BRIDGE",
        &[
            tag[0],
            ("Unique-ID", &uuid),
            ("variable_callplane_leg", "caller"),
        ],
        None,
    );
    rig.sim.fire_event(
        "CHANNEL_HANGUP_COMPLETE",
        &[
            tag[0],
            ("Unique-ID", &uuid),
            ("variable_callplane_leg", "caller"),
            ("Hangup-Cause", "NORMAL_CLEARING"),
        ],
        None,
    );
    // The events are recorded (the timeline shows them) but the outcome stands.
    for _ in 0..200 {
        let (_, d) = rig.app.get(&format!("/v1/call/detail?uuid={uuid}")).await;
        if d["data"]["events"].as_array().unwrap().len()
            >= before["events"].as_array().unwrap().len() + 3
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let (_, d) = rig.app.get(&format!("/v1/call/detail?uuid={uuid}")).await;
    let after = &d["data"];
    assert_eq!(
        after["events"].as_array().unwrap().len(),
        before["events"].as_array().unwrap().len() + 3
    );
    assert_eq!(
        (after["state"].as_str(), after["status"].as_str()),
        (Some("failed"), Some("busy"))
    );
    assert_eq!(after["hangup_cause"], "USER_BUSY");
    assert_eq!(after["ended_at"], before["ended_at"]);
}

#[tokio::test]
async fn a_call_whose_job_never_answers_is_settled_by_the_sweeper() {
    let app = TestApp::spawn_with(|c| {
        c.calls.job_timeout_secs = 5;
        c.calls.sweep_interval_ms = 100;
    })
    .await;
    let uuid = uuid::Uuid::new_v4();
    sqlx::query(
        "INSERT INTO calls (uuid, caller, callee, state, node, created_at) VALUES ($1, '1001', '13800138000', 'accepted', '127.0.0.1:1', now() - interval '10 minutes')",
    )
    .bind(uuid)
    .execute(&app.pool)
    .await
    .unwrap();
    // The node cannot be asked, so the sweeper fails the call.
    for _ in 0..400 {
        let (_, d) = app.get(&format!("/v1/call/detail?uuid={uuid}")).await;
        if d["data"]["state"] == "failed" {
            assert_eq!(d["data"]["hangup_cause"], "ORIGINATE_TIMEOUT");
            assert_eq!(d["data"]["status"], "failed");
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the sweeper never settled the call");
}

#[tokio::test]
async fn a_line_never_tried_gives_its_daily_slot_back() {
    let rig = Rig::new(&[
        gw("a", json!({"callee_daily_limit": 1, "priority": 1})),
        gw("b", json!({"callee_daily_limit": 1, "priority": 2})),
    ])
    .await;
    let (_, body) = rig.call(json!({"caller": "1001", "callee": ZJ})).await;
    assert_eq!(body["data"]["gateways"], json!(["a", "b"]));
    let call = rig.ended(body["data"]["call_uuid"].as_str().unwrap()).await;
    assert_eq!(call["gateway"], "a", "carried by the first line");
    // Line b was never dialled, so today's only call to this callee on b is still free.
    let (status, body) = rig.call(json!({"caller": "1001", "callee": ZJ})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["gateways"], json!(["b"]));
}

#[tokio::test]
async fn a_disabled_extension_is_never_dialled_out_over_a_line() {
    let rig = Rig::new(&[gw("a", json!({}))]).await;
    rig.app
        .post(
            "/v1/extension/create",
            json!({"extension": "2002", "enabled": false}),
        )
        .await;
    let res = rig.call(json!({"caller": "1001", "callee": "2002"})).await;
    assert_invalid(&res, "callee");
    assert!(
        res.1["message"]
            .as_str()
            .unwrap()
            .contains("extension 2002 is disabled")
    );
    assert!(rig.originates().is_empty());
}
