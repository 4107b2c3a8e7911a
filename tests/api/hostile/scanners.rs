//! X13: a SIP scanner guessing extensions. Each guess is answered "not found" and counted in
//! `/metrics` by source address and user agent, with a bounded number of label sets however
//! many addresses the scan comes from.

use serde_json::json;

use crate::fsdoc::{ask, create_extension, fixture_bodies, is_not_found};
use crate::helpers::TestApp;

fn sip_auth(user: &str, ip: &str, agent: &str) -> String {
    let body = fixture_bodies("bob1118_2021_directory_sip_auth_REGISTER_body.txt").remove(0);
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    body.replace("&user=1000&", &format!("&user={}&", enc(user)))
        .replace("&ip=10.10.10.25", &format!("&ip={}", enc(ip)))
        .replace(
            "sip_user_agent=eyeBeam%20AudioOnly%20release%203015c%20stamp%2027106",
            &format!("sip_user_agent={}", enc(agent)),
        )
}

async fn metric_lines(app: &TestApp) -> Vec<String> {
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with("callplane_directory_not_found_total{"))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn scanner_guesses_are_counted_by_source_and_agent_with_bounded_labels() {
    let app = TestApp::spawn().await;
    create_extension(&app, json!({"extension": "1000", "password": "pw-1000-x"})).await;
    for user in ["100", "101", "admin"] {
        let doc = ask(&app, sip_auth(user, "203.0.113.9", "friendly-scanner")).await;
        assert!(is_not_found(&doc));
    }
    // A known user is not a miss; hostile text in the labels is normalised.
    assert!(!is_not_found(
        &ask(&app, sip_auth("1000", "10.0.0.5", "Yealink")).await
    ));
    ask(
        &app,
        sip_auth("9", "not-an-ip", "sipvicious\"} 1\nfake_metric{a=\""),
    )
    .await;
    let lines = metric_lines(&app).await;
    assert!(
        lines.contains(
            &r#"callplane_directory_not_found_total{source="203.0.113.9",user_agent="friendly-scanner"} 3"#
                .to_string()
        ),
        "{lines:#?}"
    );
    assert!(!lines.iter().any(|l| l.contains("10.0.0.5")), "{lines:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(r#"source="unknown",user_agent="sipvicious__ 1_fake_metric_a__""#)),
        "{lines:#?}"
    );
    // A scan spread over many addresses: the label sets stop growing at the cap.
    for i in 0..150 {
        ask(&app, sip_auth("100", &format!("198.51.100.{i}"), "sipcli")).await;
    }
    let lines = metric_lines(&app).await;
    assert_eq!(
        lines.len(),
        callplane::metrics::DIRECTORY_MISS_LABEL_SETS + 1,
        "{}",
        lines.len()
    );
    let total: f64 = lines
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(
        total, 154.0,
        "every miss is counted, under `other` past the cap"
    );
}
