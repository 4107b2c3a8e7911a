//! Driving one `originate` from dial to hangup: ring the failover groups in turn, report the
//! result (`+OK <uuid>` once a leg answers, `-ERR <CAUSE>` when all fail), then run the
//! answered leg's applications and hold the call until the script or `uuid_kill` ends it.

use super::dial::{Originate, parse_dial_string};
use super::leg::Leg;
use super::ring::{CallCtx, finish, resolve, ring_group};
use crate::state::{RESTART, Shared};
use crate::text::now_micros;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// FreeSWITCH's default originate timeout (seconds).
const DEFAULT_TIMEOUT_SECS: u64 = 60;

/// Runs an originate; resolves with the API reply as soon as the outcome is known, while the
/// answered call keeps running in the background.
pub async fn originate(shared: Arc<Shared>, o: Originate) -> String {
    let (tx, rx) = oneshot::channel();
    tokio::spawn(run_call(shared, o, tx));
    rx.await.unwrap_or_else(|_| "-ERR SYSTEM_SHUTDOWN\n".into())
}

async fn run_call(shared: Arc<Shared>, o: Originate, reply: oneshot::Sender<String>) {
    let (kill_tx, kill_rx) = mpsc::unbounded_channel();
    let mut ctx = CallCtx {
        shared,
        kill_tx,
        kill_rx,
    };
    // `{}` variables sit on every leg; `<>` ones on the dial string itself.
    let first_leg: &[(String, String)] = o
        .dial
        .groups
        .first()
        .and_then(|g| g.first())
        .map_or(&[], |l| &l.vars);
    let global = |k: &str| {
        (o.dial.vars.iter().chain(first_leg))
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    let timeout_s = o
        .timeout_secs
        .or_else(|| global("originate_timeout").and_then(|t| t.parse().ok()))
        .or_else(|| global("call_timeout").and_then(|t| t.parse().ok()))
        .unwrap_or(DEFAULT_TIMEOUT_SECS);
    let cid_name = o.cid_name.clone().unwrap_or_else(|| "FreeSWITCH".into());
    let cid_num = o.cid_num.clone().unwrap_or_else(|| "0000000000".into());
    let mut cause = "DESTINATION_OUT_OF_ORDER".to_string();
    let mut answered = None;
    for group in &o.dial.groups {
        let mut legs = Vec::new();
        for spec in group {
            let mut spec = spec.clone();
            spec.vars.splice(0..0, o.dial.vars.iter().cloned());
            match resolve(&ctx.shared, &spec, (&cid_name, &cid_num)) {
                Ok(leg) => legs.push(leg),
                Err(c) => cause = c,
            }
        }
        if legs.is_empty() {
            continue;
        }
        match ring_group(&mut ctx, legs, timeout_s * 1000).await {
            Ok(leg) => {
                answered = Some(leg);
                break;
            }
            Err(c) if c == RESTART => return,
            Err(c) => cause = c,
        }
    }
    let Some(mut a) = answered else {
        let _ = reply.send(format!("-ERR {cause}\n"));
        return;
    };
    let _ = reply.send(format!("+OK {}\n", a.uuid));
    a.state = "CS_EXECUTE";
    a.set_var("originate_disposition", "SUCCESS");
    let mut apps = o.apps.clone();
    if let Some(exten) = &o.exten {
        // A dialplan extension: the simulator parks the leg there.
        apps.push((
            "transfer".into(),
            format!("{exten} XML {}", o.context.as_deref().unwrap_or("default")),
        ));
    }
    for (app, arg) in apps {
        if !run_app(&mut ctx, &mut a, &app, &arg).await {
            return;
        }
    }
    let talk_ms = ctx.shared.outcome_for(&a.dest).talk_ms;
    let deadline = (talk_ms > 0).then(|| Instant::now() + Duration::from_millis(talk_ms));
    match ctx.sleep_until(deadline).await {
        Some((_, c)) if c == RESTART => {}
        Some((_, c)) => finish(&ctx, &mut a, &c).await,
        None => finish(&ctx, &mut a, "NORMAL_CLEARING").await,
    }
}

/// Runs one application on the answered leg; false once the call is over.
async fn run_app(ctx: &mut CallCtx, a: &mut Leg, app: &str, arg: &str) -> bool {
    let app_uuid = uuid::Uuid::new_v4().to_string();
    a.application = app.to_string();
    a.application_data = arg.to_string();
    a.app_log
        .push((app.to_string(), arg.to_string(), now_micros()));
    a.set_var("current_application", app);
    a.set_var("current_application_data", arg);
    let exec = |ctx: &CallCtx, a: &Leg, name: &str| {
        let mut ev = ctx.shared.new_event(
            name,
            "switch_core_session.c",
            "switch_core_session_exec",
            2942,
        );
        ev.push("Application", app);
        ev.push("Application-Data", arg);
        ev.push("Application-UUID", app_uuid.clone());
        a.append_data(&mut ev, name);
        ctx.shared.upsert_channel(a, None);
        ctx.shared.fire(ev);
    };
    exec(ctx, a, "CHANNEL_EXECUTE");
    match app {
        "set" => {
            if let Some((k, v)) = arg.split_once('=') {
                a.set_var(k, v);
            }
        }
        // `export [nolocal:]name=value`: kept for the B-legs of a later bridge and, without
        // `nolocal:`, set here too (mod_dptools export_function).
        "export" => {
            let (local, kv) = match arg.strip_prefix("nolocal:") {
                Some(rest) => (false, rest),
                None => (true, arg),
            };
            if let Some((k, v)) = kv.split_once('=') {
                if local {
                    a.set_var(k, v);
                }
                a.exports.push((k.to_string(), v.to_string()));
            }
        }
        "hangup" => {
            let cause = if arg.is_empty() {
                "NORMAL_CLEARING"
            } else {
                arg
            };
            finish(ctx, a, cause).await;
            return false;
        }
        "sleep" => {
            let ms = arg.trim().parse::<u64>().unwrap_or(0);
            if let Some((_, cause)) = ctx
                .sleep_until(Some(Instant::now() + Duration::from_millis(ms)))
                .await
            {
                if cause != RESTART {
                    finish(ctx, a, &cause).await;
                }
                return false;
            }
        }
        "bridge" => {
            bridge(ctx, a, arg).await;
            return false;
        }
        _ => {}
    }
    exec(ctx, a, "CHANNEL_EXECUTE_COMPLETE");
    true
}

/// `bridge`: ring the B-legs; on answer bridge them and hold for the callee's talk time;
/// on failure hang the A-leg up with the B-leg's cause.
async fn bridge(ctx: &mut CallCtx, a: &mut Leg, arg: &str) {
    let dial = match parse_dial_string(arg) {
        Ok(d) => d,
        Err(_) => return finish(ctx, a, "INVALID_URL").await,
    };
    let mut cause = "DESTINATION_OUT_OF_ORDER".to_string();
    let mut b = None;
    for group in &dial.groups {
        let mut legs = Vec::new();
        for spec in group {
            let mut spec = spec.clone();
            spec.vars.splice(0..0, dial.vars.iter().cloned());
            spec.vars.splice(0..0, a.exports.iter().cloned());
            match resolve(&ctx.shared, &spec, (&a.cid_name, &a.cid_num)) {
                Ok(mut leg) => {
                    // A B-leg knows its originator from creation on, as in the captures.
                    leg.is_b_leg = true;
                    leg.call_uuid = a.uuid.clone();
                    leg.other_type = "originator";
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
        let timeout = a
            .var("call_timeout")
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(DEFAULT_TIMEOUT_SECS);
        match ring_group(ctx, legs, timeout * 1000).await {
            Ok(leg) => {
                b = Some(leg);
                break;
            }
            Err(c) if c == RESTART => return,
            Err(c) => {
                let stop = stops_failover(a.var("fail_on_single_reject"), &c);
                cause = c;
                if stop {
                    break;
                }
            }
        }
    }
    let Some(mut b) = b else {
        a.set_var("originate_disposition", cause.clone());
        return finish(ctx, a, &cause).await;
    };
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
    a.set_var("bridge_uuid", b.uuid.clone());
    a.set_var(
        "originated_legs",
        format!("{};Outbound Call;{}", b.uuid, b.dest),
    );
    b.set_var("bridge_uuid", a.uuid.clone());
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
    let talk_ms = ctx.shared.outcome_for(&b.dest).talk_ms;
    let deadline = (talk_ms > 0).then(|| Instant::now() + Duration::from_millis(talk_ms));
    let (first_is_a, cause) = match ctx.sleep_until(deadline).await {
        Some((_, c)) if c == RESTART => return,
        Some((uuid, c)) => (uuid == a.uuid, c),
        None => (false, "NORMAL_CLEARING".to_string()),
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
        finish(ctx, a, &cause).await;
        unbridge(ctx, a);
        finish(ctx, &mut b, "NORMAL_CLEARING").await;
    } else {
        finish(ctx, &mut b, &cause).await;
        unbridge(ctx, a);
        a.set_var("bridge_hangup_cause", cause.clone());
        finish(ctx, a, "NORMAL_CLEARING").await;
    }
}

/// `fail_on_single_reject`: `true` ends the `|` failover on any failed group; a cause list
/// (`USER_BUSY,CALL_REJECTED`) ends it on those causes; `!`-prefixed entries on all others
/// (switch_ivr_originate.c).
fn stops_failover(setting: Option<&str>, cause: &str) -> bool {
    let Some(v) = setting.map(str::trim).filter(|v| !v.is_empty()) else {
        return false;
    };
    match v {
        "true" | "1" | "yes" => true,
        "false" | "0" | "no" => false,
        list => {
            let items: Vec<&str> = list.split(',').map(str::trim).collect();
            if items.iter().all(|i| i.starts_with('!')) {
                !items.iter().any(|i| i[1..].eq_ignore_ascii_case(cause))
            } else {
                items.iter().any(|i| i.eq_ignore_ascii_case(cause))
            }
        }
    }
}

#[cfg(test)]
mod failover_tests {
    use super::stops_failover;

    #[test]
    fn fail_on_single_reject_forms() {
        assert!(!stops_failover(None, "USER_BUSY"));
        assert!(stops_failover(Some("true"), "NORMAL_TEMPORARY_FAILURE"));
        assert!(stops_failover(
            Some("USER_BUSY,CALL_REJECTED"),
            "CALL_REJECTED"
        ));
        assert!(!stops_failover(
            Some("USER_BUSY,CALL_REJECTED"),
            "GATEWAY_DOWN"
        ));
        assert!(stops_failover(Some("!GATEWAY_DOWN"), "USER_BUSY"));
        assert!(!stops_failover(Some("!GATEWAY_DOWN"), "GATEWAY_DOWN"));
    }
}
