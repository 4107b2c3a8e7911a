//! The whole chain with no other help: a click-to-call through fsim produces a stored CDR,
//! a stored recording and one signed webhook at a real HTTP receiver; an unanswered call a
//! webhook with the recording absent; a rejected originate one with `"cdr": null`; a
//! recording that arrives after an `absent` webhook a second event.

use std::time::Duration;

use fsim::{OutcomeRule, Sim, SimConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::webhooks::receiver::{Receiver, signature_is_valid};
use crate::webhooks::{SECRET, fast};

const ZJ: &str = "13000670001";

struct Rig {
    sim: Sim,
    app: TestApp,
    receiver: Receiver,
}

async fn rig(adjust: impl FnOnce(&mut callplane::config::Config) + Send + 'static) -> Rig {
    let sim = Sim::start_local(SimConfig {
        heartbeat_secs: 0,
        // Like freeswitch-conf/xml_cdr.conf.xml: the callee legs' CDRs are posted too.
        cdr: fsim::CdrConfig {
            log_b_leg: true,
            ..Default::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap();
    sim.register_extension("1001");
    sim.add_gateway(fsim::GatewayConfig {
        name: "carrier-a".into(),
        state: "NOREG".into(),
        ..Default::default()
    });
    sim.set_default_outcome(OutcomeRule {
        ring_ms: 20,
        talk_ms: 150,
        ..OutcomeRule::default()
    });
    let receiver = Receiver::start(vec![]).await;
    let (node, url) = (sim.addr().to_string(), receiver.url());
    let app = TestApp::spawn_with(move |c| {
        c.esl.nodes = vec![node];
        fast(&mut c.webhook, &url);
        c.calls.sweep_interval_ms = 100;
        adjust(c);
    })
    .await;
    sim.set_cdr_url(Some(app.url("/fsapi/cdr")));
    app.post("/v1/extension/create", json!({"extension": "1001"}))
        .await;
    app.post(
        "/v1/gateway/create",
        json!({"name": "carrier-a", "realm": "192.0.2.1", "caller_id": "057188880000"}),
    )
    .await;
    for _ in 0..200 {
        let body: Value = app
            .client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if body["esl"][0]["state"] == "connected" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Rig { sim, app, receiver }
}

impl Rig {
    async fn place(&self, body: Value) -> String {
        let (status, res) = self.app.post("/v1/call/callback", body).await;
        assert_eq!(status, StatusCode::OK, "{res}");
        res["data"]["call_uuid"].as_str().unwrap().to_string()
    }

    /// The bodies posted for `call`, once `n` of them have arrived.
    async fn webhooks(
        &self,
        call: &str,
        n: usize,
    ) -> Vec<(Value, crate::webhooks::receiver::Received)> {
        for _ in 0..600 {
            let got: Vec<_> = self
                .receiver
                .received()
                .into_iter()
                .filter_map(|r| {
                    let v: Value = serde_json::from_str(&r.body).ok()?;
                    (v["call_uuid"] == call).then_some((v, r))
                })
                .collect();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("fewer than {n} webhooks for {call}");
    }
}

#[tokio::test]
async fn an_answered_call_produces_a_cdr_a_recording_and_one_signed_webhook() {
    let rig = rig(|_| {}).await;
    let call = rig
        .place(json!({"caller": "1001", "callee": ZJ, "ext_data": "ticket=7"}))
        .await;
    let hooks = rig.webhooks(&call, 1).await;
    let (body, raw) = &hooks[0];
    assert!(signature_is_valid(SECRET, raw), "{:?}", raw.headers);
    assert_eq!(body["type"], "call.completed");
    assert_eq!(
        (body["status"].as_str(), body["gateway"].as_str()),
        (Some("answered"), Some("carrier-a"))
    );
    assert_eq!(body["ext_data"], "ticket=7");
    assert!(
        body["cdr"]["billsec"].as_i64().is_some() && body["cdr"]["start_time"].is_string(),
        "{body}"
    );
    assert_eq!(body["recording"]["status"], "ok", "{body}");
    assert_eq!(body["recording"]["format"], "wav");
    // The signed URL works without an API key and serves the uploaded audio.
    let url = body["recording"]["url"].as_str().unwrap();
    let audio = reqwest::get(url).await.unwrap();
    assert_eq!(audio.status(), StatusCode::OK);
    let bytes = audio.bytes().await.unwrap();
    assert_eq!(&bytes[..4], b"RIFF");
    assert_eq!(body["recording"]["size"].as_u64(), Some(bytes.len() as u64));
    // Nothing more arrives for this call.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rig.webhooks(&call, 1).await.len(), 1);
    let cdrs: i64 = sqlx::query_scalar("SELECT count(*) FROM cdrs WHERE call_uuid = $1::uuid")
        .bind(&call)
        .fetch_one(&rig.app.pool)
        .await
        .unwrap();
    assert!(cdrs >= 1);
    // The call detail joins it all: CDR summary, recording and the delivery with its attempt.
    let (_, d) = rig.app.get(&format!("/v1/call/detail?uuid={call}")).await;
    let d = &d["data"];
    assert_eq!(d["cdr"]["hangup_cause"], body["cdr"]["hangup_cause"]);
    assert_eq!(d["recording"]["status"], "ok");
    assert_eq!(d["webhooks"][0]["status"], "delivered");
    assert_eq!(d["webhook_attempts"][0]["status_code"], 200);
}

#[tokio::test]
async fn an_unanswered_call_reports_the_recording_absent() {
    let rig = rig(|_| {}).await;
    rig.sim.script(OutcomeRule {
        number: Some(ZJ.into()),
        outcome: "busy".into(),
        ring_ms: 20,
        ..OutcomeRule::default()
    });
    let call = rig.place(json!({"caller": "1001", "callee": ZJ})).await;
    let (body, _) = &rig.webhooks(&call, 1).await[0];
    assert_eq!(
        (body["status"].as_str(), body["hangup_cause"].as_str()),
        (Some("busy"), Some("USER_BUSY"))
    );
    assert_eq!(
        body["recording"],
        json!({"status": "absent", "url": null, "size": null, "format": null})
    );
}

#[tokio::test]
async fn a_rejected_originate_reports_no_cdr() {
    let rig = rig(|_| {}).await;
    rig.app
        .post("/v1/extension/create", json!({"extension": "1009"}))
        .await; // never registered
    let call = rig.place(json!({"caller": "1009", "callee": ZJ})).await;
    let (body, _) = &rig.webhooks(&call, 1).await[0];
    assert_eq!(
        (body["status"].as_str(), body["hangup_cause"].as_str()),
        (Some("failed"), Some("USER_NOT_REGISTERED"))
    );
    assert!(body["cdr"].is_null(), "{body}");
    assert_eq!(body["recording"]["status"], "absent");
}

#[tokio::test]
async fn a_recording_after_an_absent_webhook_sends_recording_ready() {
    // The switch does not upload (recording.upload = none); the recording is posted by hand later.
    let rig = rig(|c| c.recording.upload = callplane::originate::UploadMode::None).await;
    let call = rig.place(json!({"caller": "1001", "callee": ZJ})).await;
    let (first, _) = &rig.webhooks(&call, 1).await[0];
    assert_eq!(
        (
            first["status"].as_str(),
            first["recording"]["status"].as_str()
        ),
        (Some("answered"), Some("absent"))
    );

    let uuid = uuid::Uuid::parse_str(&call).unwrap();
    let token = callplane::tokens::upload_token(&secret_of(&rig.app).await, &uuid);
    let wav = fsim::post::tone_wav(1);
    let form = reqwest::multipart::Form::new().part(
        "files",
        reqwest::multipart::Part::bytes(wav).file_name("late.wav"),
    );
    let res = rig
        .app
        .client
        .post(
            rig.app
                .url(&format!("/fsapi/upload_audio?uuid={call}&token={token}")),
        )
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let hooks = rig.webhooks(&call, 2).await;
    let second = &hooks[1].0;
    assert_eq!(second["type"], "call.recording_ready");
    assert_eq!(second["recording"]["status"], "ok");
    assert_ne!(
        hooks[0].1.header("webhook-id"),
        hooks[1].1.header("webhook-id")
    );
}

/// The server secret the app generated and stored on first start.
async fn secret_of(app: &TestApp) -> String {
    sqlx::query_scalar("SELECT value FROM settings WHERE key = 'server_secret'")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}
