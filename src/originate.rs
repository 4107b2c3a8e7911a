//! The one place that writes FreeSWITCH dial strings. Every value that goes in is either a
//! validated number, a validated extension or gateway name, a UUID, or server configuration
//! checked here again; `build` refuses anything else, so no caller-controlled text can reach
//! an originate (defence in depth behind the validation at the API edge).
//!
//! Shape of a click-to-call (ring the caller first, then bridge to the callee):
//!
//! ```text
//! originate {callplane_call_uuid=..,callplane_leg=caller,origination_caller_id_name=..,
//!            originate_timeout=..,hangup_after_bridge=true,continue_on_fail=true}
//!   [origination_uuid=..,origination_caller_id_number=..]<caller leg(s)>
//!   'm:^:set:ringback=..^set:call_timeout=<ring + 2>
//!    ^set:fail_on_single_reject=USER_BUSY,CALL_REJECTED,NO_ANSWER,ALLOTTED_TIMEOUT
//!    ^export:nolocal:media_bug_answer_req=true^export:nolocal:record_sample_rate=8000
//!    ^export:nolocal:RECORD_STEREO=true^export:nolocal:execute_on_answer=record_session:<file>
//!    ^export:nolocal:session_in_hangup_hook=true
//!    ^export:nolocal:execute_on_answer_upload=set:api_hangup_hook=<upload>
//!    ^bridge:{callplane_call_uuid=..,callplane_leg=callee}
//!      [origination_uuid=..,..,leg_timeout=<ring>]<callee leg>|[..,leg_timeout=<ring>]<next line>
//!    ^playback:<closing tone>^hangup' inline
//! ```
//!
//! * `m:^:` switches the inline dialplan's application separator from `,` to `^` (mod_dptools
//!   inline dialplan), so commas inside a tone or a cause list cannot split an application.
//! * The customer's ring time is limited twice: `leg_timeout` in each callee leg's `[...]` ends
//!   that leg with `ALLOTTED_TIMEOUT` once it has rung that long (switch_ivr_originate.c, per-leg
//!   time limit), and `call_timeout` bounds the bridge as a whole, [`BRIDGE_MARGIN_SECS`] later.
//!   The margin matters: FreeSWITCH ends a leg once more than `leg_timeout` whole seconds have
//!   passed, but the whole bridge as soon as `call_timeout` have, so equal values would end the
//!   ring with the bridge's NO_ANSWER first and the leg would not say why it ended.
//!   `originate_timeout` in `{...}` only limits the agent's leg, which is dialled first.
//! * `fail_on_single_reject` with a cause list stops the `|` failover when the callee declines,
//!   is busy or does not answer, so a customer is never rung again on the next line; failures of
//!   the line itself (503, gateway down) still move on (switch_ivr_originate.c).
//! * Recording variables are exported to the callee legs: the recording starts when a leg
//!   answers. The upload is armed at answer too: `execute_on_answer_upload` is one of the
//!   `execute_on_answer*` variables FreeSWITCH runs when the leg answers
//!   (switch_channel_execute_on: every variable whose name starts with the prefix; the value is
//!   `app:arg`, split at the first `:`), and it `set`s the hangup hook on that leg only. A leg
//!   that failed (a 503 line before the one that answered) never recorded and uploads nothing.
//!   The hook text has spaces and double quotes, which the inline dialplan keeps (only single
//!   quotes and backslashes are special to its splitter); it holds no `${`, so `set` leaves it
//!   as it is.
//! * Each leg gets its own fresh `origination_uuid` and caller ID in its `[...]` block, stored
//!   before the command is sent.
//! * A call an extension dials to an external number gets the same applications as dialplan
//!   actions (`dialplan_actions`).

use std::fmt::Write;

use uuid::Uuid;

use crate::domain::number::PhoneNumber;

/// The upload hook runs once, when the leg hangs up; callplane answers 503 while its database or
/// storage is unavailable so that the upload is tried again: curl retries a refused connection,
/// a timeout, and 408/429/500/502/503/504, five times, two seconds apart.
const CURL_RETRY: &str = "--retry 5 --retry-delay 2 --retry-connrefused";

/// Seconds the bridge's `call_timeout` runs past the per-leg `leg_timeout` (see the module
/// docs: the per-leg limit must fire first).
pub const BRIDGE_MARGIN_SECS: u32 = 2;

/// Who a leg rings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A registered extension: `user/NUMBER[@domain]`, as channel `leg_uuid`.
    Extension {
        number: String,
        domain: Option<String>,
        leg_uuid: Uuid,
    },
    /// An external number through one or more lines, tried in order.
    External {
        number: PhoneNumber,
        lines: Vec<LineLeg>,
    },
}

/// One attempt through one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineLeg {
    pub gateway: String,
    /// The caller number this line must send (主叫送).
    pub caller_id: Option<String>,
    /// Digits put before the number (被叫加前缀).
    pub prefix: String,
    /// This attempt's channel UUID.
    pub leg_uuid: Uuid,
}

/// How the recording reaches callplane when the callee leg hangs up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadMode {
    /// `api_hangup_hook=system curl -s --retry 5 ... -XPOST -F "files=@FILE" "URL"`: needs curl
    /// on the switch; every value in the shell command is generated by callplane.
    CurlHook,
    /// `record_post_process_exec_api=curl_sendfile:URL files=FILE`: mod_curl, no shell at all.
    CurlSendfile,
    /// No upload (recording stays on the switch).
    None,
}

/// Everything one click-to-call needs; built by the call module from validated values.
#[derive(Debug, Clone)]
pub struct ClickToCall<'a> {
    pub call_uuid: Uuid,
    /// Rung first; its first leg's UUID is the call UUID.
    pub caller: &'a Target,
    pub callee: &'a Target,
    /// The number shown on the caller's phone while it rings (the callee's number).
    pub caller_display_number: &'a str,
    /// The number the callee sees when the line names none (the caller's number).
    pub fallback_caller_id: &'a str,
    pub recording_file: &'a str,
    pub upload_url: &'a str,
    pub upload: UploadMode,
    pub originate_timeout_secs: u32,
    /// How long the callee (the customer) may ring on each line: `leg_timeout` per leg and
    /// the bridge's `call_timeout`.
    pub callee_ring_timeout_secs: u32,
    /// Causes that end the failover (`fail_on_single_reject`).
    pub stop_failover_on: &'a [String],
    /// `tone_stream://...` or a file played to the caller when the callee cannot be reached.
    pub closing_playback: &'a str,
    pub ringback: &'a str,
}

/// A value that failed the builder's own check: a bug upstream, never sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refusing to put {what} into a dial string: {value:?}")]
pub struct Unsafe {
    pub what: &'static str,
    pub value: String,
}

fn check(what: &'static str, value: &str, extra: &str) -> Result<(), Unsafe> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-+".contains(c) || extra.contains(c));
    if ok {
        Ok(())
    } else {
        Err(Unsafe {
            what,
            value: value.to_string(),
        })
    }
}

/// The dial string of a target: `user/N[@d]`, or the `|` chain of lines with per-leg variables.
/// `leg_timeout` (seconds) is put into every leg's `[...]` block when given (the callee side).
fn dial(
    target: &Target,
    caller_id: &str,
    leg_timeout: Option<u32>,
    out: &mut String,
) -> Result<(), Unsafe> {
    let limit = leg_timeout
        .map(|n| format!(",leg_timeout={n}"))
        .unwrap_or_default();
    match target {
        Target::Extension {
            number,
            domain,
            leg_uuid,
        } => {
            check("extension", number, "")?;
            check("caller id", caller_id, "")?;
            write!(out, "[origination_uuid={leg_uuid},origination_caller_id_number={caller_id}{limit}]user/{number}").ok();
            if let Some(d) = domain {
                check("domain", d, ":")?;
                write!(out, "@{d}").ok();
            }
        }
        Target::External { number, lines } => {
            check("number", number.as_str(), "")?;
            if lines.is_empty() {
                return Err(Unsafe {
                    what: "line list",
                    value: String::new(),
                });
            }
            for (i, line) in lines.iter().enumerate() {
                check("gateway", &line.gateway, "")?;
                let cid = line.caller_id.as_deref().unwrap_or(caller_id);
                check("caller id", cid, "")?;
                if !line.prefix.is_empty() {
                    check("prefix", &line.prefix, "")?;
                }
                if i > 0 {
                    out.push('|');
                }
                write!(
                    out,
                    "[origination_uuid={},origination_caller_id_number={cid},callplane_gateway={}{limit}]sofia/gateway/{}/{}{}",
                    line.leg_uuid, line.gateway, line.gateway, line.prefix, number
                )
                .ok();
            }
        }
    }
    Ok(())
}

/// The applications the caller's channel runs once it is answered (click-to-call) or routed
/// (dialplan): ringback, the failover rule, the recording set-up exported to the callee leg,
/// the bridge, and the closing playback and hangup.
fn call_apps(c: &ClickToCall<'_>) -> Result<Vec<(&'static str, String)>, Unsafe> {
    check("recording file", c.recording_file, "/")?;
    check("upload url", c.upload_url, "/:?=&[]%")?;
    check("closing playback", c.closing_playback, "/:%(),;=")?;
    check("ringback", c.ringback, "/:%(),;=")?;
    for cause in c.stop_failover_on {
        check("failover cause", cause, "")?;
    }
    if c.callee_ring_timeout_secs == 0 {
        return Err(Unsafe {
            what: "callee ring timeout",
            value: "0".into(),
        });
    }
    let bridge_limit = c.callee_ring_timeout_secs + BRIDGE_MARGIN_SECS;
    let mut apps = vec![
        ("set", format!("ringback={}", c.ringback)),
        ("set", format!("call_timeout={bridge_limit}")),
    ];
    if !c.stop_failover_on.is_empty() {
        apps.push((
            "set",
            format!("fail_on_single_reject={}", c.stop_failover_on.join(",")),
        ));
    }
    apps.push(("export", "nolocal:media_bug_answer_req=true".into()));
    apps.push(("export", "nolocal:record_sample_rate=8000".into()));
    apps.push(("export", "nolocal:RECORD_STEREO=true".into()));
    apps.push((
        "export",
        format!(
            "nolocal:execute_on_answer=record_session:{}",
            c.recording_file
        ),
    ));
    // Armed when a leg answers, on that leg only: see the module docs.
    match c.upload {
        UploadMode::CurlHook => {
            apps.push(("export", "nolocal:session_in_hangup_hook=true".into()));
            apps.push((
                "export",
                format!(
                    "nolocal:execute_on_answer_upload=set:api_hangup_hook=system curl -s {CURL_RETRY} -XPOST -F \"files=@{}\" \"{}\"",
                    c.recording_file, c.upload_url
                ),
            ));
        }
        UploadMode::CurlSendfile => apps.push((
            "export",
            format!(
                "nolocal:execute_on_answer_upload=set:record_post_process_exec_api=curl_sendfile:{} files={}",
                c.upload_url, c.recording_file
            ),
        )),
        UploadMode::None => {}
    }
    let mut bridge = format!(
        "{{callplane_call_uuid={},callplane_leg=callee}}",
        c.call_uuid
    );
    dial(
        c.callee,
        c.fallback_caller_id,
        Some(c.callee_ring_timeout_secs),
        &mut bridge,
    )?;
    apps.push(("bridge", bridge));
    apps.push(("playback", c.closing_playback.to_string()));
    apps.push(("hangup", String::new()));
    Ok(apps)
}

/// The `api` command text (without `bgapi`) for a click-to-call.
pub fn click_to_call(c: &ClickToCall<'_>) -> Result<String, Unsafe> {
    check("caller display number", c.caller_display_number, "")?;
    let apps = call_apps(c)?;
    let mut s = String::with_capacity(1024);
    write!(
        s,
        "originate {{callplane_call_uuid={call},callplane_leg=caller,origination_caller_id_name={shown},\
         originate_timeout={timeout},hangup_after_bridge=true,continue_on_fail=true",
        call = c.call_uuid,
        shown = c.caller_display_number,
        timeout = c.originate_timeout_secs,
    )
    .ok();
    // A caller reached over lines is a person too: one who is busy or declines on line A is
    // not rung again on line B. FreeSWITCH matches the cause as a substring of this value
    // (switch_ivr_originate.c), so the list is joined with ':' (a ',' would end the variable).
    if matches!(c.caller, Target::External { .. }) && !c.stop_failover_on.is_empty() {
        write!(s, ",fail_on_single_reject={}", c.stop_failover_on.join(":")).ok();
    }
    s.push('}');
    // The caller's phone shows the callee's number, unless a line must send its own.
    dial(c.caller, c.caller_display_number, None, &mut s)?;
    let inline: Vec<String> = apps
        .iter()
        .map(|(app, arg)| {
            if arg.is_empty() {
                app.to_string()
            } else {
                format!("{app}:{arg}")
            }
        })
        .collect();
    write!(s, " 'm:^:{}' inline", inline.join("^")).ok();
    Ok(s)
}

/// The dialplan actions for a call an extension dialled to an external number: the same
/// set-up as a click-to-call's callee side, on the channel that is already there. `c.caller`
/// is not dialled (the caller is the channel asking); its variables tag the channel instead.
pub fn dialplan_actions(c: &ClickToCall<'_>) -> Result<Vec<(&'static str, String)>, Unsafe> {
    let mut actions = vec![
        ("set", format!("callplane_call_uuid={}", c.call_uuid)),
        ("set", "callplane_leg=caller".to_string()),
        ("set", "hangup_after_bridge=true".to_string()),
        ("set", "continue_on_fail=true".to_string()),
    ];
    // `call_timeout` (the customer's ring limit) comes with the shared applications.
    actions.extend(call_apps(c)?);
    Ok(actions)
}

#[cfg(test)]
mod tests;
