//! CDR ingest end to end: `POST /fsapi/cdr` with the real captures in every body form
//! (`fixtures`), the hostile inputs of the endpoint (`hostile`), leg linking and the `/v1/cdr`
//! lists (`lists`), `import-cdrs` over an err-log-dir (`import`), and fsim's post of a call it
//! placed (`fsim`). This module holds the shared helpers.

mod fixtures;
mod fsim;
mod hostile;
mod import;
mod lists;
mod real_calls;
mod webhook_legs;

use base64::Engine;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;

pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/cdr/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// URL-encodes as FreeSWITCH's switch_url_encode does: control and non-ASCII bytes and the
/// characters of SWITCH_URL_UNSAFE (switch_utils.h) become %XX, everything else stays.
pub fn fs_url_encode(s: &str) -> String {
    const UNSAFE: &[u8] = b"\r\n #%&+:;<=>?@[\\]^`{|}\"";
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        if !(0x20..0x7f).contains(&b) || UNSAFE.contains(&b) {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(b as char);
        }
    }
    out
}

pub fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The body forms of mod_xml_cdr.c / mod_json_cdr.c `encode` settings: (content type, body,
/// the encoding callplane should record).
pub fn forms(doc: &str, json: bool) -> Vec<(&'static str, String, &'static str)> {
    let mut v = vec![
        (
            "application/x-www-form-urlencoded",
            format!("cdr={}", fs_url_encode(doc)),
            "form_urlencoded",
        ),
        (
            "application/x-www-form-base64-encoded",
            format!("cdr={}", b64(doc)),
            "form_base64",
        ),
    ];
    if json {
        v.push(("application/json", doc.to_string(), "json"));
    } else {
        v.push((
            "application/x-www-form-plaintext",
            format!("cdr={doc}"),
            "form_plain",
        ));
        v.push(("text/xml", doc.to_string(), "xml"));
    }
    v
}

pub async fn post_cdr(
    app: &TestApp,
    query: &str,
    ct: &str,
    body: impl Into<reqwest::Body>,
) -> StatusCode {
    app.client
        .post(app.url(&format!("/fsapi/cdr{query}")))
        .header("content-type", ct)
        .header("user-agent", "freeswitch-xml/1.0")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}

pub async fn detail(app: &TestApp, uuid: &str) -> Value {
    let (status, body) = app.get(&format!("/v1/cdr/detail?uuid={uuid}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].clone()
}
