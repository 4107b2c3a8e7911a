//! Who may call `/fsapi` (HOSTILE_INPUTS X1, U10): HTTP Basic as mod_xml_curl and
//! mod_xml_cdr send it, loopback only without configured credentials, the CIDR allow-list on
//! top, and the allow-list-only layer for token-authenticated routes. Over real HTTP for the
//! CDR endpoint; with a chosen peer address for the layers themselves (the test server can
//! only be reached from loopback).

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode as AxStatus};
use axum::routing::post;
use callplane::config::{FsapiConfig, Secret};
use callplane::http::fsapi::{self, access::Access};
use reqwest::StatusCode;
use tower::ServiceExt;

use crate::cdr::{fixture, fs_url_encode};
use crate::helpers::TestApp;

const PASSWORD: &str = "fs-pass-0123456789";

fn cdr_body() -> String {
    let doc = fixture("zhouhailin_a_4b3b36af_inbound_bridged_via_gateway_avaya_answered.cdr.xml");
    format!("cdr={}", fs_url_encode(&doc))
}

async fn post_cdr_as(app: &TestApp, auth: Option<(&str, &str)>) -> reqwest::Response {
    let mut rb = app
        .client
        .post(app.url("/fsapi/cdr"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(cdr_body());
    if let Some((u, p)) = auth {
        rb = rb.basic_auth(u, Some(p));
    }
    rb.send().await.unwrap()
}

fn with_credentials(c: &mut callplane::config::Config) {
    c.fsapi.user = Some("freeswitch".into());
    c.fsapi.password = Some(Secret::new(PASSWORD));
}

#[tokio::test]
async fn cdr_posts_need_the_configured_basic_credentials() {
    let app = TestApp::spawn_with(with_credentials).await;
    for auth in [
        None,
        Some(("freeswitch", "wrong")),
        Some(("other", PASSWORD)),
    ] {
        let res = post_cdr_as(&app, auth).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        let challenge = res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(challenge.starts_with("Basic"), "{challenge}");
        assert!(!res.text().await.unwrap().contains(PASSWORD));
    }
    assert_eq!(app.count("cdrs").await, 0);
    let res = post_cdr_as(&app, Some(("freeswitch", PASSWORD))).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.count("cdrs").await, 1);
}

#[tokio::test]
async fn without_credentials_loopback_peers_are_served() {
    let app = TestApp::spawn().await;
    assert_eq!(post_cdr_as(&app, None).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_allow_list_applies_on_top_of_good_credentials() {
    let app = TestApp::spawn_with(|c| {
        with_credentials(c);
        c.fsapi.allow = vec!["10.0.0.0/8".into()];
    })
    .await;
    let res = post_cdr_as(&app, Some(("freeswitch", PASSWORD))).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("cdrs").await, 0);
    let app = TestApp::spawn_with(|c| {
        with_credentials(c);
        c.fsapi.allow = vec!["10.0.0.0/8".into(), "127.0.0.0/8".into()];
    })
    .await;
    assert_eq!(
        post_cdr_as(&app, Some(("freeswitch", PASSWORD)))
            .await
            .status(),
        StatusCode::OK
    );
}

// --- The layers, with a chosen peer, on a route shaped like mod_xml_curl's (X1). ---

fn access(user_pass: bool, allow: &[&str]) -> Access {
    Access::from_config(&FsapiConfig {
        user: user_pass.then(|| "freeswitch".to_string()),
        password: user_pass.then(|| Secret::new(PASSWORD)),
        allow: allow.iter().map(|s| s.to_string()).collect(),
        ..FsapiConfig::default()
    })
}

fn xml_curl_like(a: &Access) -> Router {
    fsapi::with_basic(
        a,
        Router::new().route("/fsapi/xml_curl", post(|| async { "directory" })),
    )
}

fn upload_like(a: &Access) -> Router {
    fsapi::allow_listed(
        a,
        Router::new().route("/fsapi/upload_audio", post(|| async { "stored" })),
    )
}

async fn call(
    router: Router,
    path: &str,
    peer: Option<&str>,
    auth: Option<&str>,
) -> (AxStatus, Option<String>, String) {
    let mut req = Request::post(path)
        .body(Body::from("section=directory&user=1000"))
        .unwrap();
    if let Some(p) = peer {
        let addr: SocketAddr = p.parse().unwrap();
        req.extensions_mut().insert(ConnectInfo(addr));
    }
    if let Some(a) = auth {
        use base64::Engine;
        let v = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(a)
        );
        req.headers_mut()
            .insert("authorization", v.parse().unwrap());
    }
    let res = router.oneshot(req).await.unwrap();
    let status = res.status();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string());
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        challenge,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

const GOOD: &str = "freeswitch:fs-pass-0123456789";

#[tokio::test]
async fn xml_curl_route_without_or_with_wrong_credentials_gets_401_and_no_password() {
    let a = access(true, &["10.0.0.0/8"]);
    let peer = Some("10.0.0.5:40000");
    for auth in [None, Some("freeswitch:nope"), Some("freeswitch")] {
        let (status, challenge, body) =
            call(xml_curl_like(&a), "/fsapi/xml_curl", peer, auth).await;
        assert_eq!(status, AxStatus::UNAUTHORIZED, "{auth:?}");
        assert!(challenge.unwrap().starts_with("Basic"));
        assert!(
            body.contains("not found") && !body.contains(PASSWORD),
            "{body}"
        );
    }
    let (status, _, body) = call(xml_curl_like(&a), "/fsapi/xml_curl", peer, Some(GOOD)).await;
    assert_eq!((status, body.as_str()), (AxStatus::OK, "directory"));
}

#[tokio::test]
async fn xml_curl_route_from_a_peer_outside_the_allow_list_gets_403() {
    let a = access(true, &["10.0.0.0/8"]);
    let (status, _, body) = call(
        xml_curl_like(&a),
        "/fsapi/xml_curl",
        Some("203.0.113.5:5060"),
        Some(GOOD),
    )
    .await;
    assert_eq!(status, AxStatus::FORBIDDEN);
    assert!(!body.contains(PASSWORD));
}

#[tokio::test]
async fn without_credentials_only_loopback_peers_pass() {
    let a = access(false, &[]);
    for (peer, want) in [
        ("127.0.0.1:5000", AxStatus::OK),
        ("[::1]:5000", AxStatus::OK),
        ("[::ffff:127.0.0.1]:5000", AxStatus::OK),
        ("203.0.113.5:5000", AxStatus::FORBIDDEN),
        ("10.0.0.5:5000", AxStatus::FORBIDDEN),
    ] {
        let (status, _, _) = call(xml_curl_like(&a), "/fsapi/xml_curl", Some(peer), None).await;
        assert_eq!(status, want, "{peer}");
    }
    // A server started without connect info cannot tell the peer: refused.
    let (status, _, _) = call(xml_curl_like(&a), "/fsapi/xml_curl", None, None).await;
    assert_eq!(status, AxStatus::FORBIDDEN);
}

#[tokio::test]
async fn token_routes_skip_basic_but_obey_the_allow_list() {
    let a = access(true, &["10.0.0.0/8"]);
    let (status, _, _) = call(
        upload_like(&a),
        "/fsapi/upload_audio",
        Some("10.9.8.7:1"),
        None,
    )
    .await;
    assert_eq!(
        status,
        AxStatus::OK,
        "the route's own token is its credential"
    );
    let (status, _, _) = call(
        upload_like(&a),
        "/fsapi/upload_audio",
        Some("203.0.113.5:1"),
        Some(GOOD),
    )
    .await;
    assert_eq!(status, AxStatus::FORBIDDEN);
    let (status, _, _) = call(upload_like(&a), "/fsapi/upload_audio", None, None).await;
    assert_eq!(status, AxStatus::FORBIDDEN);
    let open = access(false, &[]);
    let (status, _, _) = call(
        upload_like(&open),
        "/fsapi/upload_audio",
        Some("203.0.113.5:1"),
        None,
    )
    .await;
    assert_eq!(status, AxStatus::OK, "no allow-list: any peer with a token");
}
