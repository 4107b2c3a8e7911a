//! Shapes: what callplane reads from a call, reduced so that two runs of the same scenario
//! (on FreeSWITCH and on the simulator, or on two switches) can be compared although UUIDs,
//! times and the many headers callplane ignores differ.
//!
//! A [`Shape`] comes from a raw `text/event-plain` stream (as `event plain ALL` delivers it) or
//! from parsed events. Legs are the channels that carry `variable_callplane_leg` at some point
//! (the carrier's own inbound leg, when the carrier stand-in is the same switch, has none and is
//! left out); each is named by that variable (`caller`, `callee`; a second callee leg of a
//! failover is `callee#2`), in order of first appearance. Every known leg UUID inside a compared
//! value is replaced by `<role>`.
//!
//! Per leg the shape keeps, in order, the events in [`LEG_EVENTS`] (plus the hangup hook's
//! `API` event that FreeSWITCH sends without `Event-Name`, named [`HOOK_EVENT`]); other events
//! (CHANNEL_STATE, CHANNEL_CALLSTATE, CHANNEL_EXECUTE*, CODEC, PRESENCE_IN, MEDIA_BUG_*,
//! RECV_INFO, named API, HEARTBEAT, RE_SCHEDULE, CUSTOM, ...) are ignored. For the events callplane
//! acts on ([`READ_EVENTS`]) it also keeps the headers of [`VALUE_HEADERS`] with their values
//! and whether those of [`PRESENT_HEADERS`] are there. Across legs it keeps the order of the
//! milestones (answers, the originate's BACKGROUND_JOB, bridges, hangup completions).

mod cdr;
mod parse;

pub use cdr::CdrShape;
pub use parse::{RawEvent, parse_plain_stream};

use std::collections::{BTreeMap, HashMap};

/// Channel events kept in each leg's sequence.
pub const LEG_EVENTS: &[&str] = &[
    "CHANNEL_OUTGOING",
    "CHANNEL_CREATE",
    "CHANNEL_ORIGINATE",
    "CALL_UPDATE",
    "CHANNEL_PROGRESS",
    "CHANNEL_PROGRESS_MEDIA",
    "CHANNEL_ANSWER",
    "CHANNEL_BRIDGE",
    "CHANNEL_UNBRIDGE",
    "RECORD_START",
    "RECORD_STOP",
    "PLAYBACK_START",
    "PLAYBACK_STOP",
    "CHANNEL_HANGUP",
    "CHANNEL_HANGUP_COMPLETE",
    "CHANNEL_DESTROY",
];

/// The name a shape gives the hangup hook's event, which has no `Event-Name`.
pub const HOOK_EVENT: &str = "API(no Event-Name)";

/// Events whose headers are compared (callplane's ESL subscription).
pub const READ_EVENTS: &[&str] = &[
    "CHANNEL_CREATE",
    "CHANNEL_PROGRESS",
    "CHANNEL_PROGRESS_MEDIA",
    "CHANNEL_ANSWER",
    "CHANNEL_BRIDGE",
    "CHANNEL_HANGUP",
    "CHANNEL_HANGUP_COMPLETE",
    HOOK_EVENT,
];

/// Headers compared with their values (leg UUIDs replaced by roles).
pub const VALUE_HEADERS: &[&str] = &[
    "Call-Direction",
    "Answer-State",
    "Hangup-Cause",
    "Caller-Caller-ID-Number",
    "Caller-Destination-Number",
    "Other-Leg-Unique-ID",
    "API-Command",
    "variable_callplane_call_uuid",
    "variable_callplane_leg",
    "variable_callplane_gateway",
    "variable_sip_gateway_name",
    "variable_hangup_cause",
    "variable_sip_hangup_disposition",
    "variable_sip_term_status",
    "variable_endpoint_disposition",
    "variable_originate_disposition",
    "variable_originate_causes",
    "variable_originate_failed_cause",
    "variable_bridge_hangup_cause",
    "variable_last_bridge_hangup_cause",
    "variable_record_completion_cause",
];

/// Headers compared by presence only (their values depend on times or the machine).
pub const PRESENT_HEADERS: &[&str] = &[
    "Unique-ID",
    "Event-Date-Timestamp",
    "Caller-Caller-ID-Name",
    "variable_record_file_size",
    "variable_record_seconds",
    "variable_record_ms",
    "variable_billsec",
    "variable_duration",
];

/// Events that order the legs relative to each other.
const MILESTONES: &[&str] = &[
    "CHANNEL_ANSWER",
    "CHANNEL_BRIDGE",
    "CHANNEL_HANGUP_COMPLETE",
];

/// One event of a leg: its name and the compared headers (`None` = present, value not compared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventShape {
    pub name: String,
    pub headers: BTreeMap<String, Option<String>>,
}

/// One leg: its role and its events in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegShape {
    pub role: String,
    pub events: Vec<EventShape>,
}

/// A call reduced to what callplane reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    /// Legs in order of first appearance.
    pub legs: Vec<LegShape>,
    /// `role EVENT` for answers, bridges and hangup completions, and `job BACKGROUND_JOB`
    /// for the originate's result, in stream order.
    pub milestones: Vec<String>,
    /// The originate's BACKGROUND_JOB body (first line), e.g. `+OK <caller>` or `-ERR USER_BUSY`.
    pub job: Option<String>,
}

impl Shape {
    /// The shape of a raw ESL stream as captured (frames with `Content-Type` and
    /// `Content-Length`, URL-encoded headers in `text/event-plain` bodies). Anything that is not
    /// an event frame (command replies, a capture's comment lines) is skipped.
    pub fn from_plain_stream(raw: &str) -> Shape {
        Shape::from_events(&parse_plain_stream(raw))
    }

    /// The shape of events already parsed (headers with decoded values).
    pub fn from_events(events: &[RawEvent]) -> Shape {
        let roles = assign_roles(events);
        let norm = |v: &str| {
            let mut v = v.to_string();
            for (uuid, role) in &roles {
                v = v.replace(uuid.as_str(), &format!("<{role}>"));
            }
            v
        };
        let mut shape = Shape::default();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for ev in events {
            let name = match ev.get("Event-Name") {
                Some(n) => n.to_string(),
                None if ev.get("API-Command").is_some() => HOOK_EVENT.to_string(),
                None => continue,
            };
            if name == "BACKGROUND_JOB" {
                if ev.get("Job-Command") == Some("originate") && shape.job.is_none() {
                    let body = ev.body.as_deref().unwrap_or("");
                    shape.job = Some(norm(body.lines().next().unwrap_or("").trim()));
                    shape.milestones.push("job BACKGROUND_JOB".into());
                }
                continue;
            }
            if name != HOOK_EVENT && !LEG_EVENTS.contains(&name.as_str()) {
                continue;
            }
            let Some(uuid) = ev.get("Unique-ID") else {
                continue;
            };
            let Some((_, role)) = roles.iter().find(|(u, _)| u == uuid) else {
                continue;
            };
            let slot = *index.entry(role.as_str()).or_insert_with(|| {
                shape.legs.push(LegShape {
                    role: role.clone(),
                    events: Vec::new(),
                });
                shape.legs.len() - 1
            });
            let mut headers = BTreeMap::new();
            if READ_EVENTS.contains(&name.as_str()) {
                for h in VALUE_HEADERS {
                    if let Some(v) = ev.get(h) {
                        headers.insert(h.to_string(), Some(norm(v)));
                    }
                }
                for h in PRESENT_HEADERS {
                    if ev.get(h).is_some() {
                        headers.insert(h.to_string(), None);
                    }
                }
            }
            if MILESTONES.contains(&name.as_str()) {
                shape.milestones.push(format!("{role} {name}"));
            }
            shape.legs[slot].events.push(EventShape { name, headers });
        }
        shape
    }

    /// Human-readable differences from `other` (`self` is "left", `other` "right"); empty when
    /// the shapes are the same.
    pub fn diff(&self, other: &Shape) -> Vec<String> {
        let mut out = Vec::new();
        let roles = |s: &Shape| s.legs.iter().map(|l| l.role.clone()).collect::<Vec<_>>();
        if roles(self) != roles(other) {
            out.push(format!(
                "legs: left {:?}, right {:?}",
                roles(self),
                roles(other)
            ));
        }
        if self.job != other.job {
            out.push(format!(
                "BACKGROUND_JOB: left {:?}, right {:?}",
                self.job, other.job
            ));
        }
        if self.milestones != other.milestones {
            out.push(format!(
                "milestones: left {:?}, right {:?}",
                self.milestones, other.milestones
            ));
        }
        for l in &self.legs {
            let Some(r) = other.legs.iter().find(|r| r.role == l.role) else {
                continue;
            };
            diff_leg(l, r, &mut out);
        }
        out
    }
}

fn diff_leg(l: &LegShape, r: &LegShape, out: &mut Vec<String>) {
    let names = |x: &LegShape| x.events.iter().map(|e| e.name.clone()).collect::<Vec<_>>();
    if names(l) != names(r) {
        out.push(format!(
            "{} events:\n  left  {:?}\n  right {:?}",
            l.role,
            names(l),
            names(r)
        ));
        return;
    }
    for (i, (a, b)) in l.events.iter().zip(&r.events).enumerate() {
        let keys: std::collections::BTreeSet<&String> =
            a.headers.keys().chain(b.headers.keys()).collect();
        for k in keys {
            let (x, y) = (a.headers.get(k), b.headers.get(k));
            if x != y {
                out.push(format!(
                    "{} #{i} {} {k}: left {}, right {}",
                    l.role,
                    a.name,
                    show(x),
                    show(y)
                ));
            }
        }
    }
}

fn show(v: Option<&Option<String>>) -> String {
    match v {
        None => "absent".into(),
        Some(None) => "present".into(),
        Some(Some(s)) => format!("{s:?}"),
    }
}

/// Leg UUID -> role, in order of first appearance of the UUID in the stream.
fn assign_roles(events: &[RawEvent]) -> Vec<(String, String)> {
    let mut first_seen: Vec<String> = Vec::new();
    let mut leg_of: HashMap<String, String> = HashMap::new();
    for ev in events {
        let Some(uuid) = ev.get("Unique-ID") else {
            continue;
        };
        if !first_seen.iter().any(|u| u == uuid) {
            first_seen.push(uuid.to_string());
        }
        if let Some(leg) = ev.get("variable_callplane_leg") {
            leg_of
                .entry(uuid.to_string())
                .or_insert_with(|| leg.to_string());
        }
    }
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for uuid in first_seen {
        let Some(leg) = leg_of.get(&uuid) else {
            continue;
        };
        let n = counts.entry(leg.clone()).or_default();
        *n += 1;
        let role = if *n == 1 {
            leg.clone()
        } else {
            format!("{leg}#{n}")
        };
        out.push((uuid, role));
    }
    out
}
