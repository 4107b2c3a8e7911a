//! What every call scenario checks against what the switch itself reported: the legs in call
//! detail, each leg's stored CDR, the webhook's `cdr` against the customer leg's CDR, and the
//! recording's bytes and duration against the file the switch wrote.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::rig::Rig;
use crate::switch;

/// The legs of a call with `role`, in position order.
pub fn legs<'a>(detail: &'a Value, role: &str) -> Vec<&'a Value> {
    let mut v: Vec<&Value> = detail["legs"]
        .as_array()
        .expect("legs")
        .iter()
        .filter(|l| l["role"] == role)
        .collect();
    v.sort_by_key(|l| l["position"].as_i64());
    v
}

pub fn uuid(leg: &Value) -> String {
    leg["uuid"].as_str().unwrap().to_string()
}

/// The webhook's `cdr` must be the customer leg's own CDR, as the switch posted it.
pub fn assert_cdr_is_leg(hook: &Value, leg_cdr: &Value) {
    let cdr = &hook["cdr"];
    let mut leg_cdr = leg_cdr.clone();
    if let Some(o) = leg_cdr.as_object_mut() {
        o.remove("raw"); // the artifacts keep the document; the message stays readable
    }
    for field in [
        "answer_time",
        "end_time",
        "billsec",
        "duration",
        "hangup_cause",
    ] {
        assert_eq!(
            cdr[field], leg_cdr[field],
            "webhook cdr.{field} must be the customer leg's: webhook {cdr}, leg CDR {leg_cdr}"
        );
    }
}

/// The file the switch recorded for `call` (record_session in the dated folders).
pub fn recorded_file(call: &str) -> Option<PathBuf> {
    fn find(dir: &Path, name: &str) -> Option<PathBuf> {
        for entry in std::fs::read_dir(dir).ok()?.flatten() {
            let p = entry.path();
            if p.is_dir() {
                if let Some(f) = find(&p, name) {
                    return Some(f);
                }
            } else if p.file_name().and_then(|n| n.to_str()) == Some(name) {
                return Some(p);
            }
        }
        None
    }
    find(&switch::recordings_dir(), &format!("{call}.wav"))
}

/// Seconds of audio in a PCM WAV (from its fmt chunk's byte rate).
pub fn wav_seconds(bytes: &[u8]) -> f64 {
    assert!(bytes.len() >= 44 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WAVE");
    let byte_rate = u32::from_le_bytes(bytes[28..32].try_into().unwrap()) as f64;
    (bytes.len() - 44) as f64 / byte_rate
}

/// The recording in the webhook is the file the switch wrote, byte for byte, served at the
/// signed URL, and as long as the customer's talk time (within a second and a half: the
/// recording runs from the customer's answer to the hangup).
pub async fn assert_recording_matches_switch(rig: &Rig, call: &str, hook: &Value, billsec: i64) {
    let rec = &hook["recording"];
    assert_eq!(rec["status"], "ok", "recording in webhook: {hook}");
    let file = recorded_file(call).expect("the switch wrote the recording");
    let on_switch = std::fs::read(&file).unwrap();
    assert_eq!(
        rec["size"].as_u64(),
        Some(on_switch.len() as u64),
        "webhook recording.size is the size of the file the switch wrote"
    );
    let url = rec["url"].as_str().expect("recording url");
    let served = rig.client().get(url).send().await.unwrap();
    assert!(served.status().is_success(), "signed URL serves the file");
    let served = served.bytes().await.unwrap();
    assert_eq!(
        served.as_ref(),
        on_switch.as_slice(),
        "served bytes = switch's file"
    );
    let secs = wav_seconds(&on_switch);
    assert!(
        (secs - billsec as f64).abs() <= 1.5,
        "recording lasts {secs:.2} s, the customer talked {billsec} s"
    );
}

/// Waits for the recording upload of `call` to have settled (the webhook may already be out).
pub async fn settle() {
    tokio::time::sleep(Duration::from_millis(500)).await;
}
