//! `POST /v1/call/callback` rows the main call tests leave open: look-alike and malformed
//! numbers (C7), policy numbers in disguise (C16), FreeSWITCH syntax in `ext_data` (C4),
//! a retry after the call has ended (C11), the uuid of every attempt (C23) and a line list
//! that would ring the callee twice. Each case
//! checks the answer and that no originate reached the switch and no row was written.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::json;

use super::rig::{Rig, ZJ, outcome};
use crate::helpers::assert_invalid;

#[tokio::test]
async fn numbers_that_only_look_like_numbers_are_400_and_nothing_is_sent() {
    let rig = Rig::new(&["a"], |c| {
        // An operator blocks the company's own DID so it cannot be made to call itself.
        c.calls.blocked_numbers.push("+8657188880000".into());
    })
    .await;
    let cases: &[(&str, &str)] = &[
        ("138+00013800", "plus in the middle"),
        ("++8613800138000", "two pluses"),
        ("+", "a plus alone"),
        ("13800138000 ", "trailing space"),
        ("\t13800138000", "leading tab"),
        (
            "１３８　００１３８０００",
            "ideographic space between full-width digits",
        ),
        ("13800138000\u{200b}", "zero-width space"),
        ("13800138000\u{202e}", "right-to-left override"),
        ("۱۳۸۰۰۱۳۸۰۰۰", "Extended Arabic-Indic digits"),
        ("१३८००१३८०००", "Devanagari digits"),
        ("-13800138000", "a minus"),
        ("13800138000#", "DTMF hash"),
        ("*13800138000", "DTMF star"),
        ("0x1380013800", "hex"),
        ("1.38e10", "a float"),
        ("13800138000/1", "a path"),
        ("sofia/gateway/a/13800138000", "a whole endpoint"),
        ("12", "too short"),
        // Policy numbers in disguise: full width, a plus, or the operator's own DID.
        ("１１０", "full-width emergency number"),
        ("+110", "emergency number with a plus"),
        ("＋１２０", "full-width plus and digits"),
        ("+8657188880000", "the operator's own DID"),
        ("8657188880000", "the own DID without its plus"),
    ];
    for (callee, why) in cases {
        let res = rig.call(json!({"caller": "1001", "callee": callee})).await;
        assert_invalid(&res, "callee");
        assert_eq!(res.1["code"], 40001, "{why}: {}", res.1);
    }
    // The same party in two spellings is still the same party.
    let res = rig
        .call(json!({"caller": "１３０００６７０００１", "callee": ZJ}))
        .await;
    assert_invalid(&res, "callee");
    assert!(rig.originates().is_empty(), "{:?}", rig.originates());
    assert_eq!(rig.app.count("calls").await, 0);
}

#[tokio::test]
async fn a_line_named_twice_or_too_many_lines_is_400_and_nothing_is_sent() {
    let rig = Rig::new(&["a", "b"], |_| {}).await;
    // Five copies of one line would ring the callee five times.
    let res = rig
        .call(json!({"caller": "1001", "callee": ZJ, "gateways": ["a", "a", "a", "a", "a"]}))
        .await;
    assert_invalid(&res, "gateways[1]");
    assert!(
        res.1["message"].as_str().unwrap().contains("gateways[0]"),
        "{}",
        res.1
    );
    let res = rig
        .call(json!({"caller": "1001", "callee": ZJ, "gateways": "a,b,a"}))
        .await;
    assert_invalid(&res, "gateways[2]");
    let many: Vec<String> = (0..1000).map(|i| format!("line-{i}")).collect();
    let res = rig
        .call(json!({"caller": "1001", "callee": ZJ, "gateways": many}))
        .await;
    assert_invalid(&res, "gateways");
    assert!(
        res.1["message"].as_str().unwrap().contains("at most 16"),
        "{}",
        res.1
    );
    assert!(rig.originates().is_empty(), "{:?}", rig.originates());
    assert_eq!(rig.app.count("calls").await, 0);
    // Each line once is fine.
    let (status, body) = rig
        .call(json!({"caller": "1001", "callee": ZJ, "gateways": ["a", "b"]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_busy_external_caller_is_not_rung_again_on_the_next_line() {
    let rig = Rig::new(&["a", "b"], |_| {}).await;
    let caller = "13900139000";
    rig.sim.script(outcome(caller, "busy", None));
    let (status, body) = rig
        .call(json!({"caller": caller, "callee": "1002", "gateways": ["a", "b"]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let uuid = body["data"]["call_uuid"].as_str().unwrap().to_string();
    let call = rig.ended(&uuid).await;
    assert_eq!(call["status"], "busy", "{call}");
    let caller_legs: Vec<&serde_json::Value> = call["legs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["role"] == "caller")
        .collect();
    assert_eq!(caller_legs.len(), 2, "{call}");
    assert_eq!(caller_legs[0]["hangup_cause"], "USER_BUSY", "{call}");
    assert_eq!(
        caller_legs[1]["state"], "not_attempted",
        "the caller was not rung again over line b: {call}"
    );
}

#[tokio::test]
async fn ext_data_with_freeswitch_syntax_is_kept_verbatim_and_never_sent() {
    let rig = Rig::new(&["a"], |_| {}).await;
    let nasty = "${system(id)} $${default_password} '|,{}[]^:_:<>\r\n\r\nbgapi system id";
    let (status, body) = rig
        .call(json!({"caller": "1001", "callee": ZJ, "ext_data": nasty}))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "ext_data is opaque to callplane: {body}"
    );
    let uuid = body["data"]["call_uuid"].as_str().unwrap().to_string();
    let sent = rig.originates();
    assert_eq!(sent.len(), 1);
    for part in ["system(id)", "default_password", "bgapi system", "_:<>"] {
        assert!(
            !sent[0].contains(part),
            "{part} reached the switch: {}",
            sent[0]
        );
    }
    let call = rig.ended(&uuid).await;
    assert_eq!(call["ext_data"], nasty, "returned verbatim");
}

#[tokio::test]
async fn a_retry_after_the_call_ended_returns_the_first_call_and_places_nothing() {
    let rig = Rig::new(&["a"], |_| {}).await;
    let send = |body: serde_json::Value| {
        let req = rig
            .app
            .client
            .post(rig.app.url("/v1/call/callback"))
            .header("Idempotency-Key", "crm-order-77")
            .json(&body);
        async move { crate::helpers::read(req.send().await.unwrap()).await }
    };
    let body = json!({"caller": "1001", "callee": ZJ});
    let (status, first) = send(body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let uuid = first["data"]["call_uuid"].as_str().unwrap();
    rig.ended(uuid).await;
    let (status, again) = send(body).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        again["data"], first["data"],
        "the original call, gateways and all"
    );
    // Same key, another body: refused with the documented code, still nothing placed.
    let (status, other) = send(json!({"caller": "1002", "callee": ZJ})).await;
    assert_eq!(
        (status, other["code"].as_u64()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some(42200))
    );
    assert!(
        other["message"]
            .as_str()
            .unwrap()
            .contains("idempotency_key_reused")
    );
    assert_eq!(rig.originates().len(), 1);
    assert_eq!(rig.app.count("calls").await, 1);
}

#[tokio::test]
async fn every_attempt_dials_a_fresh_uuid_that_was_stored_before_the_originate() {
    let rig = Rig::new(&["a", "b", "c"], |_| {}).await;
    let mut seen = HashSet::new();
    for caller in ["1001", "1002"] {
        let (status, body) = rig.call(json!({"caller": caller, "callee": ZJ})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["data"]["gateways"], json!(["a", "b", "c"]));
        let call_uuid = body["data"]["call_uuid"].as_str().unwrap().to_string();
        let sent = rig.originates().pop().unwrap();
        let dialled: Vec<String> = sent
            .split("origination_uuid=")
            .skip(1)
            .map(|rest| rest.chars().take(36).collect())
            .collect();
        // The caller leg and one per line of the failover chain.
        assert_eq!(dialled.len(), 4, "{sent}");
        let stored: Vec<String> =
            sqlx::query_scalar("SELECT uuid::text FROM call_legs WHERE call_uuid = $1::uuid")
                .bind(&call_uuid)
                .fetch_all(&rig.app.pool)
                .await
                .unwrap();
        for u in &dialled {
            assert!(
                uuid::Uuid::parse_str(u).is_ok_and(|p| p.get_version_num() == 4),
                "{u}"
            );
            assert!(stored.contains(u), "{u} dialled but not stored: {stored:?}");
            assert!(seen.insert(u.clone()), "{u} dialled twice");
        }
        assert!(dialled.contains(&call_uuid), "the caller leg is the call");
    }
}
