//! The shape of a mod_xml_cdr document: the fields callplane's CDR reader takes (the root's
//! `core-uuid`/`switchname`, the variables it reads, the newest callflow's caller profile and
//! its originator/originatee, the `app_log`), plus the number of callflows and the oldest
//! callflow's caller and destination. Values that depend on times or UUIDs are reduced to
//! "present" or, for epochs, to whether they are zero.

use std::collections::BTreeMap;

use crate::text::url_decode;

/// Variables compared with their (decoded) values.
const VALUE_VARS: &[&str] = &[
    "hangup_cause",
    "sip_hangup_disposition",
    "sip_gateway_name",
    "callplane_leg",
    "callplane_gateway",
    "endpoint_disposition",
    "originate_disposition",
    "bridge_hangup_cause",
    "last_bridge_hangup_cause",
    "record_completion_cause",
    "last_app",
    "direction",
];

/// Variables compared by presence.
const PRESENT_VARS: &[&str] = &[
    "uuid",
    "originating_leg_uuid",
    "bridge_uuid",
    "other_loopback_leg_uuid",
    "signal_bond",
    "last_bridge_to",
    "caller_id_number",
    "effective_caller_id_number",
    "sip_from_user",
    "destination_number",
    "sip_to_user",
    "duration",
    "billsec",
    "last_arg",
    "current_application_data",
    "record_path",
    "record_file_size",
    "record_seconds",
    "callplane_call_uuid",
];

/// Epoch variables: compared as `0` or `set`.
const EPOCH_VARS: &[&str] = &[
    "start_epoch",
    "start_uepoch",
    "answer_epoch",
    "answer_uepoch",
    "end_epoch",
    "end_uepoch",
];

/// A CDR reduced to what callplane parses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CdrShape {
    /// Compared fields, e.g. `leg` = `a`, `var hangup_cause` = `NORMAL_CLEARING`,
    /// `var billsec` = `present`.
    pub fields: BTreeMap<String, String>,
    /// `app_log` application names, in order.
    pub apps: Vec<String>,
}

impl CdrShape {
    /// The shape of one XML CDR document.
    pub fn from_xml(xml: &str) -> CdrShape {
        let doc = Doc::parse(xml);
        let mut s = CdrShape::default();
        let mut put = |k: &str, v: String| {
            s.fields.insert(k.to_string(), v);
        };
        for attr in ["core-uuid", "switchname"] {
            if doc
                .root_attrs
                .iter()
                .any(|(k, v)| k == attr && !v.is_empty())
            {
                put(&format!("root {attr}"), "present".into());
            }
        }
        put("callflows", doc.callflows.len().to_string());
        if let Some(newest) = doc.callflows.first() {
            let leg = if newest.peer_role.as_deref() == Some("originator") {
                "b"
            } else {
                "a"
            };
            put("leg", leg.into());
            for (k, v) in &newest.profile {
                put(&format!("newest {k}"), v.clone());
            }
            if let Some(role) = &newest.peer_role {
                put("newest peer", role.clone());
            }
        }
        if doc.callflows.len() > 1
            && let Some(oldest) = doc.callflows.last()
        {
            for (k, v) in &oldest.profile {
                put(&format!("oldest {k}"), v.clone());
            }
        }
        let var = |n: &str| {
            doc.vars
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| url_decode(v))
                .filter(|v| !v.trim().is_empty())
        };
        for n in VALUE_VARS {
            if let Some(v) = var(n) {
                put(&format!("var {n}"), v);
            }
        }
        for n in PRESENT_VARS {
            if var(n).is_some() {
                put(&format!("var {n}"), "present".into());
            }
        }
        for n in EPOCH_VARS {
            if let Some(v) = var(n) {
                let zero = v.trim().parse::<u64>() == Ok(0);
                put(&format!("var {n}"), if zero { "0" } else { "set" }.into());
            }
        }
        for (k, v) in &doc.vars {
            if k.starts_with("execute_on_answer") {
                let app = url_decode(v);
                let app = app.split([':', ' ']).next().unwrap_or("").to_string();
                put(&format!("var {k}"), app);
            }
        }
        s.apps = doc.apps;
        s
    }

    /// Human-readable differences from `other`; empty when the shapes are the same.
    pub fn diff(&self, other: &CdrShape) -> Vec<String> {
        let mut out = Vec::new();
        let keys: std::collections::BTreeSet<&String> =
            self.fields.keys().chain(other.fields.keys()).collect();
        for k in keys {
            let (a, b) = (self.fields.get(k), other.fields.get(k));
            if a != b {
                out.push(format!("{k}: left {a:?}, right {b:?}"));
            }
        }
        if self.apps != other.apps {
            out.push(format!(
                "app_log: left {:?}, right {:?}",
                self.apps, other.apps
            ));
        }
        out
    }
}

/// One callflow: the caller profile fields compared, and the peer's role if any.
#[derive(Debug, Default)]
struct Callflow {
    profile: BTreeMap<String, String>,
    peer_role: Option<String>,
}

/// The parts of the document the shape needs.
#[derive(Debug, Default)]
struct Doc {
    root_attrs: Vec<(String, String)>,
    vars: Vec<(String, String)>,
    apps: Vec<String>,
    callflows: Vec<Callflow>,
}

impl Doc {
    fn parse(xml: &str) -> Doc {
        let mut doc = Doc::default();
        let mut path: Vec<String> = Vec::new();
        let mut text = String::new();
        let mut rest = xml;
        while let Some(lt) = rest.find('<') {
            text.push_str(&rest[..lt]);
            rest = &rest[lt..];
            let Some(gt) = rest.find('>') else { break };
            let tag = &rest[1..gt];
            rest = &rest[gt + 1..];
            if tag.starts_with('?') || tag.starts_with('!') {
                continue;
            }
            if let Some(name) = tag.strip_prefix('/') {
                doc.close(&path, name.trim(), &unescape(text.trim()));
                path.pop();
                text.clear();
                continue;
            }
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let (name, attrs) = tag.split_once(char::is_whitespace).unwrap_or((tag, ""));
            let attrs = attributes(attrs);
            path.push(name.to_string());
            text.clear();
            doc.open(&path, &attrs);
            if self_closing {
                path.pop();
            }
        }
        doc
    }

    fn open(&mut self, path: &[String], attrs: &[(String, String)]) {
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        match p.as_slice() {
            ["cdr"] => self.root_attrs = attrs.to_vec(),
            ["cdr", "app_log", "application"] => {
                if let Some((_, v)) = attrs.iter().find(|(k, _)| k == "app_name") {
                    self.apps.push(v.clone());
                }
            }
            ["cdr", "callflow"] => self.callflows.push(Callflow::default()),
            ["cdr", "callflow", "caller_profile", role]
                if *role == "originator" || *role == "originatee" =>
            {
                if let Some(cf) = self.callflows.last_mut() {
                    cf.peer_role = Some(role.to_string());
                }
            }
            _ => {}
        }
    }

    fn close(&mut self, path: &[String], _name: &str, text: &str) {
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        match p.as_slice() {
            ["cdr", "variables", name] => self.vars.push((name.to_string(), text.to_string())),
            ["cdr", "callflow", "caller_profile", field]
                if *field == "caller_id_number" || *field == "destination_number" =>
            {
                if let Some(cf) = self.callflows.last_mut() {
                    cf.profile.insert(field.to_string(), text.to_string());
                }
            }
            _ => {}
        }
    }
}

fn attributes(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq].trim().to_string();
        let after = rest[eq + 1..].trim_start();
        let Some(q) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            break;
        };
        let Some(end) = after[1..].find(q) else { break };
        out.push((key, unescape(&after[1..1 + end])));
        rest = after[end + 2..].trim_start();
    }
    out
}

/// XML entities: the five named ones and numeric references.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';') else { break };
        let ent = &rest[1..semi];
        let c = match ent {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => ent
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| ent.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}
