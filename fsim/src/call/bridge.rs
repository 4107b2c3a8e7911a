//! The `bridge` application: ring the B-legs group by group (`|` failover, stopped early by
//! `fail_on_single_reject` for the causes it names), then either bridge the one that answered
//! and hold until one side hangs up, or report the failure on the caller
//! (`originate_disposition`, `originate_failed_cause`, `originate_causes`,
//! `last_bridge_hangup_cause`) and return its cause so the dialplan can go on
//! (`continue_on_fail`).

use super::dial::parse_dial_string;
use super::hangup::{By, complete, hangup};
use super::leg::{Leg, sip_status};
use super::ring::{CallCtx, resolve, ring_group};
use super::run::{DEFAULT_TIMEOUT_SECS, stops_failover};
use crate::state::RESTART;
use crate::text::now_micros;
use std::time::Duration;
use tokio::time::Instant;

/// Runs a bridge from `a`. `None`: the call is over (bridged and hung up, or torn down);
/// `Some(cause)`: no B-leg answered.
pub async fn bridge(ctx: &mut CallCtx, a: &mut Leg, arg: &str) -> Option<String> {
    let dial = match parse_dial_string(arg) {
        Ok(d) => d,
        Err(_) => return Some("INVALID_URL".into()),
    };
    let dial_var = |k: &str| {
        dial.vars
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    let timeout = dial_var("originate_timeout")
        .or_else(|| a.var("call_timeout").map(str::to_string))
        .and_then(|t| t.trim().parse::<u64>().ok())
        .filter(|t| *t > 0)
        .unwrap_or(DEFAULT_TIMEOUT_SECS);
    let reject = dial_var("fail_on_single_reject")
        .or_else(|| a.var("fail_on_single_reject").map(Into::into));
    // The B-legs show the caller's effective caller ID (the directory's for a phone).
    let cid_name = a
        .var("effective_caller_id_name")
        .unwrap_or(&a.cid_name)
        .to_string();
    let cid_num = a
        .var("effective_caller_id_number")
        .unwrap_or(&a.cid_num)
        .to_string();
    ctx.tried.clear();
    let mut cause = "DESTINATION_OUT_OF_ORDER".to_string();
    let mut b = None;
    for group in &dial.groups {
        let mut legs = Vec::new();
        for spec in group {
            let mut spec = spec.clone();
            spec.vars.splice(0..0, dial.vars.iter().cloned());
            spec.vars.splice(0..0, a.exports.iter().cloned());
            match resolve(&ctx.shared, &spec, (&cid_name, &cid_num)) {
                Ok(mut leg) => {
                    // A B-leg knows its originator from creation on, as in the captures.
                    leg.is_b_leg = true;
                    leg.call_uuid = a.uuid.clone();
                    leg.other_type = "originator";
                    leg.set_var("originator", a.uuid.clone());
                    leg.set_var("signal_bond", a.uuid.clone());
                    leg.set_var("originating_leg_uuid", a.uuid.clone());
                    leg.other = Some(Box::new(Leg {
                        other: None,
                        ..a.clone()
                    }));
                    legs.push(leg);
                }
                Err(c) => cause = c,
            }
        }
        if legs.is_empty() {
            continue;
        }
        match ring_group(ctx, legs, timeout * 1000).await {
            Ok(leg) => {
                b = Some(leg);
                break;
            }
            Err(c) if c == RESTART => return None,
            Err(c) => {
                let stop = stops_failover(reject.as_deref(), &c);
                cause = c;
                if stop {
                    break;
                }
            }
        }
    }
    let causes = ctx.tried.join("|");
    if !causes.is_empty() {
        a.set_var("originate_causes", causes);
    }
    let Some(b) = b else {
        a.set_var("last_bridge_hangup_cause", cause.clone());
        a.set_var(
            "last_bridge_proto_specific_hangup_cause",
            format!("sip:{}", sip_status(&cause)),
        );
        a.set_var("originate_disposition", cause.clone());
        a.set_var("originate_failed_cause", cause.clone());
        return Some(cause);
    };
    talk(ctx, a, b).await;
    None
}

/// Bridges `a` and `b` and holds until one side ends; the caller's report goes first.
async fn talk(ctx: &mut CallCtx, a: &mut Leg, mut b: Leg) {
    let now = now_micros();
    a.bridged_us = now;
    b.bridged_us = now;
    b.state = "CS_EXCHANGE_MEDIA";
    a.other_type = "originatee";
    b.other_type = "originator";
    a.other = Some(Box::new(Leg {
        other: None,
        ..b.clone()
    }));
    b.other = Some(Box::new(Leg {
        other: None,
        ..a.clone()
    }));
    a.set_var("originate_disposition", "SUCCESS");
    a.set_var("signal_bond", b.uuid.clone());
    a.set_var("bridge_uuid", b.uuid.clone());
    a.set_var(
        "originated_legs",
        format!("{};Outbound Call;{}", b.uuid, b.dest),
    );
    b.set_var("bridge_uuid", a.uuid.clone());
    b.set_var("last_bridge_role", "originatee");
    let mut ev = ctx.shared.new_event(
        "CHANNEL_BRIDGE",
        "switch_ivr_bridge.c",
        "switch_ivr_multi_threaded_bridge",
        1335,
    );
    ev.push("Bridge-A-Unique-ID", a.uuid.clone());
    ev.push("Bridge-B-Unique-ID", b.uuid.clone());
    a.append_data(&mut ev, "CHANNEL_BRIDGE");
    ctx.shared.upsert_channel(&b, None);
    ctx.shared.upsert_channel(a, None);
    ctx.shared.fire(ev);
    for leg in [&b, &*a] {
        ctx.fire(
            leg,
            "CALL_UPDATE",
            "switch_core_session.c",
            "switch_core_session_perform_receive_message",
            1139,
        );
    }
    let talk_ms = ctx.shared.outcome_for(&b.dest).talk_ms;
    let deadline = (talk_ms > 0).then(|| Instant::now() + Duration::from_millis(talk_ms));
    let (first_is_a, cause, by) = match ctx.sleep_until(deadline).await {
        Some((_, c)) if c == RESTART => return,
        Some((uuid, c)) => (uuid == a.uuid, c, By::Local),
        None => (false, "NORMAL_CLEARING".to_string(), By::Remote),
    };
    let unbridge = |ctx: &CallCtx, a: &Leg| {
        let mut ev = ctx.shared.new_event(
            "CHANNEL_UNBRIDGE",
            "switch_ivr_bridge.c",
            "switch_ivr_multi_threaded_bridge",
            1520,
        );
        ev.push("Bridge-A-Unique-ID", a.uuid.clone());
        ev.push(
            "Bridge-B-Unique-ID",
            a.other.as_ref().map(|o| o.uuid.clone()).unwrap_or_default(),
        );
        a.append_data(&mut ev, "CHANNEL_UNBRIDGE");
        ctx.shared.fire(ev);
    };
    if first_is_a {
        hangup(ctx, a, &cause, By::Local);
        unbridge(ctx, a);
        hangup(ctx, &mut b, "NORMAL_CLEARING", By::Local);
    } else {
        hangup(ctx, &mut b, &cause, by);
        a.set_var("bridge_hangup_cause", cause.clone());
        a.set_var("last_bridge_hangup_cause", cause.clone());
        let proto = b.var("proto_specific_hangup_cause").unwrap_or("");
        if !proto.is_empty() {
            a.set_var("last_bridge_proto_specific_hangup_cause", proto.to_string());
        }
        unbridge(ctx, a);
        hangup(ctx, a, "NORMAL_CLEARING", By::Local);
    }
    complete(ctx, a);
    complete(ctx, &mut b);
}
