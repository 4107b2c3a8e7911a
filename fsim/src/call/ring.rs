//! Placing legs: resolving an endpoint to a channel (or to the cause FreeSWITCH fails it with
//! before any channel exists) and ringing a group of simultaneous legs against their scripted
//! outcomes: CHANNEL_OUTGOING, CHANNEL_CREATE, CHANNEL_ORIGINATE, CHANNEL_PROGRESS when the far
//! end rings (a phone that rings; a carrier only when it takes a second or more, or when the
//! rule says so: a carrier that answers or refuses at once sends no 180), then CHANNEL_ANSWER
//! or the failure. A leg ringing past its `leg_timeout` ends with ALLOTTED_TIMEOUT, past the
//! originate's timeout with NO_ANSWER (switch_ivr_originate.c).

use super::dial::LegSpec;
use super::hangup::{By, end, finish};
use super::leg::Leg;
use crate::config::OutcomeRule;
use crate::state::{Killer, RESTART, Shared};
use crate::text::now_micros;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

/// Why a ring or a call ended early: a hangup cause, or the switch restarting.
pub type Cause = String;

/// Per-call plumbing shared by every leg of one originate.
pub struct CallCtx {
    /// Simulator state.
    pub shared: Arc<Shared>,
    /// Registered with each live leg so `uuid_kill` reaches this call.
    pub kill_tx: Killer,
    /// Kill requests `(uuid, cause)`.
    pub kill_rx: UnboundedReceiver<(String, String)>,
    /// `uuid;CAUSE` of every leg the current originate or bridge tried (`NONE` for the one
    /// that answered), for `originate_causes`.
    pub tried: Vec<String>,
}

impl CallCtx {
    /// Sleeps until `deadline` unless a kill arrives first; returns the kill.
    pub async fn sleep_until(&mut self, deadline: Option<Instant>) -> Option<(String, String)> {
        match deadline {
            Some(d) => tokio::select! {
                _ = tokio::time::sleep_until(d) => None,
                k = self.kill_rx.recv() => k,
            },
            None => self.kill_rx.recv().await,
        }
    }

    /// Moves the leg to a new call state and fires CHANNEL_CALLSTATE, which carries the old
    /// state in `Original-Channel-Call-State` (switch_channel_perform_set_callstate).
    pub fn set_callstate(&self, leg: &mut Leg, new: &'static str) {
        let old = leg.call_state;
        if old == new {
            return;
        }
        leg.call_state = new;
        self.shared.upsert_channel(leg, None);
        let mut ev = self.shared.new_event(
            "CHANNEL_CALLSTATE",
            "switch_channel.c",
            "switch_channel_perform_set_callstate",
            313,
        );
        ev.push("Original-Channel-Call-State", old);
        ev.push(
            "Channel-Call-State-Number",
            callstate_number(new).to_string(),
        );
        leg.append_data(&mut ev, "CHANNEL_CALLSTATE");
        self.shared.fire(ev);
    }

    /// Fires a channel event for `leg` and refreshes its snapshot.
    pub fn fire(&self, leg: &Leg, name: &str, file: &str, func: &str, line: u32) {
        self.shared.upsert_channel(leg, None);
        self.shared
            .fire(leg.event(&self.shared, name, file, func, line));
    }
}

/// Builds the channel for an endpoint, or the cause FreeSWITCH rejects it with up front.
pub fn resolve(shared: &Shared, spec: &LegSpec, cid: (&str, &str)) -> Result<Leg, Cause> {
    let ep = spec.endpoint.as_str();
    let var = |k: &str| {
        spec.vars
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    let uuid = var("origination_uuid").unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let mut gateway = None;
    let mut presence = None;
    let (name, dest) = if let Some(rest) = ep.strip_prefix("sofia/gateway/") {
        let (gw, num) = rest.split_once('/').ok_or("INVALID_URL")?;
        let w = shared.world();
        let g = w
            .gateways
            .iter()
            .find(|g| g.cfg.name == gw)
            .ok_or("INVALID_GATEWAY")?;
        // mod_sofia refuses calls through a gateway whose ping status is DOWN.
        let down = g.cfg.status.eq_ignore_ascii_case("DOWN")
            || matches!(
                g.cfg.state.as_str(),
                "FAILED" | "FAIL_WAIT" | "DOWN" | "TIMEOUT"
            );
        if down {
            return Err("GATEWAY_DOWN".into());
        }
        gateway = Some(gw.to_string());
        let num = num.split('@').next().unwrap_or(num).to_string();
        presence = Some(format!("{num}@{}", g.cfg.realm));
        (format!("sofia/{}/{num}", g.cfg.profile), num)
    } else if let Some(rest) = ep.strip_prefix("user/") {
        let user = rest.split('@').next().unwrap_or(rest);
        let w = shared.world();
        let r = w
            .registrations
            .iter()
            .find(|r| r.cfg.user == user)
            .ok_or("USER_NOT_REGISTERED")?;
        let realm = r.cfg.realm.clone().unwrap_or_else(|| w.cfg.ipv4.clone());
        presence = Some(format!("{user}@{realm}"));
        (
            format!(
                "sofia/{}/{user}@{}:{}",
                r.cfg.profile, r.cfg.network_ip, r.cfg.network_port
            ),
            user.to_string(),
        )
    } else if let Some(cause) = ep.strip_prefix("error/") {
        return Err(cause.to_ascii_uppercase());
    } else if let Some(rest) = ep.strip_prefix("loopback/") {
        (
            format!("loopback/{rest}-a"),
            rest.split('/').next().unwrap_or(rest).to_string(),
        )
    } else {
        let last = ep.rsplit('/').next().unwrap_or(ep);
        (
            ep.to_string(),
            last.split('@').next().unwrap_or(last).to_string(),
        )
    };
    let mut leg = Leg::outbound(uuid.clone(), name.clone(), ep.to_string(), dest.clone());
    leg.presence_id = presence;
    leg.gateway = gateway.clone();
    leg.cid_name = var("origination_caller_id_name").unwrap_or_else(|| cid.0.to_string());
    leg.cid_num = var("origination_caller_id_number").unwrap_or_else(|| cid.1.to_string());
    leg.set_var("direction", "outbound");
    leg.set_var("uuid", uuid);
    leg.set_var("session_id", "1");
    leg.set_var("channel_name", name);
    for (k, v) in &spec.vars {
        leg.set_var(k, v.clone());
    }
    if let Some(gw) = gateway {
        leg.set_var("sip_gateway_name", gw);
    }
    if ep.starts_with("user/") {
        leg.set_var("effective_caller_id_number", dest.clone());
    }
    leg.set_var("dialed_user", dest);
    Ok(leg)
}

/// How one leg of a ringing group will end.
struct Plan {
    at_ms: u64,
    cause: Option<String>,
    by: By,
    progress: bool,
}

fn plan_for(shared: &Shared, leg: &Leg, timeout_ms: u64) -> Plan {
    let rule: OutcomeRule = shared.outcome_for(&leg.dest);
    let phone = leg.endpoint.starts_with("user/");
    let progress = rule.progress.unwrap_or(if phone {
        rule.ring_ms > 0
    } else {
        rule.ring_ms >= 1000
    });
    let leg_limit = leg
        .var("leg_timeout")
        .and_then(|t| t.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map(|s| s * 1000);
    let mut plan = Plan {
        at_ms: rule.ring_ms,
        cause: rule.failure_cause(),
        by: By::Remote,
        progress,
    };
    match leg_limit {
        Some(l) if l < timeout_ms && plan.at_ms > l => {
            plan.at_ms = l;
            plan.cause = Some("ALLOTTED_TIMEOUT".into());
            plan.by = By::Local;
        }
        _ if plan.at_ms > timeout_ms => {
            plan.at_ms = timeout_ms;
            plan.cause = Some("NO_ANSWER".into());
            plan.by = By::Local;
        }
        _ => {}
    }
    plan
}

/// Rings `legs` together. The first to answer wins and the rest lose the race; if none
/// answers, the cause of the last failure is returned. `timeout_ms` is the originate's
/// timeout (originate_timeout / call_timeout / the timeout argument).
pub async fn ring_group(
    ctx: &mut CallCtx,
    mut legs: Vec<Leg>,
    timeout_ms: u64,
) -> Result<Leg, Cause> {
    let start = Instant::now();
    let plans: Vec<Plan> = legs
        .iter()
        .map(|l| plan_for(&ctx.shared, l, timeout_ms))
        .collect();
    for leg in legs.iter_mut() {
        if let Some(gw) = &leg.gateway
            && let Some(g) = ctx
                .shared
                .world()
                .gateways
                .iter_mut()
                .find(|g| &g.cfg.name == gw)
        {
            g.calls_out += 1;
        }
        ctx.shared.upsert_channel(leg, Some(ctx.kill_tx.clone()));
        ctx.fire(
            leg,
            "CHANNEL_OUTGOING",
            "switch_core_session.c",
            "switch_core_session_outgoing_channel",
            739,
        );
        ctx.fire(
            leg,
            "CHANNEL_CREATE",
            "switch_core_state_machine.c",
            "switch_core_session_run",
            459,
        );
        ctx.fire(
            leg,
            "CHANNEL_ORIGINATE",
            "switch_core_session.c",
            "switch_core_session_outgoing_channel",
            745,
        );
        leg.state = "CS_CONSUME_MEDIA";
    }
    // Ring indication arrives quickly; a leg that ends sooner never rings.
    let ring_at = plans.iter().map(|p| p.at_ms).min().unwrap_or(0).min(20);
    if let Some(k) = ctx
        .sleep_until(Some(start + Duration::from_millis(ring_at)))
        .await
    {
        return Err(cancel_all(ctx, &mut legs, k).await);
    }
    for (leg, plan) in legs.iter_mut().zip(&plans) {
        if plan.progress && plan.at_ms > ring_at {
            leg.progress_us = now_micros();
            // Channel events carry the call state from before the change they announce:
            // the captures show CHANNEL_PROGRESS with DOWN and CHANNEL_ANSWER with RINGING.
            ctx.fire(
                leg,
                "CHANNEL_PROGRESS",
                "switch_channel.c",
                "switch_channel_perform_mark_ring_ready_value",
                3172,
            );
            ctx.set_callstate(leg, "RINGING");
        }
    }
    let winner = (0..legs.len())
        .filter(|&i| plans[i].cause.is_none())
        .min_by_key(|&i| plans[i].at_ms);
    let winner_at = winner.map_or(u64::MAX, |i| plans[i].at_ms);
    let mut order: Vec<usize> = (0..legs.len())
        .filter(|&i| plans[i].at_ms <= winner_at)
        .collect();
    order.sort_by_key(|&i| (plans[i].at_ms, plans[i].cause.is_none()));
    let mut last_cause = "NORMAL_CLEARING".to_string();
    let mut done = vec![false; legs.len()];
    for i in order {
        if let Some(k) = ctx
            .sleep_until(Some(start + Duration::from_millis(plans[i].at_ms)))
            .await
        {
            let mut live: Vec<Leg> = legs
                .iter()
                .zip(&done)
                .filter(|(_, d)| !**d)
                .map(|(l, _)| l.clone())
                .collect();
            return Err(cancel_all(ctx, &mut live, k).await);
        }
        match plans[i].cause.clone() {
            Some(cause) => {
                done[i] = true;
                count_failure(&ctx.shared, &legs[i]);
                ctx.tried.push(format!("{};{cause}", legs[i].uuid));
                end(ctx, &mut legs[i], &cause, plans[i].by);
                last_cause = cause;
            }
            None => {
                let mut leg = legs[i].clone();
                answer(ctx, &mut leg);
                ctx.tried.push(format!("{};NONE", leg.uuid));
                for (j, other) in legs.iter_mut().enumerate() {
                    if j != i && !done[j] {
                        finish(ctx, other, "LOSE_RACE").await;
                    }
                }
                return Ok(leg);
            }
        }
    }
    Err(last_cause)
}

/// The far end answers: CHANNEL_ANSWER, then what the leg runs on answer.
fn answer(ctx: &CallCtx, leg: &mut Leg) {
    leg.answered_us = now_micros();
    leg.progress_media_us = leg.progress_media_us.max(leg.answered_us);
    leg.answer_state = "answered";
    ctx.fire(
        leg,
        "CHANNEL_ANSWER",
        "switch_channel.c",
        "switch_channel_perform_mark_answered",
        3539,
    );
    ctx.set_callstate(leg, "ACTIVE");
    leg.set_var("endpoint_disposition", "ANSWER");
    leg.set_var("sip_from_user", leg.cid_num.clone());
    leg.set_var("sip_to_user", leg.dest.clone());
    super::media::on_answer(ctx, leg);
}

fn count_failure(shared: &Shared, leg: &Leg) {
    if let Some(gw) = &leg.gateway
        && let Some(g) = shared
            .world()
            .gateways
            .iter_mut()
            .find(|g| &g.cfg.name == gw)
    {
        g.failed_out += 1;
    }
}

/// Hangs up every still-ringing leg after a kill; returns the cause the originate reports.
async fn cancel_all(ctx: &mut CallCtx, legs: &mut [Leg], kill: (String, String)) -> Cause {
    if kill.1 == RESTART {
        return RESTART.into();
    }
    for leg in legs.iter_mut() {
        let cause = if leg.uuid == kill.0 {
            kill.1.clone()
        } else {
            "ORIGINATOR_CANCEL".into()
        };
        ctx.tried.push(format!("{};{cause}", leg.uuid));
        finish(ctx, leg, &cause).await;
    }
    kill.1
}

/// Numeric call state (switch_channel_callstate_t).
fn callstate_number(state: &str) -> u32 {
    const STATES: [&str; 9] = [
        "DOWN",
        "DIALING",
        "RINGING",
        "EARLY",
        "ACTIVE",
        "HELD",
        "RING_WAIT",
        "HANGUP",
        "UNHELD",
    ];
    STATES.iter().position(|s| *s == state).unwrap_or(0) as u32
}
