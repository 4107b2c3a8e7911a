//! fsim against the real switch: the same click-to-call (the exact originate callplane sent to
//! FreeSWITCH, taken from the BACKGROUND_JOB the switch emitted) replayed on fsim, and the two
//! Event Socket streams reduced to what callplane reads (`fsim::shape`: per leg, the event
//! names in order and the headers callplane uses). Any difference fails the test and is
//! listed in words.

use std::time::Duration;

use fsim::shape::Shape;
use fsim::{GatewayConfig, OutcomeRule, Sim, SimConfig};
use serde_json::json;

use crate::phones::{Behaviour, Phone};
use crate::rig::Rig;
use crate::switch::{self, Capture};

/// Runs a click-to-call to `number` over a line to the carrier stand-in on `port` on the
/// real switch, then the same originate on fsim scripted with `outcome`; returns both shapes.
async fn both(name: &str, port: u16, number: &str, outcome: OutcomeRule) -> (Shape, Shape) {
    let mut rig = Rig::start(name, "").await;
    rig.extension("1001", "agent-1001-secret").await;
    let _phone = Phone::start("1001", "agent-1001-secret", 5077, Behaviour::Answer, 1000);
    assert!(_phone.register());
    rig.line("carrier-x", port, json!({})).await;
    let data = rig
        .callback(json!({"caller": "1001", "callee": number, "gateways": ["carrier-x"]}))
        .await;
    let call = data["call_uuid"].as_str().unwrap().to_string();
    rig.completed(&call, Duration::from_secs(90)).await;
    let real = rig.esl.raw();
    let job = rig
        .esl
        .events()
        .into_iter()
        .find(|e| e.name() == "BACKGROUND_JOB" && e.get("Job-Command") == Some("originate"))
        .expect("the switch reported the originate job");
    let originate = format!("originate {}", job.get("Job-Command-Arg").unwrap());

    let sim = Sim::start_local(SimConfig {
        heartbeat_secs: 0,
        cdr: fsim::CdrConfig {
            log_b_leg: true,
            ..Default::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap();
    sim.register_extension("1001");
    sim.add_gateway(GatewayConfig {
        name: "carrier-x".into(),
        state: "NOREG".into(),
        status: "UP".into(),
        ..Default::default()
    });
    // The agent's phone rings a second and answers (as the SIPp phone does); the customer's
    // number gets the scenario's outcome.
    sim.set_default_outcome(OutcomeRule {
        ring_ms: 1000,
        talk_ms: 0,
        ..OutcomeRule::default()
    });
    sim.script(OutcomeRule {
        number: Some(number.to_string()),
        ..outcome
    });
    let addr = sim.addr().to_string();
    let cap = Capture::start_at(&addr, "ClueCon").await;
    let reply = switch::bgapi(&addr, "ClueCon", &originate).await;
    assert!(reply.contains("+OK"), "fsim took the originate: {reply}");
    cap.wait_for(
        "both legs of the fsim call ended",
        Duration::from_secs(60),
        |_| false_until_two_hangups(&cap),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let simulated = cap.raw();
    std::fs::write(rig.dir.join("fsim-esl-events.txt"), &simulated).unwrap();
    (
        Shape::from_plain_stream(&real),
        Shape::from_plain_stream(&simulated),
    )
}

fn false_until_two_hangups(cap: &Capture) -> bool {
    cap.events()
        .iter()
        .filter(|e| e.name() == "CHANNEL_HANGUP_COMPLETE")
        .count()
        >= 2
}

#[tokio::test(flavor = "multi_thread")]
async fn fsim_reports_an_answered_click_to_call_as_the_switch_does() {
    let (real, simulated) = both(
        "differential-answered",
        5080,
        "13800138000",
        OutcomeRule {
            ring_ms: 20,
            talk_ms: 6000,
            ..OutcomeRule::default()
        },
    )
    .await;
    let diff = real.diff(&simulated);
    assert!(
        diff.is_empty(),
        "fsim differs from FreeSWITCH:\n{}",
        diff.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn fsim_reports_a_busy_customer_as_the_switch_does() {
    let (real, simulated) = both(
        "differential-busy",
        5081,
        "13800138000",
        OutcomeRule {
            outcome: "busy".into(),
            ring_ms: 20,
            ..OutcomeRule::default()
        },
    )
    .await;
    let diff = real.diff(&simulated);
    assert!(
        diff.is_empty(),
        "fsim differs from FreeSWITCH:\n{}",
        diff.join("\n")
    );
}
