//! A service wired to fsim over real TCP, with two extensions and lines loaded on the switch,
//! plus what the hostile tests look at afterwards: the commands fsim received and the rows.

use std::time::Duration;

use callplane::config::Config;
use fsim::{OutcomeRule, Sim, SimConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// 浙江 温州 in the number data.
pub const ZJ: &str = "13000670001";

pub struct Rig {
    pub sim: Sim,
    pub app: TestApp,
}

impl Rig {
    /// fsim with extensions 1001 and 1002 registered, and `lines` as IP trunks on both sides.
    pub async fn new(lines: &[&str], adjust: impl FnOnce(&mut Config)) -> Rig {
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
        for ext in ["1001", "1002"] {
            sim.register_extension(ext);
        }
        sim.set_default_outcome(OutcomeRule {
            ring_ms: 20,
            talk_ms: 100,
            ..OutcomeRule::default()
        });
        let node = sim.addr().to_string();
        let app = TestApp::spawn_with(move |c| {
            c.esl.nodes = vec![node];
            c.calls.job_timeout_secs = 5;
            adjust(c);
        })
        .await;
        for (i, name) in lines.iter().enumerate() {
            let body = json!({"name": name, "realm": "192.0.2.1", "priority": i + 1});
            let (status, body) = app.post("/v1/gateway/create", body).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            sim.add_gateway(fsim::GatewayConfig {
                name: name.to_string(),
                state: "NOREG".into(),
                status: "UP".into(),
                ..Default::default()
            });
        }
        for ext in ["1001", "1002"] {
            let (status, body) = app
                .post("/v1/extension/create", json!({"extension": ext}))
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let rig = Rig { sim, app };
        rig.wait_connected().await;
        rig
    }

    async fn wait_connected(&self) {
        for _ in 0..400 {
            let res = self.app.client.get(self.app.url("/readyz")).send().await;
            if let Ok(res) = res {
                let body: Value = res.json().await.unwrap_or_default();
                if body["esl"][0]["state"] == "connected" {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("never connected to fsim");
    }

    pub async fn call(&self, body: Value) -> (StatusCode, Value) {
        self.app.post("/v1/call/callback", body).await
    }

    /// Every originate fsim received.
    pub fn originates(&self) -> Vec<String> {
        self.sim
            .commands_received()
            .into_iter()
            .filter(|c| c.contains("originate"))
            .collect()
    }

    /// Polls the call until it has ended and returns its detail.
    pub async fn ended(&self, uuid: &str) -> Value {
        for _ in 0..400 {
            let (_, d) = self.app.get(&format!("/v1/call/detail?uuid={uuid}")).await;
            if matches!(d["data"]["state"].as_str(), Some("completed" | "failed")) {
                return d["data"].clone();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("call {uuid} never ended");
    }
}

/// A fsim outcome for one number.
pub fn outcome(number: &str, outcome: &str, cause: Option<&str>) -> OutcomeRule {
    OutcomeRule {
        number: Some(number.into()),
        outcome: outcome.into(),
        cause: cause.map(str::to_string),
        ring_ms: 20,
        talk_ms: 100,
        ..OutcomeRule::default()
    }
}
