//! Every CDR capture in the fixtures in tests/fixtures, posted in each body form FreeSWITCH uses for it
//! and checked field by field.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{detail, fixture, forms, post_cdr};
use crate::helpers::TestApp;

/// The values read from each capture (by hand, and cross-checked with a second XML/JSON
/// reader): the fields callplane must extract.
fn expected(file: &str) -> Value {
    match file {
        "zhouhailin_a_4b3b36af_inbound_bridged_via_gateway_avaya_answered.cdr.xml" => json!({
            "uuid": "4b3b36af-3d98-4670-bc14-0ee08890d7d6", "core_uuid": "21483469-cecc-4e5f-a9eb-0402e56193aa",
            "other_uuid": "4b32a965-e2fc-455e-8f46-eb723e8909fd", "leg": "a",
            "caller": "anonymous", "callee": "915121007938", "gateway": "avaya",
            "start_time": "2019-06-11T05:15:18.216216Z", "answer_time": "2019-06-11T05:15:29.536210Z",
            "end_time": "2019-06-11T05:15:40.276231Z", "duration": 22, "billsec": 11,
            "hangup_cause": "NORMAL_CLEARING", "sip_hangup_disposition": "send_bye", "switch_name": null,
            "recording_path": "http://(file=4b3b36af-3d98-4670-bc14-0ee08890d7d6.wav,name=4b3b36af-3d98-4670-bc14-0ee08890d7d6.wav)172.16.2.253:8282/fileupload?path=2019/06/11/13",
            "format": "xml"}),
        "zhouhailin_a_6a7ccd66_inbound_bridged_via_gateway_avaya_answered.cdr.xml" => json!({
            "uuid": "6a7ccd66-6d2f-46c4-abd9-07cf37fc161e", "core_uuid": "21483469-cecc-4e5f-a9eb-0402e56193aa",
            "other_uuid": "b6c6866a-ed23-40c0-98f1-ee7d6f13d600", "leg": "a",
            "caller": "anonymous", "callee": "915121007938", "gateway": "avaya",
            "start_time": "2019-06-11T05:14:46.316253Z", "answer_time": "2019-06-11T05:14:58.936211Z",
            "end_time": "2019-06-11T05:15:04.136217Z", "duration": 18, "billsec": 6,
            "hangup_cause": "NORMAL_CLEARING", "sip_hangup_disposition": "recv_bye", "switch_name": null,
            "recording_path": "http://(file=6a7ccd66-6d2f-46c4-abd9-07cf37fc161e.wav,name=6a7ccd66-6d2f-46c4-abd9-07cf37fc161e.wav)172.16.2.253:8282/fileupload?path=2019/06/11/13",
            "format": "xml"}),
        "fsdocs_2014_xml_cdr_inbound_unanswered_billsec0.cdr.xml" => json!({
            "uuid": "80183ec8-d424-11e3-8fb2-65b6c3cdac7d", "core_uuid": "b658d05e-c42c-11e3-bdcd-65b6c3cdac7d",
            "other_uuid": null, "leg": "a", "caller": "8009", "callee": "003468888646444", "gateway": null,
            "start_time": "2014-05-05T07:11:38.421766Z", "answer_time": null,
            "end_time": "2014-05-05T07:11:38.421766Z", "duration": 0, "billsec": 0,
            "hangup_cause": "NORMAL_CLEARING", "sip_hangup_disposition": "send_refuse", "switch_name": null,
            "recording_path": null, "format": "xml"}),
        // 2009 layout: no core-uuid (identity uses ''), no `uuid` variable (the caller
        // profile's is used), the gateway only in the bridge dial string.
        "tinycdr_2009_xml_cdr_originator_cancel_via_gateway_unanswered.cdr.xml" => json!({
            "uuid": "91353230-461f-11de-aa7f-b10b4edc0c92", "core_uuid": "",
            "other_uuid": "913d2a1c-461f-11de-aa7f-b10b4edc0c92", "leg": "a",
            "caller": "1000", "callee": "2622", "gateway": "carlos",
            "start_time": "2009-05-21T15:53:46.180441Z", "answer_time": null,
            "end_time": "2009-05-21T15:53:47.691068Z", "duration": 1, "billsec": 0,
            "hangup_cause": "ORIGINATOR_CANCEL", "sip_hangup_disposition": null, "switch_name": null,
            "recording_path": null, "format": "xml"}),
        "cgrates_2014_json_cdr_inbound_1001_to_1002_bridged.json" => json!({
            "uuid": "86cfd6e2-dbda-45a3-b59d-f683ec368e8b", "core_uuid": "feef0b51-7fdf-4c4a-878e-aff233752de2",
            "other_uuid": "402f0929-fa14-4a5f-9642-3a1311bb4ddd", "leg": "a",
            "caller": "1001", "callee": "1002", "gateway": null,
            "start_time": "2014-04-08T19:10:21.278217Z", "answer_time": "2014-04-08T19:10:27.717006Z",
            "end_time": "2014-04-08T19:10:42.257026Z", "duration": 21, "billsec": 15,
            "hangup_cause": "NORMAL_CLEARING", "sip_hangup_disposition": "recv_bye", "switch_name": "CGRTest",
            "recording_path": null, "format": "json"}),
        "cgrates_2015_json_cdr_matching_hangup_complete.json" => json!({
            "uuid": "e3133bf7-dcde-4daf-9663-9a79ffcef5ad", "core_uuid": "651a8db2-4f67-4cf8-b622-169e8a482e50",
            "other_uuid": "0a30dd7c-c222-482f-a322-b1218a15f8cd", "leg": "a",
            "caller": "1001", "callee": "1003", "gateway": null,
            "start_time": "2015-07-07T14:52:08.471153Z", "answer_time": "2015-07-07T14:52:08.971147Z",
            "end_time": "2015-07-07T14:53:14.010851Z", "duration": 66, "billsec": 66,
            "hangup_cause": "NORMAL_CLEARING", "sip_hangup_disposition": "recv_bye", "switch_name": "CgrDev1",
            "recording_path": null, "format": "json"}),
        // Pretty-printed with tabs in the source test, not as FreeSWITCH posts it (PROVENANCE).
        "cgrates_2018_json_cdr_FSDev1_pretty_printed.json" => json!({
            "uuid": "3da8bf84-c133-4959-9e24-e72875cb33a1", "core_uuid": "eb8bcdd2-d9eb-4f8f-80c3-1a4042aabe31",
            "other_uuid": "f52c26f1-b018-4963-bf6d-a3111d1a0320", "leg": "a",
            "caller": "1001", "callee": "1002", "gateway": null,
            "start_time": "2018-01-11T10:25:44.534355Z", "answer_time": "2018-01-11T10:25:47.954373Z",
            "end_time": "2018-01-11T10:26:55.494269Z", "duration": 71, "billsec": 68,
            "hangup_cause": "NORMAL_CLEARING", "sip_hangup_disposition": "send_bye", "switch_name": "FSDev1",
            "recording_path": null, "format": "json"}),
        // Trimmed of the Go literal's leading newline and trailing tabs (PROVENANCE).
        "cgrates_2018_json_cdr_teo_1001_to_1002_bridged_with_callstats.json" => json!({
            "uuid": "5a3a1d91-90d3-4db4-af5c-cc3ae15d93a4", "core_uuid": "63e2315b-d538-4dfa-9ed5-af73ba6210b6",
            "other_uuid": "9c1afb4f-1d4a-4e45-84a3-d25721981bf5", "leg": "a",
            "caller": "1001", "callee": "1002", "gateway": null,
            "start_time": "2018-03-14T11:09:18.006702Z", "answer_time": "2018-03-14T11:09:27.766321Z",
            "end_time": "2018-03-14T11:09:48.366141Z", "duration": 30, "billsec": 21,
            "hangup_cause": "NORMAL_CLEARING", "sip_hangup_disposition": "recv_bye", "switch_name": "teo",
            "recording_path": null, "format": "json"}),
        other => panic!("no expectations for {other}"),
    }
}

/// Posts `file` in every body form, checking each stored CDR field by field, then reposts
/// every form without clearing: the same CDR in any format is one row.
async fn check_fixture(file: &str) {
    let app = TestApp::spawn().await;
    let doc = fixture(file);
    let want = expected(file);
    let uuid = want["uuid"].as_str().unwrap();
    let query = format!("?uuid=a_{uuid}");
    let all = forms(&doc, file.ends_with(".json"));
    for (ct, body, encoding) in &all {
        let status = post_cdr(&app, &query, ct, body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{file} as {ct}");
        let got = detail(&app, uuid).await;
        for (k, v) in want.as_object().unwrap() {
            assert_eq!(&got[k], v, "{file} as {ct}: field {k}");
        }
        assert_eq!(got["parsed"], true, "{file} as {ct}");
        assert_eq!(got["encoding"], *encoding, "{file} as {ct}");
        assert_eq!(got["call_uuid"], Value::Null, "not an API call");
        assert_eq!(
            got["raw"], doc,
            "{file} as {ct}: the document as FreeSWITCH wrote it"
        );
        sqlx::query("DELETE FROM cdrs")
            .execute(&app.pool)
            .await
            .unwrap();
    }
    for (ct, body, _) in &all {
        assert_eq!(
            post_cdr(&app, &query, ct, body.clone()).await,
            StatusCode::OK
        );
    }
    assert_eq!(
        app.count("cdrs").await,
        1,
        "{file}: one CDR whatever the format"
    );
}

#[tokio::test]
async fn zhouhailin_4b3b36af_in_every_form() {
    check_fixture("zhouhailin_a_4b3b36af_inbound_bridged_via_gateway_avaya_answered.cdr.xml").await;
}

#[tokio::test]
async fn zhouhailin_6a7ccd66_in_every_form() {
    check_fixture("zhouhailin_a_6a7ccd66_inbound_bridged_via_gateway_avaya_answered.cdr.xml").await;
}

#[tokio::test]
async fn fsdocs_unanswered_in_every_form() {
    check_fixture("fsdocs_2014_xml_cdr_inbound_unanswered_billsec0.cdr.xml").await;
}

#[tokio::test]
async fn tinycdr_2009_originator_cancel_in_every_form() {
    check_fixture("tinycdr_2009_xml_cdr_originator_cancel_via_gateway_unanswered.cdr.xml").await;
}

#[tokio::test]
async fn cgrates_2014_json_in_every_form() {
    check_fixture("cgrates_2014_json_cdr_inbound_1001_to_1002_bridged.json").await;
}

#[tokio::test]
async fn cgrates_2015_json_in_every_form() {
    check_fixture("cgrates_2015_json_cdr_matching_hangup_complete.json").await;
}

#[tokio::test]
async fn cgrates_2018_pretty_printed_json_in_every_form() {
    check_fixture("cgrates_2018_json_cdr_FSDev1_pretty_printed.json").await;
}

#[tokio::test]
async fn cgrates_2018_json_with_callstats_in_every_form() {
    check_fixture("cgrates_2018_json_cdr_teo_1001_to_1002_bridged_with_callstats.json").await;
}

#[test]
fn every_fixture_has_expectations() {
    let dir = format!("{}/tests/fixtures/cdr", env!("CARGO_MANIFEST_DIR"));
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".xml") || name.ends_with(".json") {
            assert!(expected(&name).is_object(), "{name}");
        }
    }
}
