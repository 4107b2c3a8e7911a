//! Property tests through the real endpoints for the parsers that take outside bytes and live
//! behind HTTP: mod_xml_curl form bodies and recording uploads (multipart). A fixed-seed
//! generator keeps failures reproducible. Properties: every answer is a clean, documented one
//! (never a 5xx); an xml_curl answer is always a well-formed FreeSWITCH document that the
//! pre-processor cannot act on and that carries a password only for `reverse-auth-lookup`; a
//! refused upload leaves no row, no object and no temporary file.

use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::fsdoc::{ask, create_extension};
use crate::helpers::{TestApp, read};
use crate::recordings::{Dir, files_under, local_app, row, token, wav};

#[path = "../../common/rng.rs"]
mod rng;
use rng::Rng;

const PASSWORD: &str = "pw-secret-1000";

#[tokio::test]
async fn any_xml_curl_form_gets_a_well_formed_inert_document() {
    let app = TestApp::spawn().await;
    create_extension(
        &app,
        json!({"extension": "1000", "password": PASSWORD, "display_name": "Agent"}),
    )
    .await;
    let names = [
        "section",
        "action",
        "user",
        "domain",
        "key_value",
        "tag_name",
        "purpose",
        "context",
        "Caller-Context",
        "Hunt-Destination-Number",
        "Caller-Destination-Number",
        "variable_user_name",
        "Unique-ID",
        "sip_auth_realm",
        "SECTION",
        "",
        "user[]",
    ];
    let values = [
        "directory",
        "dialplan",
        "configuration",
        "sip_auth",
        "reverse-auth-lookup",
        "user_call",
        "1000",
        "10.0.0.1",
        "default",
        "public",
        "gateways",
        "13800138000",
        "1000' OR '1'='1",
        "${system(id)}",
        "$${default_password}",
        "<X-PRE-PROCESS cmd=\"exec\" data=\"id\"/>",
        "<!--#exec:id-->",
        "\"><x>",
        "&amp;",
        "100,sofia/gateway/x/00",
        "１０００",
        "\u{200b}",
        "\r\n",
        "%",
        "%00",
        "550e8400-e29b-41d4-a716-446655440000",
    ];
    let mut rng = Rng(0xC0FFEE);
    for _ in 0..250 {
        let body = if rng.below(8) == 0 {
            // Raw bytes: broken escapes, stray separators, invalid UTF-8.
            let raw: Vec<u8> = (0..rng.below(200))
                .map(|_| *rng.pick(b"=&%+0aZ\xff\x00<>$ {}"))
                .collect();
            String::from_utf8_lossy(&raw).into_owned()
        } else {
            let pairs: Vec<(&str, &str)> = (0..rng.below(10))
                .map(|_| (*rng.pick(&names), *rng.pick(&values)))
                .collect();
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&pairs)
                .finish()
        };
        // ask() checks 200, text/xml, the pre-processor emulator and a strict parse.
        let doc = ask(&app, body.clone()).await;
        let reverse = body.contains("action=reverse-auth-lookup");
        let leaked = doc
            .all("param")
            .iter()
            .any(|p| p.attr("value") == Some(PASSWORD));
        assert!(reverse || !leaked, "password answered to {body}");
    }
    assert_eq!(app.count("extensions").await, 1, "lookups change nothing");
}

/// A valid upload body for `boundary`, as curl `-F files=@rec.wav` sends it.
fn multipart(boundary: &str, file: &[u8]) -> Vec<u8> {
    let mut b = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"rec.wav\"\r\n\
         Content-Type: audio/wav\r\n\r\n"
    )
    .into_bytes();
    b.extend_from_slice(file);
    b.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    b
}

#[tokio::test]
async fn any_upload_body_gets_a_clean_answer_and_a_refused_one_leaves_nothing() {
    let dir = Dir::new();
    let app = local_app(&dir).await;
    let mut rng = Rng(0xF11E5);
    let splices: &[&[u8]] = &[
        b"\r\n",
        b"--",
        b"\r\n--X\r\n",
        b"Content-Disposition: form-data; name=\"other\"\r\n\r\n",
        b"name=\"files\"; filename=\"../../etc/passwd\"",
        b"\0",
        b"\"",
        b";",
        b"\r\n\r\n",
    ];
    let mut stored = 0;
    for i in 0..120 {
        let boundary = "X";
        let file = wav((i % 250) as u8 + 1, 50);
        let mut body = multipart(boundary, &file);
        match rng.below(6) {
            0 => body.truncate(rng.below(body.len())),
            1 => {
                let at = rng.below(body.len());
                body.splice(at..at, rng.pick(splices).iter().copied());
            }
            2 => {
                for _ in 0..=rng.below(4) {
                    let at = rng.below(body.len());
                    body[at] = rng.next() as u8;
                }
            }
            3 => {
                let again = body.clone();
                body.truncate(body.len() - 4); // drop the closing "--\r\n" and add a second part
                body.extend_from_slice(b"\r\n");
                body.extend_from_slice(&again[3..]);
            }
            4 => body = (0..rng.below(400)).map(|_| rng.next() as u8).collect(),
            _ => {} // unchanged: must be stored
        }
        let ctype = match rng.below(5) {
            0 => "multipart/form-data; boundary=Y".to_string(),
            1 => "multipart/form-data".to_string(),
            _ => format!("multipart/form-data; boundary={boundary}"),
        };
        let u = Uuid::new_v4();
        let url = app.url(&format!("/fsapi/upload_audio?uuid={u}&token={}", token(&u)));
        let res = app
            .client
            .post(url)
            .header("content-type", &ctype)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let (status, answer) = read(res).await;
        assert!(
            [StatusCode::OK, StatusCode::BAD_REQUEST].contains(&status),
            "{status} for {ctype} {:?}: {answer}",
            String::from_utf8_lossy(&body[..body.len().min(120)])
        );
        match (status, row(&app, &u).await) {
            (StatusCode::OK, Some(r)) => {
                stored += 1;
                assert_eq!(answer["data"]["size"].as_i64(), Some(r.size), "{answer}");
            }
            (StatusCode::OK, None) => panic!("200 without a row: {answer}"),
            (_, None) => {}
            (_, Some(_)) => panic!("refused but stored: {answer}"),
        }
    }
    assert!(stored > 0, "the unchanged bodies were stored");
    let objects = files_under(&dir.join("rec")).len();
    assert!(
        objects <= stored,
        "{objects} objects for {stored} stored uploads"
    );
    assert!(
        files_under(&dir.join("spool")).is_empty(),
        "no temporary file is left behind"
    );
}
