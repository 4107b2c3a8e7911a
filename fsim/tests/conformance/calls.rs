//! Originate scripting: event sequences for answered, bridged and failed calls, live channel
//! tracking and uuid_kill, failover — compared with the cgrates captures where they overlap.

use crate::client::{Client, start_sim};
use crate::fixture;
use fsim::{Event, GatewayConfig, OutcomeRule, SimConfig};

const CHANNEL_EVENTS: &str = "event plain BACKGROUND_JOB CHANNEL_CREATE CHANNEL_PROGRESS CHANNEL_ANSWER CHANNEL_EXECUTE CHANNEL_BRIDGE CHANNEL_UNBRIDGE CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE";

pub fn cfg() -> SimConfig {
    SimConfig {
        gateways: vec![GatewayConfig {
            name: "gw1".into(),
            ..GatewayConfig::default()
        }],
        default_outcome: OutcomeRule {
            ring_ms: 30,
            talk_ms: 150,
            ..OutcomeRule::default()
        },
        ..SimConfig::default()
    }
}

pub fn rule(number: &str, outcome: &str, ring_ms: u64, talk_ms: u64) -> OutcomeRule {
    OutcomeRule {
        number: Some(number.into()),
        outcome: outcome.into(),
        ring_ms,
        talk_ms,
        ..OutcomeRule::default()
    }
}

/// (event name, Unique-ID) pairs, for sequence assertions.
fn seq(events: &[Event]) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|e| e.name() != "BACKGROUND_JOB")
        .map(|e| {
            (
                e.name().to_string(),
                e.get("Unique-ID").unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn answered_originate_emits_the_lifecycle_under_origination_uuid() {
    let sim = start_sim(cfg()).await;
    let mut c = Client::authed(&sim).await;
    c.cmd(CHANNEL_EVENTS).await;
    let u = "7f4de4bc-17d7-11dd-b7a0-db4edd065621";
    let reply = c.cmd(&format!("bgapi originate {{origination_uuid={u},crm_call_id=abc-1}}sofia/gateway/gw1/13800000001 &park()")).await;
    let job = reply.header("Job-UUID").unwrap().to_string();
    let events = c.events_until_complete(1).await;
    let bg = events
        .iter()
        .find(|e| e.name() == "BACKGROUND_JOB")
        .expect("BACKGROUND_JOB");
    assert_eq!(bg.get("Job-UUID"), Some(job.as_str()));
    assert_eq!(bg.body.as_deref(), Some(format!("+OK {u}\n").as_str()));
    let names: Vec<String> = seq(&events)
        .into_iter()
        .filter(|(_, id)| id == u)
        .map(|(n, _)| n)
        .collect();
    // A carrier that answers at once sends no 180: no CHANNEL_PROGRESS (FreeSWITCH 1.10.12
    // capture of carrier-a).
    assert_eq!(
        names,
        [
            "CHANNEL_CREATE",
            "CHANNEL_ANSWER",
            "CHANNEL_EXECUTE",
            "CHANNEL_HANGUP",
            "CHANNEL_HANGUP_COMPLETE"
        ]
    );
    let answer = events
        .iter()
        .find(|e| e.name() == "CHANNEL_ANSWER")
        .unwrap();
    assert_eq!(answer.get("Answer-State"), Some("answered"));
    // The event shows the call state before the answer: DOWN for a carrier that never rang,
    // as the FreeSWITCH 1.10.12 capture's carrier leg.
    assert_eq!(answer.get("Channel-Call-State"), Some("DOWN"));
    assert_eq!(answer.get("Channel-State"), Some("CS_CONSUME_MEDIA"));
    assert_eq!(answer.get("Caller-Destination-Number"), Some("13800000001"));
    assert_eq!(answer.get("variable_crm_call_id"), Some("abc-1"));
    assert_eq!(answer.get("variable_sip_gateway_name"), Some("gw1"));
    let done = events.last().unwrap();
    assert_eq!(done.get("Hangup-Cause"), Some("NORMAL_CLEARING"));
    assert_eq!(done.get("Channel-State"), Some("CS_REPORTING"));
    assert_eq!(done.get("variable_sip_term_status"), Some("200"));
    assert!(done.get("variable_billsec").unwrap().parse::<u64>().is_ok());
}

#[tokio::test]
async fn channel_answer_headers_follow_the_captured_order() {
    let capture = Event::parse_plain(&fixture!(
        "esl/cgrates_2014_channel_answer_event_plain_body.txt"
    ));
    let sim = start_sim(cfg()).await;
    let mut c = Client::authed(&sim).await;
    c.cmd("event plain CHANNEL_ANSWER").await;
    c.cmd("bgapi originate sofia/gateway/gw1/1 &park()").await;
    let ev = c.event_named("CHANNEL_ANSWER").await;
    let ours: Vec<&str> = ev
        .headers
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !k.starts_with("variable_"))
        .collect();
    let theirs: Vec<&str> = capture
        .headers
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !k.starts_with("variable_"))
        .collect();
    // Every header we send exists in the capture (Caller-Logical-Direction is in the 2018 one),
    // and the ones both have come in the same relative order.
    let common: Vec<&str> = ours
        .iter()
        .copied()
        .filter(|k| theirs.contains(k))
        .collect();
    let theirs_common: Vec<&str> = theirs
        .iter()
        .copied()
        .filter(|k| common.contains(k))
        .collect();
    assert_eq!(common, theirs_common);
    assert!(
        common.len() >= ours.len() - 1,
        "unknown headers: {:?}",
        ours.iter()
            .filter(|k| !theirs.contains(k))
            .collect::<Vec<_>>()
    );
    assert_eq!(&ours[..13], &theirs[..13]);
}

#[tokio::test]
async fn bridged_originate_emits_both_legs_and_the_bridge() {
    let sim = start_sim(cfg()).await;
    sim.register_extension("1001");
    sim.script(rule("13900000002", "answer", 40, 120));
    let mut c = Client::authed(&sim).await;
    c.cmd(CHANNEL_EVENTS).await;
    let a = "aaaaaaaa-0000-0000-0000-000000000001";
    let b = "bbbbbbbb-0000-0000-0000-000000000002";
    c.cmd(&format!("bgapi originate {{origination_uuid={a}}}user/1001 &bridge([origination_uuid={b}]sofia/gateway/gw1/13900000002)")).await;
    let events = c.events_until_complete(2).await;
    let s = seq(&events);
    let pos = |name: &str, id: &str| {
        s.iter()
            .position(|(n, u)| n == name && u == id)
            .unwrap_or_else(|| panic!("{name} for {id} in {s:?}"))
    };
    assert!(pos("CHANNEL_ANSWER", a) < pos("CHANNEL_EXECUTE", a));
    assert!(pos("CHANNEL_EXECUTE", a) < pos("CHANNEL_CREATE", b));
    assert!(pos("CHANNEL_ANSWER", b) < pos("CHANNEL_BRIDGE", a));
    assert!(pos("CHANNEL_HANGUP", b) < pos("CHANNEL_UNBRIDGE", a));
    assert!(pos("CHANNEL_UNBRIDGE", a) < pos("CHANNEL_HANGUP", a));
    let bridge = events
        .iter()
        .find(|e| e.name() == "CHANNEL_BRIDGE")
        .unwrap();
    assert_eq!(bridge.get("Bridge-A-Unique-ID"), Some(a));
    assert_eq!(bridge.get("Bridge-B-Unique-ID"), Some(b));
    assert_eq!(bridge.get("Other-Type"), Some("originatee"));
    assert_eq!(bridge.get("Other-Leg-Unique-ID"), Some(b));
    let a_done = events
        .iter()
        .find(|e| e.name() == "CHANNEL_HANGUP_COMPLETE" && e.get("Unique-ID") == Some(a))
        .unwrap();
    assert_eq!(a_done.get("variable_bridge_uuid"), Some(b));
    assert_eq!(
        a_done.get("Other-Leg-Destination-Number"),
        Some("13900000002")
    );
    assert_eq!(
        a_done
            .get("Caller-Channel-Name")
            .map(|n| n.starts_with("sofia/internal/1001@")),
        Some(true)
    );
}

#[tokio::test]
async fn busy_callee_fails_the_job_with_user_busy() {
    let sim = start_sim(cfg()).await;
    sim.script(rule("13700000003", "busy", 20, 0));
    let mut c = Client::authed(&sim).await;
    c.cmd(CHANNEL_EVENTS).await;
    c.cmd("bgapi originate {origination_uuid=cccccccc-0000-0000-0000-000000000003}sofia/gateway/gw1/13700000003 &park()").await;
    let events = c.events_until_complete(1).await;
    let done = events.last().unwrap();
    assert_eq!(done.get("Hangup-Cause"), Some("USER_BUSY"));
    assert_eq!(done.get("variable_sip_term_status"), Some("486"));
    assert_eq!(done.get("variable_hangup_cause_q850"), Some("17"));
    let bg = c.event_named("BACKGROUND_JOB").await;
    assert_eq!(bg.body.as_deref(), Some("-ERR USER_BUSY\n"));
}

#[tokio::test]
async fn failures_before_any_channel_use_freeswitch_causes() {
    let sim = start_sim(cfg()).await;
    let mut c = Client::authed(&sim).await;
    assert_eq!(
        c.api("originate user/4040 &park()").await,
        "-ERR USER_NOT_REGISTERED\n"
    );
    assert_eq!(
        c.api("originate sofia/gateway/none/1 &park()").await,
        "-ERR INVALID_GATEWAY\n"
    );
    assert!(sim.set_gateway_status("gw1", false));
    assert_eq!(
        c.api("originate sofia/gateway/gw1/1 &park()").await,
        "-ERR GATEWAY_DOWN\n"
    );
    assert_eq!(
        c.api("originate error/user_busy &park()").await,
        "-ERR USER_BUSY\n"
    );
    assert!(c.api("originate").await.starts_with("-USAGE: "));
}

#[tokio::test]
async fn originate_timeout_ends_ringing_with_no_answer() {
    let sim = start_sim(cfg()).await;
    sim.script(rule("13600000004", "answer", 60_000, 0));
    let mut c = Client::authed(&sim).await;
    let started = std::time::Instant::now();
    let r = c
        .api("originate {originate_timeout=1}sofia/gateway/gw1/13600000004 &park()")
        .await;
    assert_eq!(r, "-ERR NO_ANSWER\n");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn live_call_is_listed_and_uuid_kill_hangs_it_up() {
    let sim = start_sim(cfg()).await;
    sim.script(rule("13500000005", "answer", 10, 0));
    let mut c = Client::authed(&sim).await;
    let u = "dddddddd-0000-0000-0000-000000000005";
    let r = c
        .api(&format!(
            "originate {{origination_uuid={u}}}sofia/gateway/gw1/13500000005 'set:x=1,park' inline"
        ))
        .await;
    assert_eq!(r, format!("+OK {u}\n"));
    let chans: serde_json::Value =
        serde_json::from_str(&c.api("show channels as json").await).unwrap();
    assert_eq!(chans["row_count"], 1);
    assert_eq!(chans["rows"][0]["uuid"], u);
    assert_eq!(chans["rows"][0]["callstate"], "ACTIVE");
    assert_eq!(chans["rows"][0]["dest"], "13500000005");
    let calls: serde_json::Value =
        serde_json::from_str(&c.api("show calls as json").await).unwrap();
    assert_eq!(calls["rows"][0]["uuid"], u);
    assert_eq!(c.api(&format!("uuid_getvar {u} x")).await, "1");
    assert_eq!(c.api(&format!("uuid_exists {u}")).await, "true");
    c.cmd("event plain CHANNEL_HANGUP_COMPLETE").await;
    assert_eq!(
        c.api(&format!("uuid_kill {u} CALL_REJECTED")).await,
        "+OK\n"
    );
    let done = c.event_named("CHANNEL_HANGUP_COMPLETE").await;
    assert_eq!(done.get("Unique-ID"), Some(u));
    assert_eq!(done.get("Hangup-Cause"), Some("CALL_REJECTED"));
    assert_eq!(c.api("show channels").await, "\n0 total.\n");
    assert_eq!(c.api(&format!("uuid_exists {u}")).await, "false");
}

#[tokio::test]
async fn failover_moves_to_the_next_group_after_a_failure() {
    let sim = start_sim(cfg()).await;
    sim.script(rule("100", "busy", 10, 0));
    sim.script(rule("200", "answer", 10, 50));
    let mut c = Client::authed(&sim).await;
    c.cmd("event plain CHANNEL_ANSWER").await;
    let r = c
        .api("originate sofia/gateway/gw1/100|sofia/gateway/gw1/200 &park()")
        .await;
    assert!(r.starts_with("+OK "), "{r}");
    let ans = c.event_named("CHANNEL_ANSWER").await;
    assert_eq!(ans.get("Caller-Destination-Number"), Some("200"));
}

#[tokio::test]
async fn simultaneous_legs_first_answer_wins_and_others_lose_the_race() {
    let sim = start_sim(cfg()).await;
    sim.script(rule("301", "answer", 200, 50));
    sim.script(rule("302", "answer", 20, 50));
    let mut c = Client::authed(&sim).await;
    c.cmd("event plain CHANNEL_ANSWER CHANNEL_HANGUP_COMPLETE")
        .await;
    c.api("originate sofia/gateway/gw1/301,sofia/gateway/gw1/302 &park()")
        .await;
    let first = c.frame().await.event();
    let second = c.frame().await.event();
    assert_eq!(
        (first.name(), first.get("Caller-Destination-Number")),
        ("CHANNEL_ANSWER", Some("302"))
    );
    assert_eq!(
        (second.name(), second.get("Hangup-Cause")),
        ("CHANNEL_HANGUP_COMPLETE", Some("LOSE_RACE"))
    );
}

#[tokio::test]
async fn b_leg_events_name_their_originator_from_creation() {
    let sim = start_sim(cfg()).await;
    sim.register_extension("1001");
    let mut c = Client::authed(&sim).await;
    c.cmd("event plain CHANNEL_CREATE").await;
    let a = "abababab-0000-0000-0000-000000000001";
    c.cmd(&format!(
        "bgapi originate {{origination_uuid={a}}}user/1001 &bridge(sofia/gateway/gw1/777)"
    ))
    .await;
    let a_create = c.event_named("CHANNEL_CREATE").await;
    assert_eq!(a_create.get("Unique-ID"), Some(a));
    assert_eq!(a_create.get("Other-Type"), None);
    let b_create = c.event_named("CHANNEL_CREATE").await;
    // As the NEventSocket capture's outbound CHANNEL_CREATE shows.
    assert_eq!(b_create.get("Other-Type"), Some("originator"));
    assert_eq!(b_create.get("Other-Leg-Unique-ID"), Some(a));
    assert_eq!(b_create.get("Channel-Call-UUID"), Some(a));
    assert_eq!(
        b_create.get("Channel-Presence-ID"),
        Some("777@sip.example.com")
    );
}

#[tokio::test]
async fn callstate_events_report_each_transition() {
    let sim = start_sim(cfg()).await;
    let mut c = Client::authed(&sim).await;
    // A far end that rings (180) before it answers.
    sim.script(OutcomeRule {
        number: Some("4000".into()),
        progress: Some(true),
        ..rule("4000", "answer", 30, 150)
    });
    c.cmd("event plain CHANNEL_CALLSTATE").await;
    c.cmd("bgapi originate sofia/gateway/gw1/4000 &park()")
        .await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let ev = c.event_named("CHANNEL_CALLSTATE").await;
        seen.push((
            ev.get("Original-Channel-Call-State").unwrap().to_string(),
            ev.get("Channel-Call-State").unwrap().to_string(),
        ));
    }
    let expected = [
        ("DOWN", "RINGING"),
        ("RINGING", "ACTIVE"),
        ("ACTIVE", "HANGUP"),
    ];
    assert_eq!(seen, expected.map(|(a, b)| (a.to_string(), b.to_string())));
}
