//! Ring limits and failover as switch_ivr_originate.c applies them: a leg ringing past its
//! `leg_timeout` ends with ALLOTTED_TIMEOUT, past `originate_timeout` with NO_ANSWER (both
//! cancelled by the switch: `send_cancel`); `fail_on_single_reject` with a cause list stops the
//! `|` failover for those causes only.

use crate::calls::{cfg, rule};
use crate::client::{Client, start_sim};
use fsim::Event;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_leg_ringing_past_its_leg_timeout_ends_with_allotted_timeout() {
    let sim = start_sim(cfg()).await;
    sim.script(rule("555", "answer", 60_000, 0));
    let mut c = Client::authed(&sim).await;
    c.cmd("event plain CHANNEL_HANGUP_COMPLETE").await;
    let started = Instant::now();
    let r = c
        .api("originate [leg_timeout=1]sofia/gateway/gw1/555 &park()")
        .await;
    assert_eq!(r, "-ERR ALLOTTED_TIMEOUT\n");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(950) && took < Duration::from_secs(3));
    let done = c.event_named("CHANNEL_HANGUP_COMPLETE").await;
    assert_eq!(done.get("Hangup-Cause"), Some("ALLOTTED_TIMEOUT"));
    assert_eq!(
        done.get("variable_sip_hangup_disposition"),
        Some("send_cancel")
    );
}

#[tokio::test]
async fn ringing_past_originate_timeout_ends_with_no_answer() {
    let sim = start_sim(cfg()).await;
    sim.script(rule("556", "answer", 60_000, 0));
    let mut c = Client::authed(&sim).await;
    let started = Instant::now();
    let r = c
        .api("originate {originate_timeout=1}sofia/gateway/gw1/556 &park()")
        .await;
    assert_eq!(r, "-ERR NO_ANSWER\n");
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// Runs an agent (1001) click-to-call whose bridge dials `targets`; returns the callee legs'
/// hangup events and the caller's.
async fn click_to_call(targets: &str, extra: &str) -> (Vec<Event>, Event) {
    let sim = start_sim(cfg()).await;
    sim.register_extension("1001");
    sim.script(rule("1001", "answer", 10, 0));
    sim.script(rule("486", "busy", 10, 0));
    sim.script(rule("503", "fail", 10, 0));
    sim.script(rule("200", "answer", 10, 100));
    sim.script(rule("900", "answer", 60_000, 0));
    let mut c = Client::authed(&sim).await;
    c.cmd("event plain CHANNEL_HANGUP_COMPLETE").await;
    let a = "aaaaaaaa-1111-0000-0000-000000000001";
    let r = c
        .api(&format!(
            "originate {{origination_uuid={a},continue_on_fail=true}}user/1001 'm:^:set:fail_on_single_reject=USER_BUSY,CALL_REJECTED{extra}^bridge:{targets}^hangup' inline"
        ))
        .await;
    assert_eq!(r, format!("+OK {a}\n"));
    // The caller's report comes before an answered callee's, so read on a little after it.
    let mut callees = Vec::new();
    let mut caller = None;
    loop {
        let wait = if caller.is_some() { 500 } else { 10_000 };
        let next = tokio::time::timeout(
            Duration::from_millis(wait),
            c.event_named("CHANNEL_HANGUP_COMPLETE"),
        );
        let Ok(ev) = next.await else {
            return (callees, caller.expect("the caller hung up"));
        };
        if ev.get("Unique-ID") == Some(a) {
            caller = Some(ev);
        } else {
            callees.push(ev);
        }
    }
}

#[tokio::test]
async fn fail_on_single_reject_stops_the_failover_for_the_causes_it_names() {
    let (callees, caller) = click_to_call("sofia/gateway/gw1/486|sofia/gateway/gw1/200", "").await;
    assert_eq!(callees.len(), 1, "the second target is never dialled");
    assert_eq!(callees[0].get("Hangup-Cause"), Some("USER_BUSY"));
    assert_eq!(
        caller.get("variable_originate_disposition"),
        Some("USER_BUSY")
    );
    assert_eq!(
        caller.get("variable_last_bridge_hangup_cause"),
        Some("USER_BUSY")
    );
}

#[tokio::test]
async fn other_failures_move_on_to_the_next_target() {
    let (callees, caller) = click_to_call("sofia/gateway/gw1/503|sofia/gateway/gw1/200", "").await;
    let causes: Vec<_> = callees.iter().map(|e| e.get("Hangup-Cause")).collect();
    assert_eq!(
        causes,
        [Some("NORMAL_TEMPORARY_FAILURE"), Some("NORMAL_CLEARING")]
    );
    assert_eq!(
        caller.get("variable_bridge_hangup_cause"),
        Some("NORMAL_CLEARING")
    );
    let tried = caller.get("variable_originate_causes").unwrap();
    assert!(
        tried.ends_with(";NORMAL_TEMPORARY_FAILURE|")
            || tried.contains(";NORMAL_TEMPORARY_FAILURE|"),
        "{tried}"
    );
}

#[tokio::test]
async fn a_customer_leg_past_its_leg_timeout_ends_the_bridge_with_allotted_timeout() {
    let (callees, caller) = click_to_call("[leg_timeout=1]sofia/gateway/gw1/900", "").await;
    assert_eq!(callees.len(), 1);
    assert_eq!(callees[0].get("Hangup-Cause"), Some("ALLOTTED_TIMEOUT"));
    assert_eq!(
        caller.get("variable_last_bridge_hangup_cause"),
        Some("ALLOTTED_TIMEOUT")
    );
}

#[tokio::test]
async fn a_bridge_ringing_past_call_timeout_ends_with_no_answer() {
    let (callees, _) = click_to_call("sofia/gateway/gw1/900", "^set:call_timeout=1").await;
    assert_eq!(callees[0].get("Hangup-Cause"), Some("NO_ANSWER"));
    assert_eq!(
        callees[0].get("variable_sip_hangup_disposition"),
        Some("send_cancel")
    );
}
