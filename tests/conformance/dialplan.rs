//! A phone dialling out: the switch asks callplane's dialplan (mod_xml_curl), which routes the
//! call over a line with the same rules as click-to-call.

use std::time::Duration;

use serde_json::json;

use crate::checks::{assert_cdr_is_leg, legs, uuid};
use crate::phones;
use crate::rig::{Rig, eventually};

#[tokio::test(flavor = "multi_thread")]
async fn a_phone_dials_out_through_the_dialplan_over_the_line() {
    let mut rig = Rig::start("dialplan-dial-out", "").await;
    rig.extension("1001", "agent-1001-secret").await;
    rig.line(
        "carrier-a",
        5080,
        json!({"caller_id": "057188880000", "prefix": "9"}),
    )
    .await;
    assert!(
        phones::call("1001", "agent-1001-secret", "13800138000"),
        "answered"
    );
    let list = eventually("the call in the list", Duration::from_secs(30), || async {
        let v = rig.get("/v1/call/list").await;
        v["data"]["list"]
            .as_array()
            .filter(|l| !l.is_empty())
            .cloned()
    })
    .await;
    let call = list[0]["call_uuid"]
        .as_str()
        .or(list[0]["uuid"].as_str())
        .unwrap()
        .to_string();
    let hook = rig.completed(&call, Duration::from_secs(90)).await.body;
    assert_eq!(hook["status"], "answered", "{hook}");
    assert_eq!(hook["caller"], "1001");
    assert_eq!(hook["callee"], "13800138000");
    let inbound = rig
        .esl
        .events()
        .into_iter()
        .find(|e| e.name() == "CHANNEL_CREATE" && e.get("Caller-Context") == Some("carrier"))
        .expect("the carrier received the call");
    assert_eq!(inbound.get("Caller-Caller-ID-Number"), Some("057188880000"));
    assert_eq!(
        inbound.get("Caller-Destination-Number"),
        Some("913800138000")
    );
    let detail = rig.detail(&call).await;
    let leg_cdr = rig.cdr(&uuid(legs(&detail, "callee")[0])).await;
    assert_cdr_is_leg(&hook, &leg_cdr);
}
