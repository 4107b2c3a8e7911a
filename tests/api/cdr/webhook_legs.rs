//! Which leg the webhook's `cdr` describes, per call type, end to end through fsim (which
//! posts every leg's CDR, as FreeSWITCH does with `log-b-leg`): the customer leg (callee) in
//! `cdr`, the caller leg in `caller_cdr`, each equal to that leg's CDR in `/v1/cdr/detail`;
//! and legs that were never attempted closed as `NOT_ATTEMPTED` in the call detail.

use std::time::Duration;

use fsim::{CdrConfig, OutcomeRule, Sim, SimConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::detail;
use crate::helpers::TestApp;
use crate::webhooks::fast;
use crate::webhooks::receiver::Receiver;

const CUSTOMER: &str = "13000670001";

struct Rig {
    sim: Sim,
    app: TestApp,
    receiver: Receiver,
}

async fn rig() -> Rig {
    let sim = Sim::start_local(SimConfig {
        heartbeat_secs: 0,
        cdr: CdrConfig {
            log_b_leg: true,
            ..Default::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap();
    for ext in ["1001", "1002"] {
        sim.register_extension(ext);
    }
    for gw in ["carrier-a", "carrier-b"] {
        sim.add_gateway(fsim::GatewayConfig {
            name: gw.into(),
            state: "NOREG".into(),
            ..Default::default()
        });
    }
    sim.set_default_outcome(OutcomeRule {
        ring_ms: 20,
        talk_ms: 150,
        ..OutcomeRule::default()
    });
    let receiver = Receiver::start(vec![]).await;
    let (node, url) = (sim.addr().to_string(), receiver.url());
    let app = TestApp::spawn_with(move |c| {
        c.esl.nodes = vec![node];
        fast(&mut c.webhook, &url);
        c.calls.sweep_interval_ms = 100;
        c.recording.upload = callplane::originate::UploadMode::None;
    })
    .await;
    sim.set_cdr_url(Some(app.url("/fsapi/cdr")));
    for ext in ["1001", "1002", "1009"] {
        app.post("/v1/extension/create", json!({"extension": ext}))
            .await;
    }
    for (gw, priority) in [("carrier-a", 10), ("carrier-b", 20)] {
        app.post(
            "/v1/gateway/create",
            json!({"name": gw, "realm": "192.0.2.1", "caller_id": "057188880000", "priority": priority}),
        )
        .await;
    }
    for _ in 0..200 {
        let body: Value = app
            .client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if body["esl"][0]["state"] == "connected" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Rig { sim, app, receiver }
}

impl Rig {
    async fn place(&self, body: Value) -> String {
        let (status, res) = self.app.post("/v1/call/callback", body).await;
        assert_eq!(status, StatusCode::OK, "{res}");
        res["data"]["call_uuid"].as_str().unwrap().to_string()
    }

    async fn webhook(&self, call: &str) -> Value {
        for _ in 0..600 {
            let got = self
                .receiver
                .received()
                .into_iter()
                .filter_map(|r| serde_json::from_str::<Value>(&r.body).ok())
                .find(|v| v["call_uuid"] == call);
            if let Some(v) = got {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no webhook for {call}");
    }

    async fn call_detail(&self, call: &str) -> Value {
        let (_, d) = self.app.get(&format!("/v1/call/detail?uuid={call}")).await;
        d["data"].clone()
    }

    /// The webhook's `cdr` is the callee leg's CDR and `caller_cdr` the caller leg's, field
    /// for field as `/v1/cdr/detail` gives them.
    async fn assert_reports_each_leg(&self, call: &str, hook: &Value) {
        let d = self.call_detail(call).await;
        for (field, role) in [("cdr", "callee"), ("caller_cdr", "caller")] {
            let got = &hook[field];
            assert_eq!(got["role"], role, "{hook}");
            let uuid = got["uuid"].as_str().unwrap();
            let leg = d["legs"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["uuid"] == uuid)
                .unwrap_or_else(|| panic!("{field} names no leg of the call: {d}"));
            assert_eq!(leg["role"], role);
            let cdr = detail(&self.app, uuid).await;
            for f in [
                "answer_time",
                "end_time",
                "billsec",
                "duration",
                "hangup_cause",
            ] {
                assert_eq!(got[f], cdr[f], "{field}.{f}: {hook} vs {cdr}");
            }
            assert_eq!(d[field], *got, "the detail reports the same {field}");
        }
    }
}

#[tokio::test]
async fn extension_to_external_reports_the_customer_leg() {
    let rig = rig().await;
    let call = rig
        .place(json!({"caller": "1001", "callee": CUSTOMER}))
        .await;
    let hook = rig.webhook(&call).await;
    assert_eq!(hook["status"], "answered", "{hook}");
    assert_eq!(hook["gateway"], "carrier-a");
    rig.assert_reports_each_leg(&call, &hook).await;
    assert_ne!(hook["cdr"]["uuid"], call.as_str());
    assert_eq!(hook["caller_cdr"]["uuid"], call.as_str());
}

#[tokio::test]
async fn extension_to_extension_reports_the_called_extension() {
    let rig = rig().await;
    let call = rig.place(json!({"caller": "1001", "callee": "1002"})).await;
    let hook = rig.webhook(&call).await;
    assert_eq!(hook["status"], "answered", "{hook}");
    rig.assert_reports_each_leg(&call, &hook).await;
}

#[tokio::test]
async fn external_to_external_reports_the_second_number() {
    let rig = rig().await;
    let call = rig
        .place(json!({"caller": "13900139000", "callee": CUSTOMER}))
        .await;
    let hook = rig.webhook(&call).await;
    assert_eq!(hook["status"], "answered", "{hook}");
    rig.assert_reports_each_leg(&call, &hook).await;
}

#[tokio::test]
async fn a_busy_customer_leaves_the_next_line_not_attempted() {
    let rig = rig().await;
    rig.sim.script(OutcomeRule {
        number: Some(CUSTOMER.into()),
        outcome: "busy".into(),
        ring_ms: 20,
        ..OutcomeRule::default()
    });
    let call = rig
        .place(json!({"caller": "1001", "callee": CUSTOMER}))
        .await;
    let hook = rig.webhook(&call).await;
    assert_eq!(hook["status"], "busy", "{hook}");
    assert_eq!(hook["cdr"]["role"], "callee");
    assert_eq!(hook["cdr"]["hangup_cause"], "USER_BUSY");
    assert_eq!(hook["cdr"]["billsec"], 0);
    let d = rig.call_detail(&call).await;
    let legs = d["legs"].as_array().unwrap();
    let callee: Vec<&Value> = legs.iter().filter(|l| l["role"] == "callee").collect();
    assert_eq!(callee.len(), 2, "{d}");
    assert_eq!(callee[0]["state"], "refused", "{d}");
    assert_eq!(callee[1]["state"], "not_attempted", "{d}");
    assert_eq!(callee[1]["hangup_cause"], "NOT_ATTEMPTED");
    assert_eq!(callee[1]["ended_at"], d["ended_at"]);
}

#[tokio::test]
async fn an_unregistered_agent_leaves_every_leg_not_attempted() {
    let rig = rig().await;
    let call = rig
        .place(json!({"caller": "1009", "callee": CUSTOMER}))
        .await;
    let hook = rig.webhook(&call).await;
    assert_eq!(hook["hangup_cause"], "USER_NOT_REGISTERED", "{hook}");
    assert!(
        hook["cdr"].is_null() && hook["caller_cdr"].is_null(),
        "{hook}"
    );
    let d = rig.call_detail(&call).await;
    for leg in d["legs"].as_array().unwrap() {
        assert_eq!(leg["state"], "not_attempted", "{d}");
        assert_eq!(leg["hangup_cause"], "NOT_ATTEMPTED", "{d}");
        assert!(!leg["ended_at"].is_null(), "{d}");
    }
}
