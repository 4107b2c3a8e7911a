//! Click-to-call against the real switch: agent phone 1001 (SIPp) first, then the customer
//! over lines that stand in for carriers (answer, 486, 503, ring without answer, slow answer).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::checks::{self, assert_cdr_is_leg, assert_recording_matches_switch, legs, uuid};
use crate::phones::{Behaviour, Phone};
use crate::rig::Rig;

const AGENT: &str = "1001";
const AGENT_PW: &str = "agent-1001-secret";
const CUSTOMER: &str = "13800138000";

/// A rig with agent 1001 registered from a phone that answers after 1 s.
async fn with_agent(name: &str, settings: &str) -> (Rig, Phone) {
    let rig = Rig::start(name, settings).await;
    rig.extension(AGENT, AGENT_PW).await;
    let phone = Phone::start(AGENT, AGENT_PW, 5070, Behaviour::Answer, 1000);
    assert!(
        phone.register(),
        "agent 1001 registers through callplane's directory"
    );
    (rig, phone)
}

async fn call(rig: &Rig, gateways: &[&str]) -> String {
    let data = rig
        .callback(json!({"caller": AGENT, "callee": CUSTOMER, "gateways": gateways, "ext_data": "order-42"}))
        .await;
    data["call_uuid"].as_str().unwrap().to_string()
}

/// Every ESL event about channel `uuid`.
fn events_of(rig: &Rig, leg: &str) -> Vec<crate::switch::Event> {
    rig.esl
        .events()
        .into_iter()
        .filter(|e| e.get("Unique-ID") == Some(leg))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn answered_click_to_call_reaches_the_carrier_with_the_lines_caller_id_and_prefix() {
    let (mut rig, _phone) = with_agent("answered", "").await;
    rig.line(
        "carrier-a",
        5080,
        json!({"caller_id": "057188880000", "prefix": "9"}),
    )
    .await;
    let call = call(&rig, &["carrier-a"]).await;
    let hook = rig.completed(&call, Duration::from_secs(90)).await.body;
    assert_eq!(hook["status"], "answered", "{hook}");
    assert_eq!(hook["ext_data"], "order-42");
    assert_eq!(hook["gateway"], "carrier-a");

    // The carrier stand-in saw the line's caller ID and the prefixed number.
    let inbound = rig
        .esl
        .events()
        .into_iter()
        .find(|e| e.name() == "CHANNEL_CREATE" && e.get("Caller-Context") == Some("carrier"))
        .expect("the carrier received the call");
    assert_eq!(inbound.get("Caller-Caller-ID-Number"), Some("057188880000"));
    assert_eq!(
        inbound.get("Caller-Destination-Number"),
        Some("913800138000")
    );

    let detail = rig.detail(&call).await;
    let customer = uuid(legs(&detail, "callee")[0]);
    let leg_cdr = rig.cdr(&customer).await;
    assert!(leg_cdr["billsec"].as_i64().unwrap() >= 4, "{leg_cdr}");
    assert_cdr_is_leg(&hook, &leg_cdr);
    let agent_cdr = rig.cdr(&call).await;
    assert_eq!(
        agent_cdr["caller"], AGENT,
        "agent leg CDR caller: {agent_cdr}"
    );
    assert_eq!(
        agent_cdr["callee"], CUSTOMER,
        "agent leg CDR callee: {agent_cdr}"
    );
    assert!(
        !leg_cdr["recording_path"]
            .as_str()
            .unwrap_or(":")
            .starts_with(':'),
        "recording_path is a path: {leg_cdr}"
    );
    checks::settle().await;
    assert_recording_matches_switch(&rig, &call, &hook, leg_cdr["billsec"].as_i64().unwrap()).await;
    assert_eq!(rig.hooks_of(&call).len(), 1, "one webhook per call");
}

#[tokio::test(flavor = "multi_thread")]
async fn busy_customer_is_reported_busy_from_the_customer_leg() {
    let (mut rig, _phone) = with_agent("busy", "").await;
    rig.line("carrier-busy", 5081, json!({})).await;
    let call = call(&rig, &["carrier-busy"]).await;
    let hook = rig.completed(&call, Duration::from_secs(90)).await.body;
    assert_eq!(hook["status"], "busy", "{hook}");
    assert_eq!(hook["hangup_cause"], "USER_BUSY");
    let detail = rig.detail(&call).await;
    let leg_cdr = rig.cdr(&uuid(legs(&detail, "callee")[0])).await;
    assert_eq!(leg_cdr["hangup_cause"], "USER_BUSY", "{leg_cdr}");
    assert_cdr_is_leg(&hook, &leg_cdr);
    assert_eq!(
        hook["cdr"]["billsec"], 0,
        "a busy customer talked 0 s: {hook}"
    );
    assert_eq!(hook["recording"]["status"], "absent");
}

#[tokio::test(flavor = "multi_thread")]
async fn customer_who_never_answers_rings_exactly_the_configured_time() {
    let (mut rig, _phone) =
        with_agent("no-answer", "[calls]\ncallee_ring_timeout_secs = 8\n").await;
    rig.line("carrier-noans", 5082, json!({})).await;
    let started = Instant::now();
    let call = call(&rig, &["carrier-noans"]).await;
    let hook = rig.completed(&call, Duration::from_secs(120)).await.body;
    assert_eq!(hook["status"], "no_answer", "{hook}");
    let detail = rig.detail(&call).await;
    let customer = uuid(legs(&detail, "callee")[0]);
    let leg_cdr = rig.cdr(&customer).await;
    assert_eq!(leg_cdr["hangup_cause"], "ALLOTTED_TIMEOUT", "{leg_cdr}");
    let rang = leg_cdr["duration"].as_i64().unwrap();
    assert!(
        (8..=9).contains(&rang),
        "the customer rang {rang} s, configured 8 s"
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the call ended long before the carrier's own 300 s"
    );
    assert_eq!(hook["recording"]["status"], "absent");
}

#[tokio::test(flavor = "multi_thread")]
async fn line_answering_503_fails_over_and_the_answered_legs_recording_is_kept() {
    let (mut rig, _phone) = with_agent("failover-503", "").await;
    rig.line("carrier-dead", 5083, json!({"priority": 1})).await;
    rig.line("carrier-a", 5080, json!({"priority": 2})).await;
    let call = call(&rig, &["carrier-dead", "carrier-a"]).await;
    let hook = rig.completed(&call, Duration::from_secs(90)).await.body;
    assert_eq!(hook["status"], "answered", "{hook}");
    assert_eq!(hook["gateway"], "carrier-a");
    let detail = rig.detail(&call).await;
    let callee = legs(&detail, "callee");
    assert_eq!(callee.len(), 2, "{detail}");
    let dead = rig.cdr(&uuid(callee[0])).await;
    assert_eq!(
        dead["hangup_cause"], "NORMAL_TEMPORARY_FAILURE",
        "503: {dead}"
    );
    let answered = rig.cdr(&uuid(callee[1])).await;
    assert_cdr_is_leg(&hook, &answered);
    checks::settle().await;
    assert_recording_matches_switch(&rig, &call, &hook, answered["billsec"].as_i64().unwrap())
        .await;
    assert!(
        hook["recording"]["size"].as_u64().unwrap() > 44 * 100,
        "{hook}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn busy_486_is_not_retried_on_the_next_line() {
    let (mut rig, _phone) = with_agent("busy-not-retried", "").await;
    rig.line("carrier-busy", 5081, json!({"priority": 1})).await;
    rig.line("carrier-a", 5080, json!({"priority": 2})).await;
    let call = call(&rig, &["carrier-busy", "carrier-a"]).await;
    let hook = rig.completed(&call, Duration::from_secs(90)).await.body;
    assert_eq!(hook["status"], "busy", "{hook}");
    let detail = rig.detail(&call).await;
    let callee = legs(&detail, "callee");
    let second = uuid(callee[1]);
    assert!(
        events_of(&rig, &second).is_empty(),
        "the second line was never dialled"
    );
    assert_eq!(callee[1]["hangup_cause"], "NOT_ATTEMPTED", "{detail}");
    assert!(!callee[1]["ended_at"].is_null(), "{detail}");
}

#[tokio::test(flavor = "multi_thread")]
async fn agent_not_registered_fails_without_ringing_the_customer() {
    let mut rig = Rig::start("agent-not-registered", "").await;
    rig.extension(AGENT, AGENT_PW).await;
    rig.line("carrier-a", 5080, json!({})).await;
    let call = call(&rig, &["carrier-a"]).await;
    let hook = rig.completed(&call, Duration::from_secs(90)).await.body;
    assert_eq!(hook["status"], "failed", "{hook}");
    assert_eq!(hook["hangup_cause"], "USER_NOT_REGISTERED");
    let detail = rig.detail(&call).await;
    let customer = legs(&detail, "callee")[0];
    assert!(events_of(&rig, &uuid(customer)).is_empty());
    assert_eq!(customer["hangup_cause"], "NOT_ATTEMPTED", "{detail}");
}

#[tokio::test(flavor = "multi_thread")]
async fn agent_who_declines_ends_the_call_without_ringing_the_customer() {
    let rig_settings = "";
    let mut rig = Rig::start("agent-declines", rig_settings).await;
    rig.extension(AGENT, AGENT_PW).await;
    let phone = Phone::start(AGENT, AGENT_PW, 5071, Behaviour::Decline, 500);
    assert!(phone.register());
    rig.line("carrier-a", 5080, json!({})).await;
    let call = call(&rig, &["carrier-a"]).await;
    let hook = rig.completed(&call, Duration::from_secs(90)).await.body;
    assert_eq!(hook["status"], "failed", "{hook}");
    assert_eq!(hook["hangup_cause"], "CALL_REJECTED");
    let detail = rig.detail(&call).await;
    let customer = legs(&detail, "callee")[0];
    assert!(events_of(&rig, &uuid(customer)).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn extension_to_extension_reports_the_called_extensions_leg() {
    let (rig, _agent) = with_agent("ext-to-ext", "").await;
    rig.extension("1002", "agent-1002-secret").await;
    let callee = Phone::start("1002", "agent-1002-secret", 5073, Behaviour::Answer, 1500);
    assert!(callee.register());
    let data = rig
        .callback(json!({"caller": AGENT, "callee": "1002"}))
        .await;
    let call = data["call_uuid"].as_str().unwrap().to_string();
    // SIPp phones never hang up by themselves: end the call after a few seconds of talk.
    tokio::time::sleep(Duration::from_secs(6)).await;
    crate::switch::cli(&format!("uuid_kill {call}"));
    let hook = rig.completed(&call, Duration::from_secs(90)).await.body;
    assert_eq!(hook["status"], "answered", "{hook}");
    let detail = rig.detail(&call).await;
    let leg_cdr = rig.cdr(&uuid(legs(&detail, "callee")[0])).await;
    assert_cdr_is_leg(&hook, &leg_cdr);
    assert!(leg_cdr["billsec"].as_i64().unwrap() >= 2, "{leg_cdr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pstn_to_pstn_rings_the_first_number_then_bridges_the_second() {
    let mut rig = Rig::start("pstn-to-pstn", "").await;
    rig.line("carrier-a", 5080, json!({"caller_id": "057188880000"}))
        .await;
    let data = rig
        .callback(json!({"caller": "13900139000", "callee": CUSTOMER, "gateways": ["carrier-a"]}))
        .await;
    let call = data["call_uuid"].as_str().unwrap().to_string();
    let hook = rig.completed(&call, Duration::from_secs(90)).await.body;
    assert_eq!(hook["status"], "answered", "{hook}");
    let detail = rig.detail(&call).await;
    let leg_cdr = rig.cdr(&uuid(legs(&detail, "callee")[0])).await;
    assert_cdr_is_leg(&hook, &leg_cdr);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrency_cap_of_one_refuses_the_second_call_while_the_first_talks() {
    let (mut rig, _phone) = with_agent("concurrency-cap", "").await;
    rig.extension("1002", "agent-1002-secret").await;
    let second = Phone::start("1002", "agent-1002-secret", 5074, Behaviour::Answer, 500);
    assert!(second.register());
    rig.line("carrier-a", 5080, json!({"max_concurrent": 1}))
        .await;
    let first = call(&rig, &["carrier-a"]).await;
    rig.esl
        .wait_for(
            "the first customer answered",
            Duration::from_secs(30),
            |e| e.name() == "CHANNEL_ANSWER" && e.get("Caller-Context") == Some("carrier"),
        )
        .await;
    let refused: Value = rig
        .post(
            "/v1/call/callback",
            json!({"caller": "1002", "callee": "13800138001", "gateways": ["carrier-a"]}),
        )
        .await;
    assert_ne!(refused["code"], 0, "the line is full: {refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap_or("")
            .contains("carrier-a"),
        "{refused}"
    );
    rig.completed(&first, Duration::from_secs(90)).await;
    // Once the first call is over the line takes a call again.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let again = rig
        .post(
            "/v1/call/callback",
            json!({"caller": "1002", "callee": "13800138001", "gateways": ["carrier-a"]}),
        )
        .await;
    assert_eq!(again["code"], 0, "{again}");
    let call = again["data"]["call_uuid"].as_str().unwrap().to_string();
    rig.completed(&call, Duration::from_secs(90)).await;
}
