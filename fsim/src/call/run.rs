//! Driving one `originate` from dial to hangup: ring the failover groups in turn, report the
//! result (`+OK <uuid>` once a leg answers, `-ERR <CAUSE>` when all fail), then run the
//! answered leg's applications and hold the call until the script or `uuid_kill` ends it.
//!
//! As on the switch, the answered leg fires CHANNEL_OUTGOING again and the BACKGROUND_JOB goes
//! out before anything else happens on it; an inline dialplan (or an extension) is a transfer:
//! the leg gets a new caller profile (the callee it reached becomes its caller: `Outbound
//! Call` / the dialled number) and fires CALL_UPDATE; the CDR then has two callflows.

use super::dial::Originate;
use super::hangup::{By, end, finish};
use super::leg::Leg;
use super::media::{playback_event, playback_ms, start_recording, truthy};
use super::ring::{CallCtx, resolve, ring_group};
use crate::state::{RESTART, Shared};
use crate::text::now_micros;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// FreeSWITCH's default originate timeout (seconds).
pub const DEFAULT_TIMEOUT_SECS: u64 = 60;

/// Called with the originate's result the moment it is known, before the call goes on (the
/// BACKGROUND_JOB of a `bgapi originate` goes out before the answered leg does anything else).
pub type Report = Box<dyn FnOnce(String) + Send>;

/// Runs an originate; resolves with the API reply as soon as the outcome is known, while the
/// answered call keeps running in the background.
pub async fn originate(shared: Arc<Shared>, o: Originate) -> String {
    originate_reporting(shared, o, None).await
}

/// `originate`, also handing the result to `report` from the call itself.
pub async fn originate_reporting(
    shared: Arc<Shared>,
    o: Originate,
    report: Option<Report>,
) -> String {
    let (tx, rx) = oneshot::channel();
    tokio::spawn(run_call(shared, o, Reply { tx, report }));
    rx.await.unwrap_or_else(|_| "-ERR SYSTEM_SHUTDOWN\n".into())
}

/// Where the originate's result goes.
struct Reply {
    tx: oneshot::Sender<String>,
    report: Option<Report>,
}

impl Reply {
    fn send(self, text: String) {
        if let Some(report) = self.report {
            report(text.clone());
        }
        let _ = self.tx.send(text);
    }
}

async fn run_call(shared: Arc<Shared>, o: Originate, reply: Reply) {
    let (kill_tx, kill_rx) = mpsc::unbounded_channel();
    let mut ctx = CallCtx {
        shared,
        kill_tx,
        kill_rx,
        tried: Vec::new(),
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
            Err(c) => {
                let stop = stops_failover(global("fail_on_single_reject").as_deref(), &c);
                cause = c;
                if stop {
                    break;
                }
            }
        }
    }
    let Some(mut a) = answered else {
        reply.send(format!("-ERR {cause}\n"));
        return;
    };
    ctx.fire(
        &a,
        "CHANNEL_OUTGOING",
        "switch_ivr_originate.c",
        "switch_ivr_originate",
        3970,
    );
    // The job's result goes out before the leg does anything else.
    reply.send(format!("+OK {}\n", a.uuid));
    a.state = "CS_EXECUTE";
    let mut apps = o.apps.clone();
    if let Some(exten) = &o.exten {
        // A dialplan extension: the simulator parks the leg there.
        apps.push((
            "transfer".into(),
            format!("{exten} XML {}", o.context.as_deref().unwrap_or("default")),
        ));
    }
    if o.exten.is_some() || o.dialplan.as_deref() == Some("inline") {
        transfer(&ctx, &mut a);
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
        None => end(&ctx, &mut a, "NORMAL_CLEARING", By::Remote),
    }
}

/// The answered leg enters the dialplan: a new caller profile whose caller is the callee the
/// originate reached, announced with CALL_UPDATE.
fn transfer(ctx: &CallCtx, a: &mut Leg) {
    a.first_profile = Some((
        a.cid_name.clone(),
        a.cid_num.clone(),
        a.dest.clone(),
        now_micros(),
    ));
    a.cid_name = a.callee_name.clone();
    a.cid_num = a.dest.clone();
    ctx.fire(
        a,
        "CALL_UPDATE",
        "switch_channel.c",
        "switch_channel_perform_set_caller_profile",
        3000,
    );
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
        // `export [nolocal:]name=value`: kept for the B-legs of a later bridge; set here too,
        // under the name as given (the switch keeps `nolocal:name` on the exporting leg).
        "export" => {
            let kv = arg.strip_prefix("nolocal:").unwrap_or(arg);
            if let Some((k, v)) = kv.split_once('=') {
                let local = arg.split_once('=').map_or(k, |(n, _)| n);
                a.set_var(local, v);
                a.exports.push((k.to_string(), v.to_string()));
            }
        }
        "record_session" => start_recording(ctx, a, arg),
        "playback" => {
            playback_event(ctx, a, "PLAYBACK_START", arg);
            let ms = playback_ms(arg);
            if let Some((_, cause)) = ctx
                .sleep_until(Some(Instant::now() + Duration::from_millis(ms)))
                .await
            {
                if cause != RESTART {
                    finish(ctx, a, &cause).await;
                }
                return false;
            }
            playback_event(ctx, a, "PLAYBACK_STOP", arg);
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
            let Some(cause) = super::bridge::bridge(ctx, a, arg).await else {
                return false;
            };
            // mod_dptools: without continue_on_fail (true, or a list naming the cause) the
            // caller hangs up with the callee's cause.
            let go_on = a.var("continue_on_fail").is_some_and(|v| {
                truthy(v) || v.split(',').any(|c| c.trim().eq_ignore_ascii_case(&cause))
            });
            if !go_on {
                finish(ctx, a, &cause).await;
                return false;
            }
        }
        _ => {}
    }
    exec(ctx, a, "CHANNEL_EXECUTE_COMPLETE");
    true
}

/// `fail_on_single_reject`: `true` ends the `|` failover on any failed group; otherwise the
/// value is searched for the cause's name, case-insensitively (`switch_stristr` in
/// switch_ivr_originate.c), so `USER_BUSY,CALL_REJECTED` and `USER_BUSY:CALL_REJECTED` are the
/// same list; a leading `!` turns the answer round (stop on every cause not named).
pub fn stops_failover(setting: Option<&str>, cause: &str) -> bool {
    let Some(v) = setting.map(str::trim).filter(|v| !v.is_empty()) else {
        return false;
    };
    match v {
        "true" | "1" | "yes" | "on" => true,
        "false" | "0" | "no" | "off" => false,
        list => {
            let named = list
                .to_ascii_lowercase()
                .contains(&cause.to_ascii_lowercase());
            named != list.starts_with('!')
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
        assert!(stops_failover(
            Some("USER_BUSY:CALL_REJECTED:NO_ANSWER"),
            "NO_ANSWER"
        ));
        assert!(stops_failover(Some("!GATEWAY_DOWN"), "USER_BUSY"));
        assert!(!stops_failover(Some("!GATEWAY_DOWN"), "GATEWAY_DOWN"));
    }
}
