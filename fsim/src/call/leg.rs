//! One call leg (a FreeSWITCH channel) and the channel headers it contributes to events:
//! basic channel data, the `Caller-*` profile, `Other-Leg-*` for a bridged peer, and the
//! `variable_*` channel variables, in the order switch_channel_event_set_data writes them
//! (compare the cgrates CHANNEL_ANSWER / CHANNEL_HANGUP_COMPLETE captures).

use crate::event::Event;
use crate::state::Shared;
use crate::text::{local_stamp, now_micros};

/// A channel as the simulator tracks it.
#[derive(Debug, Clone, Default)]
pub struct Leg {
    /// Unique-ID (origination_uuid when given).
    pub uuid: String,
    /// `outbound` for legs FreeSWITCH places.
    pub direction: String,
    /// Channel-Name, e.g. `sofia/gateway/carrier/13800000000`.
    pub name: String,
    /// The endpoint dial string this leg came from.
    pub endpoint: String,
    /// Caller-Destination-Number.
    pub dest: String,
    /// Caller ID name / number presented.
    pub cid_name: String,
    /// Caller ID number presented.
    pub cid_num: String,
    /// Callee ID name (FreeSWITCH shows `Outbound Call` for originated legs).
    pub callee_name: String,
    /// Dialplan context.
    pub context: String,
    /// Channel state name, e.g. CS_EXECUTE.
    pub state: &'static str,
    /// Channel-Call-State: DOWN, RINGING, EARLY, ACTIVE, HANGUP.
    pub call_state: &'static str,
    /// Answer-State: ringing, early, answered, hangup.
    pub answer_state: &'static str,
    /// Times in µs since the epoch; 0 when the moment has not happened.
    pub created_us: u64,
    /// Ring indication time.
    pub progress_us: u64,
    /// Early media time.
    pub progress_media_us: u64,
    /// Answer time.
    pub answered_us: u64,
    /// Bridge time.
    pub bridged_us: u64,
    /// Hangup time.
    pub hangup_us: u64,
    /// Hangup cause once hung up.
    pub hangup_cause: Option<String>,
    /// Channel variables, including those the originate set.
    pub vars: Vec<(String, String)>,
    /// Variables `export` put aside for legs this one bridges to.
    pub exports: Vec<(String, String)>,
    /// Bridged peer (uuid, name, dest, cid name, cid num, created µs) and its role.
    pub other: Option<Box<Leg>>,
    /// `originatee` on the A-leg, `originator` on the B-leg.
    pub other_type: &'static str,
    /// Gateway name for `sofia/gateway/...` legs.
    pub gateway: Option<String>,
    /// Current application and its data, for `show channels`.
    pub application: String,
    /// Application data.
    pub application_data: String,
    /// Applications run, (name, data, µs) for the CDR app_log.
    pub app_log: Vec<(String, String, u64)>,
    /// True for legs created by a bridge (B-legs).
    pub is_b_leg: bool,
    /// Channel-Call-UUID: the A-leg's uuid on a B-leg; empty means this leg's own uuid.
    pub call_uuid: String,
    /// Channel-Presence-ID, e.g. `1001@10.0.0.5`.
    pub presence_id: Option<String>,
    /// A running `record_session`: the file and when it started (µs).
    pub recording: Option<(String, u64)>,
    /// The caller profile before the transfer into the inline dialplan (the CDR's older
    /// callflow): caller ID name, number, destination, and the transfer time (µs).
    pub first_profile: Option<(String, String, String, u64)>,
}

/// Numeric value of a channel state (switch_types.h `switch_channel_state_t`).
pub fn state_number(state: &str) -> u32 {
    const STATES: [&str; 13] = [
        "CS_NEW",
        "CS_INIT",
        "CS_ROUTING",
        "CS_SOFT_EXECUTE",
        "CS_EXECUTE",
        "CS_EXCHANGE_MEDIA",
        "CS_PARK",
        "CS_CONSUME_MEDIA",
        "CS_HIBERNATE",
        "CS_RESET",
        "CS_HANGUP",
        "CS_REPORTING",
        "CS_DESTROY",
    ];
    STATES.iter().position(|s| *s == state).unwrap_or(0) as u32
}

/// Q.850 code of a hangup cause (switch_channel.c CAUSE_CHART); FreeSWITCH-specific causes
/// carry their internal numbers.
pub fn q850(cause: &str) -> u32 {
    match cause {
        "UNALLOCATED_NUMBER" => 1,
        "NORMAL_CLEARING" => 16,
        "USER_BUSY" => 17,
        "NO_USER_RESPONSE" => 18,
        "NO_ANSWER" => 19,
        "SUBSCRIBER_ABSENT" => 20,
        "CALL_REJECTED" => 21,
        "DESTINATION_OUT_OF_ORDER" => 27,
        "INVALID_NUMBER_FORMAT" => 28,
        "NORMAL_UNSPECIFIED" => 31,
        "NORMAL_CIRCUIT_CONGESTION" => 34,
        "NORMAL_TEMPORARY_FAILURE" => 41,
        "RECOVERY_ON_TIMER_EXPIRE" => 102,
        "ORIGINATOR_CANCEL" => 487,
        "LOSE_RACE" => 502,
        "MANAGER_REQUEST" => 503,
        "ALLOTTED_TIMEOUT" => 602,
        "USER_NOT_REGISTERED" => 606,
        "INVALID_GATEWAY" => 608,
        "GATEWAY_DOWN" => 609,
        _ => 0,
    }
}

/// SIP status a cause maps to (hangup_cause_to_sip in mod_sofia.c); 200 for a normal end.
pub fn sip_status(cause: &str) -> u32 {
    match cause {
        "NORMAL_CLEARING" => 200,
        "UNALLOCATED_NUMBER" => 404,
        "USER_BUSY" => 486,
        "NO_USER_RESPONSE" => 408,
        "NO_ANSWER" | "SUBSCRIBER_ABSENT" | "NORMAL_UNSPECIFIED" => 480,
        "CALL_REJECTED" => 603,
        "DESTINATION_OUT_OF_ORDER" => 502,
        "NORMAL_TEMPORARY_FAILURE" | "NORMAL_CIRCUIT_CONGESTION" | "GATEWAY_DOWN" => 503,
        "RECOVERY_ON_TIMER_EXPIRE" => 504,
        "ORIGINATOR_CANCEL" => 487,
        _ => 480,
    }
}

impl Leg {
    /// A new outbound leg in CS_INIT.
    pub fn outbound(uuid: String, name: String, endpoint: String, dest: String) -> Leg {
        Leg {
            uuid,
            direction: "outbound".into(),
            name,
            endpoint,
            dest,
            cid_name: "FreeSWITCH".into(),
            cid_num: "0000000000".into(),
            callee_name: "Outbound Call".into(),
            context: "default".into(),
            state: "CS_INIT",
            call_state: "DOWN",
            answer_state: "ringing",
            created_us: now_micros(),
            other_type: "",
            ..Leg::default()
        }
    }

    /// Channel variable by name.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets (or replaces) a channel variable.
    pub fn set_var(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.vars.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value,
            None => self.vars.push((name.to_string(), value)),
        }
    }

    /// Whether media flows (codec headers are present from early media on).
    fn has_media(&self) -> bool {
        self.progress_media_us > 0 || self.answered_us > 0
    }

    /// A channel event with this leg's data appended after any event-specific headers.
    pub fn event(&self, shared: &Shared, name: &str, file: &str, func: &str, line: u32) -> Event {
        let mut ev = shared.new_event(name, file, func, line);
        if let Some(cause) = &self.hangup_cause
            && (name == "CHANNEL_HANGUP" || name == "CHANNEL_HANGUP_COMPLETE")
        {
            ev.push("Hangup-Cause", cause.clone());
        }
        self.append_data(&mut ev, name);
        ev
    }

    /// Appends channel data to an event that already has its specific headers.
    pub fn append_data(&self, ev: &mut Event, name: &str) {
        ev.push("Channel-State", self.state);
        ev.push("Channel-Call-State", self.call_state);
        ev.push("Channel-State-Number", state_number(self.state).to_string());
        ev.push("Channel-Name", self.name.clone());
        ev.push("Unique-ID", self.uuid.clone());
        ev.push("Call-Direction", self.direction.clone());
        ev.push("Presence-Call-Direction", self.direction.clone());
        ev.push("Channel-HIT-Dialplan", "false");
        if let Some(p) = &self.presence_id {
            ev.push("Channel-Presence-ID", p.clone());
        }
        let call_uuid = if self.call_uuid.is_empty() {
            &self.uuid
        } else {
            &self.call_uuid
        };
        ev.push("Channel-Call-UUID", call_uuid.clone());
        ev.push("Answer-State", self.answer_state);
        if let Some(cause) = &self.hangup_cause {
            ev.push("Hangup-Cause", cause.clone());
        }
        if self.has_media() {
            for dir in ["Read", "Write"] {
                ev.push(format!("Channel-{dir}-Codec-Name"), "PCMA");
                ev.push(format!("Channel-{dir}-Codec-Rate"), "8000");
                ev.push(format!("Channel-{dir}-Codec-Bit-Rate"), "64000");
            }
        }
        profile_headers(ev, "Caller", self, true);
        if let Some(other) = &self.other {
            ev.push("Other-Type", self.other_type);
            profile_headers(ev, "Other-Leg", other, false);
        }
        // CHANNEL_CREATE carries the variables known at creation too; every channel event does.
        let _ = name;
        for (k, v) in &self.vars {
            ev.push(format!("variable_{k}"), v.clone());
        }
    }

    /// Variables mod_xml_cdr and CHANNEL_HANGUP_COMPLETE carry once the leg is over.
    pub fn set_hangup_vars(&mut self) {
        let cause = self
            .hangup_cause
            .clone()
            .unwrap_or_else(|| "NORMAL_CLEARING".into());
        let end = self.hangup_us.max(self.created_us);
        let answered = self.answered_us;
        let billed_us = if answered > 0 {
            end.saturating_sub(answered)
        } else {
            0
        };
        let total_us = end.saturating_sub(self.created_us);
        let progress_us = if self.progress_us > 0 {
            self.progress_us - self.created_us
        } else {
            0
        };
        self.set_var("hangup_cause", cause.clone());
        self.set_var("hangup_cause_q850", q850(&cause).to_string());
        // Names and order as in the cgrates CHANNEL_HANGUP_COMPLETE captures
        // (switch_channel_set_timestamps): stamps only for moments that happened, epochs always.
        let times = [
            ("start", self.created_us),
            ("profile_start", self.created_us),
            ("answer", answered),
            ("bridge", self.bridged_us),
            ("progress", self.progress_us),
            ("progress_media", self.progress_media_us),
            ("end", end),
        ];
        for (label, t) in times {
            if t > 0 {
                self.set_var(&format!("{label}_stamp"), local_stamp(t));
            }
        }
        let epochs = [
            ("start", self.created_us),
            ("profile_start", self.created_us),
            ("answer", answered),
            ("bridge", self.bridged_us),
            ("last_hold", 0),
        ];
        for (label, t) in epochs {
            self.set_var(&format!("{label}_epoch"), (t / 1_000_000).to_string());
            self.set_var(&format!("{label}_uepoch"), t.to_string());
        }
        self.set_var("hold_accum_seconds", "0");
        self.set_var("hold_accum_usec", "0");
        for (label, t) in [
            ("resurrect", 0),
            ("progress", self.progress_us),
            ("progress_media", self.progress_media_us),
            ("end", end),
        ] {
            self.set_var(&format!("{label}_epoch"), (t / 1_000_000).to_string());
            self.set_var(&format!("{label}_uepoch"), t.to_string());
        }
        let wait_us = if answered > 0 {
            answered - self.created_us
        } else {
            0
        };
        let media_us = if self.progress_media_us > 0 {
            self.progress_media_us - self.created_us
        } else {
            0
        };
        let spans = [
            ("duration", "billsec", "sec", total_us, billed_us),
            ("mduration", "billmsec", "msec", total_us, billed_us),
            ("uduration", "billusec", "usec", total_us, billed_us),
        ];
        for (dur, bill, unit, total, billed) in spans {
            let div = match unit {
                "sec" => 1_000_000,
                "msec" => 1000,
                _ => 1,
            };
            self.set_var(dur, (total / div).to_string());
            self.set_var(bill, (billed / div).to_string());
            self.set_var(&format!("progress{unit}"), (progress_us / div).to_string());
            self.set_var(&format!("answer{unit}"), (wait_us / div).to_string());
            self.set_var(&format!("wait{unit}"), (wait_us / div).to_string());
            self.set_var(
                &format!("progress_media{unit}"),
                (media_us / div).to_string(),
            );
            self.set_var(&format!("flow_bill{unit}"), (total / div).to_string());
        }
        if let Some((app, arg, _)) = self.app_log.last().cloned() {
            self.set_var("last_app", app);
            self.set_var("last_arg", arg);
        }
    }
}

/// `Caller-*` or `Other-Leg-*` caller-profile headers (switch_caller_profile_event_set_data).
fn profile_headers(ev: &mut Event, prefix: &str, leg: &Leg, full: bool) {
    let p = |k: &str| format!("{prefix}-{k}");
    ev.push(p("Direction"), leg.direction.clone());
    ev.push(p("Logical-Direction"), leg.direction.clone());
    ev.push(p("Username"), "");
    ev.push(p("Dialplan"), "XML");
    ev.push(p("Caller-ID-Name"), leg.cid_name.clone());
    ev.push(p("Caller-ID-Number"), leg.cid_num.clone());
    ev.push(p("Orig-Caller-ID-Name"), leg.cid_name.clone());
    ev.push(p("Orig-Caller-ID-Number"), leg.cid_num.clone());
    ev.push(p("Callee-ID-Name"), leg.callee_name.clone());
    ev.push(p("Callee-ID-Number"), leg.dest.clone());
    ev.push(p("Network-Addr"), "");
    ev.push(p("ANI"), leg.cid_num.clone());
    ev.push(p("Destination-Number"), leg.dest.clone());
    ev.push(p("Unique-ID"), leg.uuid.clone());
    ev.push(p("Source"), "src/switch_ivr_originate.c");
    ev.push(p("Context"), leg.context.clone());
    ev.push(p("Channel-Name"), leg.name.clone());
    if full {
        ev.push(p("Profile-Index"), "1");
    }
    ev.push(p("Profile-Created-Time"), leg.created_us.to_string());
    ev.push(p("Channel-Created-Time"), leg.created_us.to_string());
    ev.push(p("Channel-Answered-Time"), leg.answered_us.to_string());
    ev.push(p("Channel-Progress-Time"), leg.progress_us.to_string());
    ev.push(
        p("Channel-Progress-Media-Time"),
        leg.progress_media_us.to_string(),
    );
    ev.push(p("Channel-Hangup-Time"), leg.hangup_us.to_string());
    ev.push(p("Channel-Transfer-Time"), "0");
    ev.push(p("Channel-Resurrect-Time"), "0");
    ev.push(p("Channel-Bridged-Time"), leg.bridged_us.to_string());
    ev.push(p("Channel-Last-Hold"), "0");
    ev.push(p("Channel-Hold-Accum"), "0");
    ev.push(p("Screen-Bit"), "true");
    ev.push(p("Privacy-Hide-Name"), "false");
    ev.push(p("Privacy-Hide-Number"), "false");
}
