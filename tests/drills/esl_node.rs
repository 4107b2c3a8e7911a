//! A FreeSWITCH node lost mid-call. First the ESL connection is cut (a proxy between callplane
//! and fsim) while the switch keeps running: a call hangs up unheard and its CDR is posted
//! meanwhile. Then the switch itself is killed and restarted (fsim's restart: every connection
//! and channel dropped with no hangup events and no CDRs, a new Core-UUID). Each time callplane
//! reconnects, subscribes again, reconciles against `show channels`, and every call reaches a
//! final state and its webhook; none stays in progress.

use std::time::Duration;

use fsim::OutcomeRule;
use serde_json::json;

use crate::helpers::TestApp;
use crate::proxy::Proxy;
use crate::receiver::{Receiver, url_at};
use crate::rig::{Api, ended, eventually, fast_calls, fast_webhooks, start_sim};

const STAYS_UP: &str = "13800000001";
const HANGS_UP: &str = "13800000002";

fn delivered_webhook(d: &serde_json::Value) -> bool {
    d["webhooks"]
        .as_array()
        .is_some_and(|w| w.iter().any(|e| e["status"] == "delivered"))
}

#[tokio::test]
async fn esl_node_lost_mid_call_reconnects_reconciles_and_ends_every_call() {
    crate::rig::logs();
    let receiver = Receiver::start(vec![]).await;
    let sim = start_sim(0).await;
    sim.script(OutcomeRule {
        number: Some(HANGS_UP.into()),
        outcome: "answer".into(),
        ring_ms: 30,
        talk_ms: 1000,
        ..OutcomeRule::default()
    });
    let front = Proxy::start(sim.addr()).await;
    let app = TestApp::spawn_with(|c| {
        fast_calls(c, front.addr);
        fast_webhooks(&mut c.webhook, &url_at(receiver.addr));
    })
    .await;
    let api = Api::at(app.addr);
    sim.set_cdr_url(Some(api.url("/fsapi/cdr")));
    api.provision(json!({})).await;
    api.wait_esl_connected().await;

    let mut calls = Vec::new();
    for callee in [STAYS_UP, HANGS_UP] {
        let (status, body) = api.call(callee).await;
        assert!(status.is_success(), "{body}");
        let uuid = body["data"]["call_uuid"].as_str().unwrap().to_string();
        api.wait_call(&uuid, "the call to be bridged", |d| d["state"] == "bridged")
            .await;
        calls.push(uuid);
    }
    let (stays, hangs) = (calls[0].clone(), calls[1].clone());

    // The ESL connection is cut; the switch runs on and one call ends unheard.
    front.cut();
    eventually(
        "the short call to hang up on the switch",
        Duration::from_secs(10),
        || async { (sim.channels().len() == 2).then_some(()) },
    )
    .await;
    eventually(
        "its CDR, posted meanwhile",
        Duration::from_secs(10),
        || async {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM cdrs WHERE uuid = $1")
                .bind(&hangs)
                .fetch_one(&app.pool)
                .await
                .unwrap();
            (n == 1).then_some(())
        },
    )
    .await;
    let (_, d) = api.get(&format!("/v1/call/detail?uuid={hangs}")).await;
    assert_eq!(
        d["data"]["state"], "bridged",
        "callplane has not heard the hangup"
    );
    front.restore();

    let d = api
        .wait_call(&hangs, "the unheard hangup to be reconciled", ended)
        .await;
    assert_eq!(d["state"], "completed");
    assert_eq!(d["status"], "answered");
    let d = api
        .wait_call(&hangs, "its webhook", delivered_webhook)
        .await;
    assert!(d["cdr"].is_object(), "the CDR joined the call: {d}");
    let (_, d) = api.get(&format!("/v1/call/detail?uuid={stays}")).await;
    assert_eq!(d["data"]["state"], "bridged", "the live call is left alone");

    // Now the switch dies and comes back empty.
    let subscriptions = |sim: &fsim::Sim| {
        sim.commands_received()
            .iter()
            .filter(|c| c.starts_with("event "))
            .count()
    };
    let before = subscriptions(&sim);
    sim.restart();
    let d = api
        .wait_call(&stays, "the lost call to be ended", ended)
        .await;
    assert_eq!(d["state"], "completed");
    api.wait_esl_connected().await;
    eventually("a fresh subscription", Duration::from_secs(10), || async {
        (subscriptions(&sim) > before).then_some(())
    })
    .await;
    api.wait_call(&stays, "its webhook", delivered_webhook)
        .await;
    let open: i64 =
        sqlx::query_scalar("SELECT count(*) FROM calls WHERE state NOT IN ('completed', 'failed')")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(open, 0, "no call stays in progress");
}
