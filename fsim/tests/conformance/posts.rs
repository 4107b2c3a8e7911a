//! The HTTP side: mod_xml_cdr posts and recording uploads from hangup hooks.

use crate::client::{Client, http_server, next_request, start_sim};
use crate::fixture;
use fsim::text::url_decode;
use fsim::{CdrConfig, GatewayConfig, OutcomeRule, SimConfig};

fn cfg(cdr: CdrConfig) -> SimConfig {
    SimConfig {
        gateways: vec![GatewayConfig {
            name: "gw1".into(),
            ..GatewayConfig::default()
        }],
        default_outcome: OutcomeRule {
            ring_ms: 10,
            talk_ms: 50,
            ..OutcomeRule::default()
        },
        cdr,
        ..SimConfig::default()
    }
}

/// Top-level element names of a CDR document, in order.
fn top_elements(xml: &str) -> Vec<String> {
    xml.lines()
        .filter_map(|l| {
            l.strip_prefix("  <")
                .filter(|r| !r.starts_with('/') && !r.starts_with(' '))
        })
        .map(|r| r.split(['>', ' ']).next().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn cdr_is_posted_as_the_cdr_form_field_with_originate_variables() {
    let (url, mut rx) = http_server(vec![]).await;
    let sim = start_sim(cfg(CdrConfig {
        url: Some(format!("{url}/cdr")),
        cred: Some("fs:secret".into()),
        ..CdrConfig::default()
    }))
    .await;
    let mut c = Client::authed(&sim).await;
    let u = "eeeeeeee-0000-0000-0000-000000000006";
    c.api(&format!(
        "originate {{origination_uuid={u},call_tag=xyz}}sofia/gateway/gw1/1234 &park()"
    ))
    .await;
    let req = next_request(&mut rx).await;
    assert_eq!(req.line, format!("POST /cdr?uuid=a_{u} HTTP/1.1"));
    assert_eq!(
        req.header("Content-Type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(req.header("Authorization"), Some("Basic ZnM6c2VjcmV0"));
    let body = String::from_utf8(req.body).unwrap();
    let xml = url_decode(body.strip_prefix("cdr=").expect("cdr= field"));
    assert!(xml.starts_with("<?xml version=\"1.0\"?>\n<cdr core-uuid=\""));
    assert!(xml.contains("    <call_tag>xyz</call_tag>\n"));
    assert!(xml.contains(&format!("    <uuid>{u}</uuid>\n")));
    assert!(xml.contains("    <hangup_cause>NORMAL_CLEARING</hangup_cause>\n"));
    assert!(xml.contains("      <destination_number>1234</destination_number>\n"));
    // Same section order as a real mod_xml_cdr document.
    let real =
        fixture!("cdr/zhouhailin_a_4b3b36af_inbound_bridged_via_gateway_avaya_answered.cdr.xml");
    let mut theirs = top_elements(&real);
    theirs.dedup();
    assert_eq!(top_elements(&xml), theirs);
}

#[tokio::test]
async fn cdr_post_is_retried_after_a_server_error() {
    let (url, mut rx) = http_server(vec![500, 200]).await;
    let sim = start_sim(cfg(CdrConfig {
        url: Some(url.clone()),
        retries: 2,
        delay_secs: 1,
        ..CdrConfig::default()
    }))
    .await;
    let mut c = Client::authed(&sim).await;
    c.api("originate sofia/gateway/gw1/55 &park()").await;
    let first = next_request(&mut rx).await;
    let second = next_request(&mut rx).await;
    assert_eq!(first.body, second.body);
    assert!(first.line.starts_with("POST /?uuid=a_"));
    // The 200 ends the retries: no third try follows.
    let third = tokio::time::timeout(std::time::Duration::from_millis(1500), rx.recv()).await;
    assert!(third.is_err(), "unexpected third post");
}

#[tokio::test]
async fn recording_is_uploaded_from_an_api_hangup_hook_without_a_shell() {
    let (url, mut rx) = http_server(vec![]).await;
    let sim = start_sim(cfg(CdrConfig::default())).await;
    let mut c = Client::authed(&sim).await;
    let u = "ffffffff-0000-0000-0000-000000000007";
    let hook =
        format!("system curl -s -F \"files=@/var/rec/${{uuid}}.wav\" -F call={u} {url}/upload?k=v");
    c.api(&format!(
        "originate {{origination_uuid={u},execute_on_answer='record_session:/var/rec/${{uuid}}.wav',api_hangup_hook='{hook}'}}sofia/gateway/gw1/77 &park()"
    ))
    .await;
    let req = next_request(&mut rx).await;
    assert_eq!(req.line, "POST /upload?k=v HTTP/1.1");
    assert!(
        req.header("Content-Type")
            .unwrap()
            .starts_with("multipart/form-data; boundary=")
    );
    let body = String::from_utf8_lossy(&req.body).to_string();
    assert!(
        body.contains(&format!("name=\"files\"; filename=\"{u}.wav\"")),
        "{body:.300}"
    );
    assert!(body.contains(&format!("name=\"call\"\r\n\r\n{u}\r\n")));
    let riff = req
        .body
        .windows(4)
        .position(|w| w == b"RIFF")
        .expect("a WAV part");
    assert_eq!(&req.body[riff + 8..riff + 12], b"WAVE");
}

#[tokio::test]
async fn recording_is_uploaded_via_curl_sendfile() {
    let (url, mut rx) = http_server(vec![]).await;
    let sim = start_sim(cfg(CdrConfig::default())).await;
    let mut c = Client::authed(&sim).await;
    // Only a file some leg recorded can be sent (curl fails on a missing one).
    c.api(&format!("originate {{execute_on_answer=record_session:/r/a.wav,record_post_process_exec_api='curl_sendfile:{url}/rec files=/r/a.wav'}}sofia/gateway/gw1/78 &park()")).await;
    let req = next_request(&mut rx).await;
    assert_eq!(req.line, "POST /rec HTTP/1.1");
    let body = String::from_utf8_lossy(&req.body).to_string();
    assert!(body.contains("name=\"files\"; filename=\"a.wav\""));
}

#[tokio::test]
async fn failed_calls_post_a_cdr_and_b_legs_only_with_log_b_leg() {
    let (url, mut rx) = http_server(vec![]).await;
    let sim = start_sim(cfg(CdrConfig {
        url: Some(url),
        log_b_leg: true,
        ..CdrConfig::default()
    }))
    .await;
    sim.script(OutcomeRule {
        number: Some("486".into()),
        outcome: "busy".into(),
        ring_ms: 5,
        ..OutcomeRule::default()
    });
    let mut c = Client::authed(&sim).await;
    assert_eq!(
        c.api("originate sofia/gateway/gw1/486 &park()").await,
        "-ERR USER_BUSY\n"
    );
    let busy = String::from_utf8(next_request(&mut rx).await.body).unwrap();
    assert!(url_decode(&busy).contains("<hangup_cause>USER_BUSY</hangup_cause>"));
    sim.register_extension("1001");
    let a = "12121212-0000-0000-0000-000000000001";
    c.api(&format!(
        "originate {{origination_uuid={a}}}user/1001 &bridge(sofia/gateway/gw1/600)"
    ))
    .await;
    let mut lines = vec![
        next_request(&mut rx).await.line,
        next_request(&mut rx).await.line,
    ];
    lines.sort();
    // The B-leg is posted without the a_ prefix, the A-leg with it.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("POST /?uuid=a_{a} "))),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("POST /?uuid=") && !l.contains("uuid=a_")),
        "{lines:?}"
    );
}
