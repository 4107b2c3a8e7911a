//! A- and B-leg linking in either arrival order, CDRs of API calls, and `/v1/cdr/list` and
//! `/v1/cdr/detail`.

use reqwest::StatusCode;

use super::{detail, fixture, post_cdr};
use crate::helpers::{TestApp, assert_invalid};

const CORE: &str = "21483469-cecc-4e5f-a9eb-0402e56193aa";

/// A minimal leg CDR in mod_xml_cdr's layout. The fixtures hold no true A/B pair, so the
/// pairs here are synthetic: `peer` is named in `bridge_uuid` (A-leg) or
/// `originating_leg_uuid` plus an originator profile (B-leg).
fn leg_doc(uuid: &str, peer: Option<&str>, b_leg: bool, start_epoch: i64) -> String {
    let peer_var = match (peer, b_leg) {
        (Some(p), true) => format!("<originating_leg_uuid>{p}</originating_leg_uuid>"),
        (Some(p), false) => format!("<bridge_uuid>{p}</bridge_uuid>"),
        (None, _) => String::new(),
    };
    let originator = match (peer, b_leg) {
        (Some(p), true) => format!(
            "<originator><originator_caller_profile><uuid>{p}</uuid></originator_caller_profile></originator>"
        ),
        _ => String::new(),
    };
    format!(
        "<?xml version=\"1.0\"?>\n<cdr core-uuid=\"{CORE}\">\n  <variables>\n    <uuid>{uuid}</uuid>\n    \
         {peer_var}\n    <sip_gateway_name>gw1</sip_gateway_name>\n    <start_epoch>{start_epoch}</start_epoch>\n    \
         <hangup_cause>NORMAL_CLEARING</hangup_cause>\n  </variables>\n  <callflow dialplan=\"XML\" profile_index=\"1\">\n    \
         <caller_profile><caller_id_number>1001</caller_id_number><destination_number>13800000000</destination_number>\
         {originator}</caller_profile>\n  </callflow>\n</cdr>\n"
    )
}

async fn post_xml(app: &TestApp, doc: String) {
    assert_eq!(post_cdr(app, "", "text/xml", doc).await, StatusCode::OK);
}

async fn insert_call(app: &TestApp, uuid: &str) {
    sqlx::query(
        "INSERT INTO calls (uuid, caller, callee) VALUES ($1::uuid, '1001', '13800000000')",
    )
    .bind(uuid)
    .execute(&app.pool)
    .await
    .unwrap();
}

const A: &str = "11111111-1111-4111-8111-111111111111";
const B: &str = "22222222-2222-4222-8222-222222222222";

#[tokio::test]
async fn b_leg_before_a_leg_links_both_and_attaches_the_api_call() {
    // R10: the B-leg CDR often arrives first (it hangs up first).
    let app = TestApp::spawn().await;
    insert_call(&app, A).await;
    post_xml(&app, leg_doc(B, Some(A), true, 1_700_000_001)).await;
    let b = detail(&app, B).await;
    assert_eq!(
        (b["leg"].as_str(), b["other_uuid"].as_str()),
        (Some("b"), Some(A))
    );
    assert_eq!(b["call_uuid"], A, "the B-leg of an API call belongs to it");
    post_xml(&app, leg_doc(A, Some(B), false, 1_700_000_000)).await;
    let a = detail(&app, A).await;
    assert_eq!(
        (a["leg"].as_str(), a["other_uuid"].as_str()),
        (Some("a"), Some(B))
    );
    assert_eq!(a["call_uuid"], A);
}

#[tokio::test]
async fn legs_that_name_their_peer_on_one_side_only_are_linked_in_either_order() {
    let app = TestApp::spawn().await;
    // A-leg (unanswered A-legs carry no bridge_uuid) first, then the B-leg naming it.
    post_xml(&app, leg_doc(A, None, false, 1_700_000_000)).await;
    post_xml(&app, leg_doc(B, Some(A), true, 1_700_000_001)).await;
    assert_eq!(detail(&app, A).await["other_uuid"], B);
    // The other way round for a second call: the B-leg first, the silent A-leg after.
    let (a2, b2) = (
        "33333333-3333-4333-8333-333333333333",
        "44444444-4444-4444-8444-444444444444",
    );
    insert_call(&app, a2).await;
    post_xml(&app, leg_doc(b2, Some(a2), true, 1_700_000_011)).await;
    post_xml(&app, leg_doc(a2, None, false, 1_700_000_010)).await;
    let a = detail(&app, a2).await;
    assert_eq!(
        (a["other_uuid"].as_str(), a["call_uuid"].as_str()),
        (Some(b2), Some(a2))
    );
    assert_eq!(detail(&app, b2).await["call_uuid"], a2);
    // A CDR of no API call is stored too.
    assert_eq!(detail(&app, A).await["call_uuid"], serde_json::Value::Null);
}

async fn uuids(app: &TestApp, query: &str) -> (Vec<String>, i64) {
    let (status, body) = app.get(&format!("/v1/cdr/list{query}")).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    let list = body["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["uuid"].as_str().unwrap().to_string())
        .collect();
    (list, body["data"]["total"].as_i64().unwrap())
}

#[tokio::test]
async fn cdr_list_filters_pages_and_puts_the_newest_call_first() {
    let app = TestApp::spawn().await;
    let zh1 = "4b3b36af-3d98-4670-bc14-0ee08890d7d6"; // 2019-06-11 05:15:18Z, gateway avaya
    let zh2 = "6a7ccd66-6d2f-46c4-abd9-07cf37fc161e"; // 2019-06-11 05:14:46Z, gateway avaya
    let cg = "86cfd6e2-dbda-45a3-b59d-f683ec368e8b"; // 2014-04-08, 1001 -> 1002
    let tiny = "91353230-461f-11de-aa7f-b10b4edc0c92"; // 2009-05-21, 1000 -> 2622
    insert_call(&app, cg).await;
    for (file, ct) in [
        (
            "tinycdr_2009_xml_cdr_originator_cancel_via_gateway_unanswered.cdr.xml",
            "text/xml",
        ),
        (
            "zhouhailin_a_6a7ccd66_inbound_bridged_via_gateway_avaya_answered.cdr.xml",
            "text/xml",
        ),
        (
            "cgrates_2014_json_cdr_inbound_1001_to_1002_bridged.json",
            "application/json",
        ),
        (
            "zhouhailin_a_4b3b36af_inbound_bridged_via_gateway_avaya_answered.cdr.xml",
            "text/xml",
        ),
    ] {
        assert_eq!(
            post_cdr(&app, "", ct, fixture(file)).await,
            StatusCode::OK,
            "{file}"
        );
    }
    assert_eq!(
        uuids(&app, "").await,
        (vec![zh1.into(), zh2.into(), cg.into(), tiny.into()], 4)
    );
    assert_eq!(uuids(&app, "?gateway=avaya").await.1, 2);
    assert_eq!(uuids(&app, "?caller=1001").await, (vec![cg.into()], 1));
    assert_eq!(uuids(&app, "?callee=2622").await, (vec![tiny.into()], 1));
    assert_eq!(
        uuids(&app, &format!("?call_uuid={cg}")).await,
        (vec![cg.into()], 1)
    );
    assert_eq!(uuids(&app, "?from=2015-01-01T00:00:00Z").await.1, 2);
    assert_eq!(
        uuids(&app, "?to=2019-06-11T13:15:00%2B08:00").await,
        (vec![zh2.into(), cg.into(), tiny.into()], 3),
        "to is exclusive and offsets count"
    );
    assert_eq!(uuids(&app, "?size=1&page=2").await, (vec![zh2.into()], 4));
    assert_invalid(&app.get("/v1/cdr/list?from=yesterday").await, "from");
    assert_invalid(&app.get("/v1/cdr/list?call_uuid=nope").await, "call_uuid");
    assert_invalid(&app.get("/v1/cdr/list?size=501").await, "size");
    assert_eq!(
        app.get("/v1/cdr/list?nope=1").await.0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn cdr_detail_needs_a_known_uuid() {
    let app = TestApp::spawn().await;
    assert_invalid(&app.get("/v1/cdr/detail").await, "uuid");
    let (status, body) = app.get("/v1/cdr/detail?uuid=nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}
