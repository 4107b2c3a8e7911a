//! The customer's ring time is limited by `calls.callee_ring_timeout_secs`, not by the carrier:
//! a callee who never answers ends the call as `no_answer` after about that long, and is not
//! rung again on the next line. Needs the simulator to honour `leg_timeout`/`call_timeout`.

use std::time::{Duration, Instant};

use fsim::{OutcomeRule, Sim, SimConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::webhooks::fast;
use crate::webhooks::receiver::Receiver;

const CUSTOMER: &str = "13000670001";

#[tokio::test]
async fn a_customer_who_never_answers_is_no_answer_after_the_ring_limit() {
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
    for name in ["carrier-a", "carrier-b"] {
        sim.add_gateway(fsim::GatewayConfig {
            name: name.into(),
            state: "NOREG".into(),
            ..Default::default()
        });
    }
    sim.set_default_outcome(OutcomeRule {
        ring_ms: 20,
        talk_ms: 150,
        ..OutcomeRule::default()
    });
    // The carrier would let it ring for five minutes.
    sim.script(OutcomeRule {
        number: Some(CUSTOMER.into()),
        outcome: "no_answer".into(),
        ring_ms: 300_000,
        ..OutcomeRule::default()
    });
    let receiver = Receiver::start(vec![]).await;
    let (node, url) = (sim.addr().to_string(), receiver.url());
    let app = TestApp::spawn_with(move |c| {
        c.esl.nodes = vec![node];
        fast(&mut c.webhook, &url);
        c.calls.sweep_interval_ms = 100;
        c.calls.originate_timeout_secs = 30;
        c.calls.callee_ring_timeout_secs = 5;
    })
    .await;
    sim.set_cdr_url(Some(app.url("/fsapi/cdr")));
    app.post("/v1/extension/create", json!({"extension": "1001"}))
        .await;
    for (name, priority) in [("carrier-a", 10), ("carrier-b", 5)] {
        app.post(
            "/v1/gateway/create",
            json!({"name": name, "realm": "192.0.2.1", "priority": priority}),
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

    let started = Instant::now();
    let (status, res) = app
        .post(
            "/v1/call/callback",
            json!({"caller": "1001", "callee": CUSTOMER}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let call = res["data"]["call_uuid"].as_str().unwrap().to_string();
    let cmd = sim
        .wait_for_command("bgapi originate", Duration::from_secs(5))
        .await
        .unwrap();
    assert!(cmd.contains(",leg_timeout=5]sofia/gateway/"), "{cmd}");

    let body = loop {
        let got = receiver.received().into_iter().find_map(|r| {
            let v: Value = serde_json::from_str(&r.body).ok()?;
            (v["call_uuid"] == call.as_str()).then_some(v)
        });
        if let Some(v) = got {
            break v;
        }
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "no webhook: the customer's leg was not limited to 5 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(body["status"], "no_answer", "{body}");
    // One line rang for about the limit; the next one was not tried for another 5 s.
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "took {:?}",
        started.elapsed()
    );
}
