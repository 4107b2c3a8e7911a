//! NUL characters: Postgres `text` cannot hold U+0000, so a NUL that reaches a query is a
//! database error. Every surface must answer it as the input problem it is (a 400 naming the
//! field on `/v1`; a kept-raw CDR on `/fsapi/cdr`), never a 500, and store nothing partial.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, assert_invalid};

#[tokio::test]
async fn a_nul_in_a_v1_query_parameter_is_a_400_naming_it() {
    let app = TestApp::spawn().await;
    for (path, field) in [
        ("/v1/call/list?caller=%00", "caller"),
        ("/v1/call/list?callee=1%002", "callee"),
        ("/v1/call/list?gateway=%00", "gateway"),
        ("/v1/call/list?state=%00", "state"),
        ("/v1/cdr/list?caller=%00", "caller"),
        ("/v1/cdr/list?call_uuid=%00", "call_uuid"),
        ("/v1/cdr/detail?uuid=%00", "uuid"),
        ("/v1/extension/detail?extension=1000%00", "extension"),
        ("/v1/extension/detail?extension=1000&domain=%00", "domain"),
        ("/v1/gateway/detail?name=%00", "name"),
        ("/v1/gateway/detail_xml?name=a%00", "name"),
        ("/v1/extension/online/list?name=%00", "name"),
    ] {
        let res = app.get(path).await;
        assert_invalid(&res, field);
    }
}

#[tokio::test]
async fn a_nul_in_a_v1_body_field_is_a_400_naming_it_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            json!({"caller": "1001", "callee": "13800138000", "ext_data": "a\u{0}b"}),
            "ext_data",
        ),
        (
            json!({"extension": "1001", "display_name": "x\u{0}"}),
            "display_name",
        ),
        (
            json!({"extension": "1001", "password": "pw\u{0}pw-12345"}),
            "password",
        ),
    ];
    for (i, (body, field)) in cases.into_iter().enumerate() {
        let path = if i == 0 {
            "/v1/call/callback"
        } else {
            "/v1/extension/create"
        };
        let res = app.post(path, body).await;
        assert_invalid(&res, field);
    }
    let res = app
        .post_form(
            "/v1/extension/create",
            &[("extension", "1001"), ("display_name", "a\0b")],
        )
        .await;
    assert_invalid(&res, "display_name");
    assert_eq!(app.count("extensions").await, 0);
    assert_eq!(app.count("calls").await, 0);
}

#[tokio::test]
async fn a_cdr_carrying_nuls_is_kept_raw_once_not_refused() {
    let app = TestApp::spawn().await;
    let post = |query: &'static str, doc: &'static str| {
        let req = app
            .client
            .post(app.url(&format!("/fsapi/cdr{query}")))
            .header("content-type", "text/xml")
            .body(doc);
        async move {
            let res = req.send().await.unwrap();
            (res.status(), res.text().await.unwrap())
        }
    };
    // A NUL in the identity itself (and in the query's uuid): kept under a digest identity.
    let bad_uuid = "<cdr core-uuid=\"core-nul\"><variables><uuid>leg%00a</uuid></variables></cdr>";
    // A NUL in a summary field only: kept under its own (clean) identity.
    let bad_cause = "<cdr core-uuid=\"core-nul\"><variables><uuid>leg-b</uuid>\
        <hangup_cause>NORMAL%00CLEARING</hangup_cause></variables></cdr>";
    for _ in 0..2 {
        for (query, doc) in [("?uuid=a_%00", bad_uuid), ("?uuid=a_leg-b", bad_cause)] {
            let (status, text) = post(query, doc).await;
            assert_eq!(
                status,
                StatusCode::OK,
                "FreeSWITCH must not retry it: {text}"
            );
        }
    }
    let rows: Vec<(String, String, bool, Option<String>)> =
        sqlx::query_as("SELECT core_uuid, uuid, parsed, parse_error FROM cdrs ORDER BY uuid")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 2, "each stored once: {rows:?}");
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1.as_str()),
        ("core-nul", "leg-b")
    );
    assert!(rows[1].1.starts_with("unparsed-"), "{rows:?}");
    for (_, _, parsed, why) in &rows {
        assert!(!parsed);
        assert!(why.as_deref().unwrap_or("").contains("NUL"), "{why:?}");
    }
}
