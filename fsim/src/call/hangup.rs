//! Ending a leg in the two steps FreeSWITCH takes: the hangup (CHANNEL_HANGUP, then what runs
//! in the hangup state: a recording's RECORD_STOP and the `api_hangup_hook`, whose API event
//! has no `Event-Name`) and the report (CHANNEL_HANGUP_COMPLETE with the final variables,
//! CHANNEL_DESTROY, the CDR post and the recording upload). A bridge runs the two steps of its
//! legs interleaved: the caller's report comes before the callee's, as in the captures.
//!
//! `sip_hangup_disposition` follows mod_sofia: `recv_bye` / `recv_refuse` when the far end
//! ends the call (then `sip_term_status`, `sip_term_cause` and `proto_specific_hangup_cause`
//! are known when CHANNEL_HANGUP fires), `send_bye` / `send_cancel` when the switch does.

use super::leg::{Leg, q850, sip_status};
use super::ring::CallCtx;
use crate::text::now_micros;

/// Who ended a leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// The far end: a BYE after answer, a final error response before it.
    Remote,
    /// The switch: a BYE it sends after answer, a CANCEL while ringing.
    Local,
}

/// The first step: CHANNEL_HANGUP, then the recording's stop and the hangup hook.
pub fn hangup(ctx: &CallCtx, leg: &mut Leg, cause: &str, by: By) {
    leg.hangup_cause = Some(cause.to_string());
    leg.hangup_us = now_micros();
    leg.answer_state = "hangup";
    let answered = leg.answered_us > 0;
    if by == By::Remote {
        let code = if answered && cause == "NORMAL_CLEARING" {
            200
        } else {
            sip_status(cause)
        };
        leg.set_var("sip_term_status", code.to_string());
        leg.set_var("proto_specific_hangup_cause", format!("sip:{code}"));
        leg.set_var("sip_term_cause", q850(cause).to_string());
        if !answered {
            leg.set_var("sip_hangup_disposition", "recv_refuse");
        }
    }
    ctx.fire(
        leg,
        "CHANNEL_HANGUP",
        "switch_channel.c",
        "switch_channel_perform_hangup",
        3130,
    );
    ctx.set_callstate(leg, "HANGUP");
    leg.state = "CS_HANGUP";
    let disposition = match (by, answered) {
        (By::Remote, true) => "recv_bye",
        (By::Remote, false) => "recv_refuse",
        (By::Local, true) => "send_bye",
        (By::Local, false) => "send_cancel",
    };
    if by == By::Remote {
        leg.set_var("sip_hangup_disposition", disposition);
    }
    super::media::stop_recording(ctx, leg);
    if by == By::Local {
        leg.set_var("sip_hangup_disposition", disposition);
    }
    leg.set_hangup_vars();
    super::media::hangup_hook(ctx, leg);
}

/// The second step: CHANNEL_HANGUP_COMPLETE, CHANNEL_DESTROY, then the CDR post and upload.
pub fn complete(ctx: &CallCtx, leg: &mut Leg) {
    leg.state = "CS_REPORTING";
    if leg.bridged_us > 0
        && let Some(other) = leg.other.as_ref().map(|o| o.uuid.clone())
    {
        leg.set_var("bridge_uuid", other.clone());
        leg.set_var("last_bridge_to", other);
    }
    ctx.fire(
        leg,
        "CHANNEL_HANGUP_COMPLETE",
        "switch_core_state_machine.c",
        "switch_core_session_reporting_state",
        949,
    );
    leg.state = "CS_DESTROY";
    ctx.shared.fire(leg.event(
        &ctx.shared,
        "CHANNEL_DESTROY",
        "switch_core_session.c",
        "switch_core_session_perform_destroy",
        1745,
    ));
    ctx.shared.remove_channel(&leg.uuid);
    crate::post::after_hangup(&ctx.shared, leg);
}

/// Both steps for a leg the switch ends (a kill, the `hangup` application, a timeout).
pub async fn finish(ctx: &CallCtx, leg: &mut Leg, cause: &str) {
    end(ctx, leg, cause, By::Local);
}

/// Both steps, saying who ended the leg.
pub fn end(ctx: &CallCtx, leg: &mut Leg, cause: &str, by: By) {
    hangup(ctx, leg, cause, by);
    complete(ctx, leg);
}
