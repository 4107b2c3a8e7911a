//! Reads a mod_json_cdr document into a `RawCdr`. Layouts differ by FreeSWITCH version:
//! `callflow` is one object (before about 2016) or an array, newest first; `app_log` is
//! `{"applications": [...]}`. With `encode-values` (mod_json_cdr's default) variable values
//! are URL-encoded, so they are percent-decoded like the XML ones.

use serde_json::{Map, Value};

use super::body::percent_decode;
use super::{ParseFailure, RawCdr};

pub fn parse(doc: &[u8]) -> Result<RawCdr, ParseFailure> {
    let fail = |reason: String| ParseFailure {
        reason,
        partial: Box::default(),
    };
    let value: Value =
        serde_json::from_slice(doc).map_err(|e| fail(format!("malformed JSON: {e}")))?;
    let Value::Object(root) = value else {
        return Err(fail("the JSON CDR is not an object".into()));
    };
    let mut raw = RawCdr::default();
    for (k, v) in &root {
        if let Some(s) = scalar(v) {
            raw.root.insert(k.clone(), s);
        }
    }
    if let Some(Value::Object(vars)) = root.get("variables") {
        for (k, v) in vars {
            if let Some(s) = scalar(v) {
                raw.vars.insert(k.clone(), percent_decode(&s));
            }
        }
    }
    let (newest, oldest) = match root.get("callflow") {
        Some(Value::Array(flows)) => (flows.first(), flows.last()),
        other => (other, other),
    };
    if let Some(Value::Object(profile)) = newest.and_then(|c| c.get("caller_profile")) {
        read_profile(&mut raw, profile);
    }
    if let Some(Value::Object(profile)) = oldest.and_then(|c| c.get("caller_profile")) {
        for (k, v) in profile {
            if let Some(s) = scalar(v) {
                raw.oldest_profile.insert(k.clone(), s);
            }
        }
    }
    if let Some(Value::Array(apps)) = root.get("app_log").and_then(|a| a.get("applications")) {
        for app in apps {
            let field = |n: &str| app.get(n).and_then(scalar).unwrap_or_default();
            raw.apps
                .push((field("app_name"), percent_decode(&field("app_data"))));
        }
    }
    if raw.uuid().is_none() && raw.vars.is_empty() {
        return Err(ParseFailure {
            reason: "the JSON document has no variables: not a mod_json_cdr CDR".into(),
            partial: Box::new(raw),
        });
    }
    Ok(raw)
}

fn read_profile(raw: &mut RawCdr, profile: &Map<String, Value>) {
    for (k, v) in profile {
        if let Some(s) = scalar(v) {
            raw.profile.insert(k.clone(), s);
        }
    }
    raw.has_originator = profile.contains_key("originator");
    // {"originatee": {"originatee_caller_profiles": [{...}]}} in newer layouts,
    // {"originatee": {"originatee_caller_profile": {...}}} in older ones.
    for role in ["originator", "originatee"] {
        let Some(Value::Object(o)) = profile.get(role) else {
            continue;
        };
        let peer = o.values().find_map(|p| match p {
            Value::Array(list) => list.first().and_then(|x| x.get("uuid")),
            Value::Object(one) => one.get("uuid"),
            _ => None,
        });
        if let Some(u) = peer.and_then(scalar) {
            raw.peer_uuid = Some(u);
            return;
        }
    }
}

/// Strings as they are; numbers and booleans as text (some builds emit numbers unquoted).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
