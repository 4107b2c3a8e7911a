//! End to end with the simulator: fsim places a call through a gateway and, when it hangs up,
//! posts the CDR the way mod_xml_cdr does (`cdr=` URL-encoded, `?uuid=a_<uuid>`); the CDR
//! lands in the database attached to the API call with that uuid.

use std::time::Duration;

use fsim::{GatewayConfig, OutcomeRule, Sim, SimConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::detail;
use crate::helpers::TestApp;

/// Reads one ESL frame header block (up to the blank line).
async fn read_block(s: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut b = [0u8; 1];
    while !got.ends_with(b"\n\n") {
        assert_eq!(s.read(&mut b).await.unwrap(), 1, "ESL closed early");
        got.push(b[0]);
    }
    String::from_utf8(got).unwrap()
}

#[tokio::test]
async fn fsim_cdr_post_for_a_call_lands_in_the_database() {
    let app = TestApp::spawn().await;
    let sim = Sim::start_local(SimConfig::default()).await.unwrap();
    sim.add_gateway(GatewayConfig {
        name: "gw1".into(),
        ..Default::default()
    });
    sim.script(OutcomeRule {
        number: Some("13800000000".into()),
        outcome: "answer".into(),
        ring_ms: 20,
        talk_ms: 100,
        ..Default::default()
    });
    sim.set_cdr_url(Some(app.url("/fsapi/cdr")));
    let call = uuid::Uuid::new_v4().to_string();
    sqlx::query("INSERT INTO calls (uuid, caller, callee, gateway) VALUES ($1::uuid, '1001', '13800000000', 'gw1')")
        .bind(&call)
        .execute(&app.pool)
        .await
        .unwrap();

    let mut esl = TcpStream::connect(sim.addr()).await.unwrap();
    assert!(read_block(&mut esl).await.contains("auth/request"));
    esl.write_all(b"auth ClueCon\n\n").await.unwrap();
    assert!(read_block(&mut esl).await.contains("+OK accepted"));
    let cmd = format!(
        "bgapi originate {{origination_uuid={call}}}sofia/gateway/gw1/13800000000 &hangup()\n\n"
    );
    esl.write_all(cmd.as_bytes()).await.unwrap();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app.count("cdrs").await == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no CDR arrived from fsim"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = detail(&app, &call).await;
    assert_eq!(got["parsed"], true, "{got}");
    assert_eq!(got["call_uuid"], call.as_str());
    assert_eq!(got["leg"], "a");
    assert_eq!(got["gateway"], "gw1");
    assert_eq!(got["encoding"], "form_urlencoded");
    assert!(!got["core_uuid"].as_str().unwrap().is_empty());
    assert!(
        got["start_time"].is_string() && got["end_time"].is_string(),
        "{got}"
    );
    assert_eq!(got["hangup_cause"], "NORMAL_CLEARING");
}
