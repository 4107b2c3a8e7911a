//! The webhook and call detail of real calls, from the CDRs a real FreeSWITCH 1.10.12 posted
//! for every leg (tests/fixtures/freeswitch-1.10.12/cdr). Each call is stored as callplane
//! stored it before the originate (the call, its legs with the uuids chosen up front) and as
//! ended by its events; then the captured CDRs are posted to `/fsapi/cdr` in the order given.
//! The webhook's `cdr` must be the customer leg's CDR as `/v1/cdr/detail` returns it, and
//! `caller_cdr` the agent's.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{detail, fs_url_encode, post_cdr};
use crate::helpers::TestApp;
use crate::webhooks::fast;
use crate::webhooks::receiver::Receiver;

fn real(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/freeswitch-1.10.12/cdr/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// One leg as callplane stored it: uuid, role, position, line, and what its events said.
struct Leg(
    &'static str,
    &'static str,
    i32,
    Option<&'static str>,
    bool,
    bool,
);

struct Call {
    uuid: &'static str,
    caller: &'static str,
    callee: &'static str,
    status: &'static str,
    cause: &'static str,
    /// The line the events named (possibly wrong; the CDRs correct it).
    gateway: Option<&'static str>,
    legs: Vec<Leg>,
}

struct Rig {
    app: TestApp,
    receiver: Receiver,
}

async fn rig() -> Rig {
    let receiver = Receiver::start(vec![]).await;
    let url = receiver.url();
    let app = TestApp::spawn_with(move |c| {
        fast(&mut c.webhook, &url);
        // The recording is not what these tests are about.
        c.recording.upload = callplane::originate::UploadMode::None;
    })
    .await;
    Rig { app, receiver }
}

impl Rig {
    /// One transaction: the sweeper must never see the ended call without its legs.
    async fn store(&self, c: &Call) {
        let answered = c.status == "answered";
        let mut tx = self.app.pool.begin().await.unwrap();
        sqlx::query(
            "INSERT INTO calls (uuid, caller, callee, caller_kind, callee_kind, state, status,
                 hangup_cause, gateway, answered_at, ended_at, last_event_at)
             VALUES ($1::uuid, $2, $3, 'extension', 'external', $4, $5, $6, $7,
                 CASE WHEN $8 THEN now() END, now(), now())",
        )
        .bind(c.uuid)
        .bind(c.caller)
        .bind(c.callee)
        .bind(if answered { "completed" } else { "failed" })
        .bind(c.status)
        .bind(c.cause)
        .bind(c.gateway)
        .bind(answered)
        .execute(&mut *tx)
        .await
        .unwrap();
        for Leg(uuid, role, position, gateway, created, answered) in &c.legs {
            sqlx::query(
                "INSERT INTO call_legs (uuid, call_uuid, role, position, gateway, created_at, answered_at)
                 VALUES ($1::uuid, $2::uuid, $3, $4, $5, CASE WHEN $6 THEN now() END,
                     CASE WHEN $7 THEN now() END)",
            )
            .bind(uuid)
            .bind(c.uuid)
            .bind(role)
            .bind(position)
            .bind(gateway)
            .bind(created)
            .bind(answered)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }

    async fn post(&self, file: &str) {
        let body = format!("cdr={}", fs_url_encode(&real(file)));
        let status = post_cdr(&self.app, "", "application/x-www-form-urlencoded", body).await;
        assert_eq!(status, StatusCode::OK, "{file}");
    }

    fn webhooks(&self, call: &str) -> Vec<Value> {
        self.receiver
            .received()
            .into_iter()
            .filter_map(|r| serde_json::from_str::<Value>(&r.body).ok())
            .filter(|v| v["call_uuid"] == call)
            .collect()
    }

    async fn webhook(&self, call: &str) -> Value {
        for _ in 0..400 {
            if let Some(v) = self.webhooks(call).pop() {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no webhook for {call}");
    }

    /// No webhook goes out while a CDR it reports is missing.
    async fn none_yet(&self, call: &str) {
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(self.webhooks(call).is_empty(), "{:?}", self.webhooks(call));
    }
}

/// The webhook summary fields that must equal the leg's CDR as `/v1/cdr/detail` shows it.
fn assert_same_leg(hook: &Value, cdr: &Value, role: &str) {
    for f in [
        "start_time",
        "answer_time",
        "end_time",
        "billsec",
        "duration",
        "hangup_cause",
    ] {
        assert_eq!(hook[f], cdr[f], "{role} {f}: {hook} vs {cdr}");
    }
    assert_eq!(
        hook["sip_hangup_disposition"],
        cdr["sip_hangup_disposition"]
    );
    assert_eq!(hook["role"], role);
    assert_eq!(hook["uuid"], cdr["uuid"]);
}

#[tokio::test]
async fn click_to_call_reports_the_customer_leg_and_the_agent_leg() {
    let rig = rig().await;
    let call = "080151ee-04a9-4e93-ac6f-9d4d84ac7322";
    let b = "343212d8-681f-485e-94cd-687b1262cb8b";
    rig.store(&Call {
        uuid: call,
        caller: "1001",
        callee: "13800138000",
        status: "answered",
        cause: "NORMAL_CLEARING",
        gateway: Some("carrier-a"),
        legs: vec![
            Leg(call, "caller", 0, None, true, true),
            Leg(b, "callee", 0, Some("carrier-a"), true, true),
        ],
    })
    .await;
    rig.post("00021-success-clicktocall-A-agent-leg.cdr.xml")
        .await;
    rig.none_yet(call).await;
    rig.post("00022-success-clicktocall-B-carrier-leg.cdr.xml")
        .await;
    let hook = rig.webhook(call).await;
    let (a_cdr, b_cdr) = (detail(&rig.app, call).await, detail(&rig.app, b).await);
    assert_same_leg(&hook["cdr"], &b_cdr, "callee");
    assert_same_leg(&hook["caller_cdr"], &a_cdr, "caller");
    assert_eq!(hook["cdr"]["billsec"], 6);
    assert_eq!(hook["cdr"]["duration"], 6);
    assert_eq!(hook["caller_cdr"]["duration"], 7);
    assert_eq!(hook["gateway"], "carrier-a");
    // Both legs name the business's parties; the recording path has no separator left.
    for cdr in [&a_cdr, &b_cdr] {
        assert_eq!(
            (cdr["caller"].as_str(), cdr["callee"].as_str()),
            (Some("1001"), Some("13800138000")),
            "{cdr}"
        );
        assert_eq!(
            cdr["recording_path"],
            "/srv/fsv/fsrec/callplane/2026/12/05/080151ee-04a9-4e93-ac6f-9d4d84ac7322.wav"
        );
        assert_eq!(cdr["call_uuid"], call);
    }
    // The detail reports the same two CDRs.
    let (_, d) = rig.app.get(&format!("/v1/call/detail?uuid={call}")).await;
    assert_eq!(d["data"]["cdr"], hook["cdr"]);
    assert_eq!(d["data"]["caller_cdr"], hook["caller_cdr"]);
}

#[tokio::test]
async fn a_busy_customer_is_reported_busy_by_the_cdr_too() {
    let rig = rig().await;
    let call = "dae46516-7b33-45d1-b347-ccfcd495ed6d";
    let b = "4d667434-046e-47fa-8216-d057e31a61e4";
    rig.store(&Call {
        uuid: call,
        caller: "1001",
        callee: "13800138001",
        status: "busy",
        cause: "USER_BUSY",
        gateway: None,
        legs: vec![
            Leg(call, "caller", 0, None, true, true),
            Leg(b, "callee", 0, Some("carrier-busy"), true, false),
            // A second line the failover never reached after the 486.
            Leg(
                "0b0b0b0b-0000-4000-8000-000000000002",
                "callee",
                1,
                Some("carrier-a"),
                false,
                false,
            ),
        ],
    })
    .await;
    rig.post("00037-busy486-B-leg.cdr.xml").await;
    rig.none_yet(call).await;
    rig.post("00038-busy486-A-agent-leg.cdr.xml").await;
    let hook = rig.webhook(call).await;
    assert_eq!(hook["status"], "busy");
    assert_same_leg(&hook["cdr"], &detail(&rig.app, b).await, "callee");
    assert_eq!(
        (
            hook["cdr"]["hangup_cause"].as_str(),
            hook["cdr"]["billsec"].as_i64()
        ),
        (Some("USER_BUSY"), Some(0))
    );
    assert!(hook["cdr"]["answer_time"].is_null(), "{hook}");
    assert_eq!(hook["caller_cdr"]["billsec"], 3);
    assert!(hook["gateway"].is_null(), "no line answered: {hook}");
}

#[tokio::test]
async fn after_a_503_failover_the_line_that_answered_is_reported() {
    let rig = rig().await;
    let call = "55469306-c262-4dcf-be70-9928148c54bf";
    let (b1, b2) = (
        "9dda4fd8-51a2-4e6c-a267-c4477f2448e1",
        "3be43f4f-d114-4a3d-931b-bc77bddc30e1",
    );
    rig.store(&Call {
        uuid: call,
        caller: "1001",
        callee: "13800138002",
        status: "answered",
        cause: "NORMAL_CLEARING",
        gateway: Some("carrier-dead"),
        legs: vec![
            Leg(call, "caller", 0, None, true, true),
            Leg(b1, "callee", 0, Some("carrier-dead"), true, false),
            Leg(b2, "callee", 1, Some("carrier-a"), true, false),
        ],
    })
    .await;
    rig.post("00044-failover503-B1-carrier-dead-leg.cdr.xml")
        .await;
    rig.post("00046-failover503-A-agent-leg.cdr.xml").await;
    rig.none_yet(call).await;
    rig.post("00048-failover503-B2-carrier-a-leg.cdr.xml").await;
    let hook = rig.webhook(call).await;
    assert_eq!(hook["gateway"], "carrier-a");
    assert_same_leg(&hook["cdr"], &detail(&rig.app, b2).await, "callee");
    let (_, d) = rig.app.get(&format!("/v1/call/detail?uuid={call}")).await;
    assert_eq!(d["data"]["gateway"], "carrier-a");
    let legs = d["data"]["legs"].as_array().unwrap();
    let state = |u: &str| {
        legs.iter()
            .find(|l| l["uuid"] == u)
            .map(|l| (l["state"].clone(), l["hangup_cause"].clone()))
            .unwrap()
    };
    assert_eq!(
        state(b1),
        (json!("refused"), json!("NORMAL_TEMPORARY_FAILURE"))
    );
    assert_eq!(state(b2), (json!("ended"), json!("NORMAL_CLEARING")));
}

#[tokio::test]
async fn a_call_a_phone_dialled_reports_the_carrier_leg_and_the_phone_leg() {
    let rig = rig().await;
    let call = "361486e1-4ec2-4a62-9ab4-068c2cc2beca";
    let b = "aa8014bf-6138-4a8a-86d0-5b940516d07d";
    rig.store(&Call {
        uuid: call,
        caller: "1001",
        callee: "13800138000",
        status: "answered",
        cause: "NORMAL_CLEARING",
        gateway: Some("carrier-a"),
        legs: vec![
            Leg(call, "caller", 0, None, true, true),
            Leg(b, "callee", 0, Some("carrier-a"), true, true),
        ],
    })
    .await;
    rig.post("00068-dialout-B-carrier-leg.cdr.xml").await;
    rig.none_yet(call).await;
    rig.post("00065-dialout-A-phone-leg.cdr.xml").await;
    let hook = rig.webhook(call).await;
    let (a_cdr, b_cdr) = (detail(&rig.app, call).await, detail(&rig.app, b).await);
    assert_same_leg(&hook["cdr"], &b_cdr, "callee");
    assert_same_leg(&hook["caller_cdr"], &a_cdr, "caller");
    assert_eq!(
        (a_cdr["caller"].as_str(), a_cdr["callee"].as_str()),
        (Some("1001"), Some("13800138000"))
    );
}
