//! Channel data in status output and hangup events: `show channels` columns and JSON key order,
//! and the timing variables of CHANNEL_HANGUP_COMPLETE, against the captures.

use crate::calls::{cfg, rule};
use crate::client::{Client, start_sim};
use crate::fixture;
use fsim::Event;

#[tokio::test]
async fn show_channels_plain_uses_the_captured_columns() {
    let capture = fixture!("api/fsdocs_xmlapi_show_channels_plain_csv.txt");
    let sim = start_sim(cfg()).await;
    sim.script(rule("2000", "answer", 10, 0));
    let mut c = Client::authed(&sim).await;
    c.api("originate sofia/gateway/gw1/2000 &park()").await;
    let out = c.api("show channels").await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], capture.lines().next().unwrap());
    assert_eq!(lines[1].split(',').count(), lines[0].split(',').count());
    assert_eq!(&lines[2..], ["", "1 total."]);
}

/// Object keys of a JSON text in document order (serde_json's map would sort them).
fn keys_in_order(json: &str) -> Vec<String> {
    let (mut keys, mut cur, mut in_str, mut esc) = (Vec::new(), String::new(), false, false);
    let mut last: Option<String> = None;
    for ch in json.chars() {
        if in_str {
            match (esc, ch) {
                (true, _) => esc = false,
                (false, '\\') => esc = true,
                (false, '"') => {
                    in_str = false;
                    last = Some(std::mem::take(&mut cur));
                    continue;
                }
                _ => {}
            }
            cur.push(ch);
        } else if ch == '"' {
            in_str = true;
        } else if ch == ':' {
            keys.extend(last.take());
        } else if !ch.is_whitespace() {
            last = None;
        }
    }
    keys
}

#[tokio::test]
async fn show_channels_as_json_rows_use_the_captured_keys_in_order() {
    // Pretty-printed by jq in the docs; jq keeps FreeSWITCH's key order.
    let capture = fixture!("api/fsdocs_fs_cli_show_channels_as_json_via_jq.json");
    let sim = start_sim(cfg()).await;
    sim.script(rule("3000", "answer", 10, 0));
    let mut c = Client::authed(&sim).await;
    c.api("originate sofia/gateway/gw1/3000 &park()").await;
    let out = c.api("show channels as json").await;
    assert!(
        !out.contains('\n') && !out.contains(": "),
        "FreeSWITCH sends compact JSON"
    );
    assert_eq!(keys_in_order(&out), keys_in_order(&capture));
}

/// `variable_*` names about times and durations, in order.
fn timing_vars(ev: &Event) -> Vec<String> {
    let re = ["stamp", "epoch", "sec", "duration", "usec"];
    ev.headers
        .iter()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with("variable_") && re.iter().any(|r| k.contains(r)))
        .filter(|k| !k.starts_with("variable_sip_"))
        // Skip copies of request headers such as variable_Event-Date-Timestamp.
        .filter(|k| {
            k["variable_".len()..]
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_')
        })
        .cloned()
        .collect()
}

#[tokio::test]
async fn hangup_complete_timing_variables_match_the_captured_set_and_order() {
    let capture = Event::parse_plain(&fixture!(
        "esl/cgrates_2018_channel_hangup_complete_event_plain_body_matching_json_cdr.txt"
    ));
    // hold_stamp comes from a hold the simulator never performs.
    let theirs: Vec<String> = timing_vars(&capture)
        .into_iter()
        .filter(|k| k != "variable_hold_stamp")
        .collect();
    let sim = start_sim(cfg()).await;
    sim.register_extension("1001");
    let mut c = Client::authed(&sim).await;
    c.cmd("event plain CHANNEL_HANGUP_COMPLETE").await;
    let a = "a0a0a0a0-0000-0000-0000-000000000001";
    c.cmd(&format!(
        "bgapi originate {{origination_uuid={a}}}user/1001 &bridge(sofia/gateway/gw1/900)"
    ))
    .await;
    let mut ev = c.event_named("CHANNEL_HANGUP_COMPLETE").await;
    while ev.get("Unique-ID") != Some(a) {
        ev = c.event_named("CHANNEL_HANGUP_COMPLETE").await;
    }
    assert_eq!(timing_vars(&ev), theirs);
    let billsec: u64 = ev.get("variable_billsec").unwrap().parse().unwrap();
    let duration: u64 = ev.get("variable_duration").unwrap().parse().unwrap();
    assert!(billsec <= duration);
    assert_eq!(ev.get("variable_hangup_cause"), Some("NORMAL_CLEARING"));
}

#[tokio::test]
async fn successful_originate_job_body_has_the_docs_frame_shape() {
    // The docs frame's outer Content-Length was edited (625 for a ~583-byte body), so only its
    // headers and body are used here, never its framing.
    let docs = fixture!(
        "esl/fsdocs_background_job_event_plain_frame_originate_ok_CONTENT_LENGTH_MISMATCH.txt"
    );
    let docs_event = Event::parse_plain(docs.split_once("\n\n").unwrap().1);
    let docs_body = docs_event.body.clone().unwrap();
    let sim = start_sim(cfg()).await;
    let mut c = Client::authed(&sim).await;
    c.cmd("event plain BACKGROUND_JOB").await;
    c.cmd("bgapi originate sofia/gateway/gw1/1005 &park()")
        .await;
    let ev = c.event_named("BACKGROUND_JOB").await;
    let body = ev.body.clone().unwrap();
    let shape = |b: &str| {
        (
            b.len(),
            b.starts_with("+OK "),
            b.ends_with('\n'),
            uuid::Uuid::parse_str(b[4..].trim()).is_ok(),
        )
    };
    assert_eq!(shape(&body), shape(&docs_body));
    for name in [
        "Job-UUID",
        "Job-Command",
        "Job-Command-Arg",
        "Event-Name",
        "Core-UUID",
        "FreeSWITCH-Hostname",
    ] {
        assert!(
            docs_event.get(name).is_some() && ev.get(name).is_some(),
            "{name}"
        );
    }
    assert_eq!(ev.get("Job-Command"), docs_event.get("Job-Command"));
}
