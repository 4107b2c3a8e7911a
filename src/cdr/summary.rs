//! The summary callplane keeps of a CDR, taken from what both document formats share: the
//! root's `core-uuid`/`switchname`, the `variables`, the newest callflow's caller profile and
//! the `app_log`. Variable values arrive already percent-decoded.

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
        Ok(CdrSummary {
            core_uuid: self.core_uuid().unwrap_or_default(),
            other_uuid,
            leg: if self.has_originator { "b" } else { "a" },
            caller: non_empty(self.profile.get("caller_id_number")).or_else(|| {
                self.first_var(&[
                    "caller_id_number",
                    "effective_caller_id_number",
                    "sip_from_user",
                ])
            }),
            callee: non_empty(self.profile.get("destination_number"))
                .or_else(|| self.first_var(&["destination_number", "sip_to_user"])),
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

    /// `record_path`, else the file `record_session` got from `execute_on_answer*` or the
    /// `app_log` (the last one run).
    fn recording_path(&self) -> Option<String> {
        if let Some(p) = self.var("record_path") {
            return Some(p);
        }
        let mut on_answer: Vec<(&String, &String)> = self
            .vars
            .iter()
            .filter(|(k, _)| k.starts_with("execute_on_answer"))
            .collect();
        on_answer.sort();
        for (_, v) in on_answer {
            let v = v.trim();
            if let Some(arg) = v.strip_prefix("record_session") {
                let arg = arg.trim_start_matches("::").trim();
                if !arg.is_empty() {
                    return Some(arg.to_string());
                }
            }
        }
        self.apps
            .iter()
            .rev()
            .find(|(a, d)| a == "record_session" && !d.trim().is_empty())
            .map(|(_, d)| d.trim().to_string())
    }
}
