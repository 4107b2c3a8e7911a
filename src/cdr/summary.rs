//! The summary callplane keeps of a CDR, taken from what both document formats share: the
//! root's `core-uuid`/`switchname`, the `variables`, the caller profiles of the newest and the
//! oldest callflow, and the `app_log`. Variable values arrive already percent-decoded.
//!
//! Which callflow names the parties matters: a channel that is transferred gets a new callflow
//! (FreeSWITCH writes them newest first). callplane's click-to-call rings the caller with
//! `originate ... inline`, and the inline dialplan is such a transfer: the newest callflow of
//! the caller leg shows the caller as both caller and destination (`1001` -> `1001`, caller ID
//! flipped), the oldest one the originate's view. So legs callplane placed (they carry
//! `callplane_leg`) are read by their role, see `parties`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::ParseFailure;

/// What the XML and JSON readers collect; `summarize` picks the fields from it.
#[derive(Debug, Clone, Default)]
pub struct RawCdr {
    /// Attributes of `<cdr>` / scalar top-level JSON fields (`core-uuid`, `switchname`).
    pub root: HashMap<String, String>,
    /// `variables`, percent-decoded; the first of repeated names wins.
    pub vars: HashMap<String, String>,
    /// Scalar fields of the newest callflow's `caller_profile`.
    pub profile: HashMap<String, String>,
    /// Scalar fields of the oldest callflow's `caller_profile` (the same as `profile` when the
    /// channel has one callflow).
    pub oldest_profile: HashMap<String, String>,
    /// The caller profile has an `originator`: FreeSWITCH originated this leg (a B-leg), the
    /// test mod_xml_cdr itself uses for `log-b-leg`.
    pub has_originator: bool,
    /// The uuid in the originator's or originatee's caller profile.
    pub peer_uuid: Option<String>,
    /// `app_log` entries, (app_name, app_data), in order.
    pub apps: Vec<(String, String)>,
}

/// The parsed fields of one CDR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdrSummary {
    pub core_uuid: String,
    pub uuid: String,
    pub other_uuid: Option<String>,
    /// `a` or `b`.
    pub leg: &'static str,
    pub caller: Option<String>,
    pub callee: Option<String>,
    pub gateway: Option<String>,
    pub start_time: Option<DateTime<Utc>>,
    pub answer_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
    pub duration: Option<i32>,
    pub billsec: Option<i32>,
    pub hangup_cause: Option<String>,
    pub sip_hangup_disposition: Option<String>,
    pub switch_name: Option<String>,
    pub recording_path: Option<String>,
    /// `callplane_call_uuid`: the call callplane placed or routed this leg for.
    pub call_uuid: Option<String>,
    /// `callplane_leg`: `caller` (rung first, or the phone that dialled) or `callee`.
    pub role: Option<String>,
}

fn non_empty(v: Option<&String>) -> Option<String> {
    v.map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl RawCdr {
    fn var(&self, name: &str) -> Option<String> {
        non_empty(self.vars.get(name))
    }

    fn first_var(&self, names: &[&str]) -> Option<String> {
        names.iter().find_map(|n| self.var(n))
    }

    pub fn core_uuid(&self) -> Option<String> {
        non_empty(self.root.get("core-uuid")).or_else(|| self.var("Core-UUID"))
    }

    pub fn uuid(&self) -> Option<String> {
        self.var("uuid")
            .or_else(|| non_empty(self.profile.get("uuid")))
            .filter(|u| u.len() <= 128)
    }

    /// The summary, or why there is none (a CDR without a uuid cannot be identified).
    pub fn summarize(self) -> Result<CdrSummary, ParseFailure> {
        let Some(uuid) = self.uuid() else {
            return Err(ParseFailure {
                reason: "the CDR has no uuid (variables/uuid or caller_profile/uuid)".into(),
                partial: Box::new(self),
            });
        };
        let other_uuid = self
            .first_var(&[
                "originating_leg_uuid",
                "bridge_uuid",
                "other_loopback_leg_uuid",
                "signal_bond",
                "last_bridge_to",
            ])
            .or_else(|| self.peer_uuid.clone())
            .filter(|o| *o != uuid);
        let (caller, callee) = self.parties();
        Ok(CdrSummary {
            core_uuid: self.core_uuid().unwrap_or_default(),
            other_uuid,
            leg: if self.has_originator { "b" } else { "a" },
            caller,
            callee,
            call_uuid: self.var("callplane_call_uuid").filter(|u| u.len() <= 128),
            role: self
                .var("callplane_leg")
                .filter(|r| r == "caller" || r == "callee"),
            gateway: self.gateway(),
            start_time: self.time("start"),
            answer_time: self.time("answer"),
            end_time: self.time("end"),
            duration: self.var("duration").and_then(|v| v.parse().ok()),
            billsec: self.var("billsec").and_then(|v| v.parse().ok()),
            hangup_cause: self.var("hangup_cause"),
            sip_hangup_disposition: self.var("sip_hangup_disposition"),
            switch_name: non_empty(self.root.get("switchname")).or_else(|| {
                self.first_var(&[
                    "switchname",
                    "FreeSWITCH-Switchname",
                    "hostname",
                    "FreeSWITCH-Hostname",
                ])
            }),
            recording_path: self.recording_path(),
            uuid,
        })
    }

    /// Caller and callee as the business names them.
    ///
    /// * The caller leg of a click-to-call (callplane originated it, `direction` outbound):
    ///   the party rung is `dialed_user` (an extension) or the oldest callflow's destination;
    ///   the callee is `origination_caller_id_name`, which callplane sets to the callee's
    ///   number (it is what the caller's phone shows while ringing).
    /// * The caller leg of a call a phone dialled (inbound, routed by callplane's dialplan
    ///   answer): the oldest callflow, i.e. the phone's number and what it dialled.
    /// * Anything else, callee legs included: the newest callflow (for a callee leg: the
    ///   caller ID the line sent and the number dialled, line prefix included). The store
    ///   replaces the parties of a leg of a known call with the call's own caller and callee.
    fn parties(&self) -> (Option<String>, Option<String>) {
        let newest = |f: &str| non_empty(self.profile.get(f));
        let oldest = |f: &str| non_empty(self.oldest_profile.get(f)).or_else(|| newest(f));
        let generic = (
            newest("caller_id_number").or_else(|| {
                self.first_var(&[
                    "caller_id_number",
                    "effective_caller_id_number",
                    "sip_from_user",
                ])
            }),
            newest("destination_number")
                .or_else(|| self.first_var(&["destination_number", "sip_to_user"])),
        );
        if self.var("callplane_leg").as_deref() != Some("caller") {
            return generic;
        }
        if self.var("direction").as_deref() == Some("outbound") {
            let caller = self
                .var("dialed_user")
                .or_else(|| oldest("destination_number"))
                .or(generic.0);
            let callee = self
                .var("origination_caller_id_name")
                .or_else(|| newest("callee_id_number"))
                .or(generic.1);
            (caller, callee)
        } else {
            (
                oldest("caller_id_number").or(generic.0),
                oldest("destination_number").or(generic.1),
            )
        }
    }

    /// `<what>_uepoch` (microseconds) or `<what>_epoch` (seconds): the epoch variables are
    /// numbers in UTC, unlike the `_stamp` ones in the switch's local time. 0 means "never".
    fn time(&self, what: &str) -> Option<DateTime<Utc>> {
        let micros = self
            .var(&format!("{what}_uepoch"))
            .and_then(|v| v.parse::<i64>().ok())
            .or_else(|| {
                self.var(&format!("{what}_epoch"))
                    .and_then(|v| v.parse::<i64>().ok())
                    .and_then(|s| s.checked_mul(1_000_000))
            })
            .filter(|m| *m > 0)?;
        DateTime::from_timestamp_micros(micros)
    }

    /// `sip_gateway_name` (set on legs dialled through `sofia/gateway/NAME/...`), else the
    /// gateway named in the dial string this leg bridged to.
    fn gateway(&self) -> Option<String> {
        if let Some(g) = self.var("sip_gateway_name") {
            return Some(g);
        }
        let dial_strings = ["last_arg", "current_application_data"]
            .into_iter()
            .filter_map(|n| self.var(n))
            .chain(
                self.apps
                    .iter()
                    .filter(|(a, _)| a == "bridge")
                    .map(|(_, d)| d.clone()),
            );
        for d in dial_strings {
            if let Some(rest) = d.split("sofia/gateway/").nth(1) {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || "_.-".contains(*c))
                    .collect();
                if !name.is_empty() {
                    return Some(name);
                }
            }
        }
        None
    }

    /// `record_path`, else the file `record_session` got from `execute_on_answer*` (also as
    /// exported with `nolocal:`, which is how the caller leg of a callplane call holds it), or
    /// from the `app_log` (the last `record_session` run, or the last export of such an
    /// `execute_on_answer`).
    fn recording_path(&self) -> Option<String> {
        if let Some(p) = self.var("record_path") {
            return Some(p);
        }
        let mut on_answer: Vec<(&str, &String)> = self
            .vars
            .iter()
            .map(|(k, v)| (k.strip_prefix("nolocal:").unwrap_or(k), v))
            .filter(|(k, _)| k.starts_with("execute_on_answer"))
            .collect();
        on_answer.sort();
        if let Some(p) = on_answer
            .into_iter()
            .find_map(|(_, v)| record_session_file(v))
        {
            return Some(p);
        }
        self.apps
            .iter()
            .rev()
            .find_map(|(app, data)| match app.as_str() {
                "record_session" => non_empty(Some(&data.trim().to_string())),
                "export" | "set" => {
                    let data = data.trim();
                    let data = data.strip_prefix("nolocal:").unwrap_or(data);
                    let (name, value) = data.split_once('=')?;
                    name.starts_with("execute_on_answer")
                        .then(|| record_session_file(value))
                        .flatten()
                }
                _ => None,
            })
    }
}

/// The file of a `record_session` application as `execute_on_answer` holds it. FreeSWITCH
/// separates the application from its argument with a space, a `:` or `::` (the last runs it
/// in the background; switch_channel.c, `switch_channel_execute_on_value`), so
/// `record_session:/f.wav` (what callplane writes), `record_session::/f.wav` and
/// `record_session /f.wav` all record `/f.wav`.
fn record_session_file(value: &str) -> Option<String> {
    let arg = value.trim().strip_prefix("record_session")?;
    let arg = arg
        .strip_prefix("::")
        .or_else(|| arg.strip_prefix([':', ' ']))?
        .trim();
    (!arg.is_empty()).then(|| arg.to_string())
}
