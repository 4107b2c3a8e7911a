//! The hostile inputs and faults of `POST /fsapi/cdr` (HOSTILE_INPUTS 4.3).

use reqwest::StatusCode;

use super::{b64, detail, fixture, fs_url_encode, post_cdr};
use crate::helpers::TestApp;

const A_LEG: &str = "zhouhailin_a_4b3b36af_inbound_bridged_via_gateway_avaya_answered.cdr.xml";
const A_UUID: &str = "4b3b36af-3d98-4670-bc14-0ee08890d7d6";

fn form(doc: &str) -> String {
    format!("cdr={}", fs_url_encode(doc))
}

const FORM: &str = "application/x-www-form-urlencoded";

#[tokio::test]
async fn cdr_posted_twice_is_stored_once() {
    // R1: FreeSWITCH retries when our 200 arrives after its timeout.
    let app = TestApp::spawn().await;
    let body = form(&fixture(A_LEG));
    let q = format!("?uuid=a_{A_UUID}");
    assert_eq!(post_cdr(&app, &q, FORM, body.clone()).await, StatusCode::OK);
    assert_eq!(post_cdr(&app, &q, FORM, body).await, StatusCode::OK);
    assert_eq!(app.count("cdrs").await, 1);
}

#[tokio::test]
async fn a_hostile_header_name_makes_a_malformed_cdr_that_is_kept_raw() {
    // R4: a SIP X- header exported as a variable whose name is not an XML name.
    let app = TestApp::spawn().await;
    let doc = fixture(A_LEG).replace(
        "<sip_h_User-to-User>",
        "<sip_h_X-Evil<script>x</sip_h_X-Evil<script>\n    <sip_h_User-to-User>",
    );
    let q = format!("?uuid=a_{A_UUID}");
    assert_eq!(post_cdr(&app, &q, FORM, form(&doc)).await, StatusCode::OK);
    let got = detail(&app, A_UUID).await;
    assert_eq!(got["parsed"], false);
    assert_eq!(
        got["core_uuid"], "21483469-cecc-4e5f-a9eb-0402e56193aa",
        "read before the fault"
    );
    assert!(
        got["parse_error"].as_str().unwrap().contains("Evil"),
        "{got}"
    );
    assert_eq!(got["raw"], doc, "the document is kept as posted");
    assert_eq!(got["caller"], serde_json::Value::Null);
    // The same malformed CDR again is still one row.
    assert_eq!(post_cdr(&app, &q, FORM, form(&doc)).await, StatusCode::OK);
    assert_eq!(app.count("cdrs").await, 1);
}

#[tokio::test]
async fn a_truncated_cdr_is_kept_under_the_query_uuid_until_the_complete_one_comes() {
    // R4: the body stops inside the variables, before the uuid.
    let app = TestApp::spawn().await;
    let doc = fixture(A_LEG);
    let cut = &doc[..doc.find("<uuid>").unwrap()];
    let q = format!("?uuid=a_{A_UUID}");
    assert_eq!(
        post_cdr(&app, &q, "text/xml", cut.to_string()).await,
        StatusCode::OK
    );
    let got = detail(&app, A_UUID).await;
    assert_eq!(got["parsed"], false);
    assert!(
        got["parse_error"].as_str().unwrap().contains("truncated"),
        "{got}"
    );
    assert_eq!(got["raw"], cut);
    // The complete CDR of the same leg replaces the broken copy rather than being dropped
    // as a repost; a broken copy never replaces a good one.
    assert_eq!(
        post_cdr(&app, &q, "text/xml", doc.clone()).await,
        StatusCode::OK
    );
    assert_eq!(
        post_cdr(&app, &q, "text/xml", cut.to_string()).await,
        StatusCode::OK
    );
    let got = detail(&app, A_UUID).await;
    assert_eq!(
        (got["parsed"].as_bool(), got["billsec"].as_i64()),
        (Some(true), Some(11))
    );
    assert_eq!(got["parse_error"], serde_json::Value::Null);
    assert_eq!(app.count("cdrs").await, 1);
}

#[tokio::test]
async fn garbage_without_a_uuid_is_kept_once_by_its_digest() {
    let app = TestApp::spawn().await;
    for _ in 0..2 {
        assert_eq!(
            post_cdr(
                &app,
                "",
                "application/octet-stream",
                vec![0u8, 159, 146, 150]
            )
            .await,
            StatusCode::OK
        );
    }
    assert_eq!(app.count("cdrs").await, 1);
    let parsed: bool = sqlx::query_scalar("SELECT parsed FROM cdrs")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(!parsed);
}

#[tokio::test]
async fn a_cdr_over_the_cap_gets_413_and_one_under_it_is_stored() {
    // R6: a CDR with many large variables, around a 64 KiB cap.
    let app = TestApp::spawn_with(|c| c.fsapi.cdr_max_bytes = 64 * 1024).await;
    let doc = fixture(A_LEG);
    let pad = |n: usize| {
        doc.replace(
            "<sip_h_User-to-User>",
            &format!(
                "<sip_full_via>{}</sip_full_via>\n    <sip_h_User-to-User>",
                "v".repeat(n)
            ),
        )
    };
    let q = format!("?uuid=a_{A_UUID}");
    let big = pad(70 * 1024);
    assert_eq!(
        post_cdr(&app, &q, "text/xml", big).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(app.count("cdrs").await, 0);
    // Chunked, without a Content-Length, the cap still holds.
    assert_eq!(post_chunked(&app, 80, 1024).await, 413);
    assert_eq!(app.count("cdrs").await, 0);
    let under = pad(30 * 1024);
    assert_eq!(post_cdr(&app, &q, "text/xml", under).await, StatusCode::OK);
    assert_eq!(detail(&app, A_UUID).await["parsed"], true);
}

/// Posts `chunks` chunks of `size` bytes with `Transfer-Encoding: chunked` over a raw
/// socket, as libcurl streams a large post; returns the status code.
async fn post_chunked(app: &TestApp, chunks: usize, size: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let (mut rd, mut wr) = s.into_split();
    // Read while writing: the answer may come (and the socket close) before the body ends.
    let reader = tokio::spawn(async move {
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = rd.read(&mut buf).await {
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
        }
        answer
    });
    let head = "POST /fsapi/cdr HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n\
        Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    let _ = wr.write_all(head.as_bytes()).await;
    let chunk = format!("{size:x}\r\n{}\r\n", "x".repeat(size));
    for _ in 0..chunks {
        if wr.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = wr.write_all(b"0\r\n\r\n").await;
    let answer = reader.await.unwrap();
    let text = String::from_utf8_lossy(&answer);
    text.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_doctype_is_refused_and_nothing_is_stored() {
    // R7: entity declarations are never processed.
    let app = TestApp::spawn().await;
    let doc = fixture(A_LEG).replacen(
        "<?xml version=\"1.0\"?>",
        "<?xml version=\"1.0\"?>\n<!DOCTYPE cdr [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>",
        1,
    );
    assert_eq!(
        post_cdr(&app, "", "text/xml", doc.clone()).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post_cdr(&app, "", FORM, form(&doc)).await,
        StatusCode::BAD_REQUEST
    );
    let base64 = format!("cdr={}", b64(&doc));
    let ct = "application/x-www-form-base64-encoded";
    assert_eq!(
        post_cdr(&app, "", ct, base64).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(app.count("cdrs").await, 0);
}

#[tokio::test]
async fn the_body_uuid_wins_over_the_query_and_a_missing_query_is_fine() {
    // R9
    let app = TestApp::spawn().await;
    let body = form(&fixture(A_LEG));
    let other = "a_00000000-0000-0000-0000-000000000001";
    assert_eq!(
        post_cdr(&app, &format!("?uuid={other}"), FORM, body.clone()).await,
        StatusCode::OK
    );
    let got = detail(&app, A_UUID).await;
    assert_eq!(got["parsed"], true);
    let (status, _) = app
        .get("/v1/cdr/detail?uuid=00000000-0000-0000-0000-000000000001")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let query_uuid: Option<String> = sqlx::query_scalar("SELECT query_uuid FROM cdrs")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        query_uuid.as_deref(),
        Some("00000000-0000-0000-0000-000000000001")
    );
    // Without any query the same CDR is recognised as already stored.
    assert_eq!(post_cdr(&app, "", FORM, body).await, StatusCode::OK);
    assert_eq!(app.count("cdrs").await, 1);
}

#[tokio::test]
async fn database_unavailable_answers_503_so_freeswitch_retries() {
    let app = TestApp::spawn().await;
    app.pool.close().await;
    let res = app
        .client
        .post(app.url(&format!("/fsapi/cdr?uuid=a_{A_UUID}")))
        .header("content-type", FORM)
        .body(form(&fixture(A_LEG)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn libcurl_style_expect_100_continue_gets_its_interim_answer() {
    // R15: libcurl sends `Expect: 100-continue` on posts over 1 KiB (mod_xml_cdr's default)
    // and waits for `100 Continue` before the body.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn().await;
    let body = form(&fixture(A_LEG));
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /fsapi/cdr?uuid=a_{A_UUID} HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM}\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut interim = [0u8; 25];
    s.read_exact(&mut interim).await.unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(body.as_bytes()).await.unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(detail(&app, A_UUID).await["parsed"], true);
}
