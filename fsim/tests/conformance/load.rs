//! The benchmark load generator.

use crate::client::{Client, start_sim};
use fsim::load::{LoadSpec, run};
use fsim::{OutcomeRule, SimConfig};
use std::time::{Duration, Instant};

#[tokio::test]
async fn load_mode_keeps_calls_in_flight_and_fires_extra_events() {
    let sim = start_sim(SimConfig {
        default_outcome: OutcomeRule {
            ring_ms: 10,
            talk_ms: 100,
            ..OutcomeRule::default()
        },
        ..SimConfig::default()
    })
    .await;
    let mut c = Client::authed(&sim).await;
    c.cmd("event plain CHANNEL_HANGUP_COMPLETE CUSTOM fsim::load")
        .await;
    tokio::spawn(run(
        sim.shared(),
        LoadSpec {
            concurrent_calls: 4,
            events_per_sec: 500,
            gateway: None,
        },
    ));
    let (mut completes, mut extra) = (0, 0);
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(800) {
        let ev = c.frame().await.event();
        match ev.name() {
            "CHANNEL_HANGUP_COMPLETE" => completes += 1,
            "CUSTOM" => extra += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert!(completes >= 8, "only {completes} calls completed");
    assert!(
        (250..=600).contains(&extra),
        "{extra} load events in 0.8 s at 500/s"
    );
    let live = sim.channels().len();
    assert!((1..=4).contains(&live), "{live} calls in flight");
}
