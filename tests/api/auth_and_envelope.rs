//! Authentication and the error envelope for every kind of failure under `/v1`.

use callplane::config::Secret;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, read};

const KEY: &str = "test-key-0123456789abcdef";

async fn keyed_app() -> TestApp {
    TestApp::spawn_with(|c| {
        c.api.keys = vec![Secret::new(KEY), Secret::new("second-key-0123456789")]
    })
    .await
}

#[tokio::test]
async fn missing_or_wrong_keys_get_401_and_right_keys_pass() {
    let app = keyed_app().await;
    let url = app.url("/v1/extension/list");
    let (status, body) = read(app.client.get(&url).send().await.unwrap()).await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::UNAUTHORIZED, Some(40100))
    );
    for bad in [
        "Bearer wrong-key-0123456789abc",
        "Bearer ",
        "Basic dGVzdDp0ZXN0",
        KEY,
    ] {
        let res = app
            .client
            .get(&url)
            .header("authorization", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{bad}");
    }
    let res = app
        .client
        .get(&url)
        .bearer_auth("second-key-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // The scheme name is case-insensitive (RFC 7235).
    for scheme in ["bearer", "BEARER"] {
        let res = app
            .client
            .get(&url)
            .header("authorization", format!("{scheme} second-key-0123456789"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{scheme}");
    }
    // Writes are refused too, and nothing is stored.
    let res = app
        .client
        .post(app.url("/v1/extension/create"))
        .json(&json!({"extension": "1001"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.count("extensions").await, 0);
    // The operational endpoints need no key.
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn unknown_routes_are_enveloped_404() {
    let app = TestApp::spawn().await;
    for path in ["/v1/nothing", "/v1", "/v1/extension/list/extra"] {
        let (status, body) = app.get(path).await;
        assert_eq!(
            (status, body["code"].as_u64()),
            (StatusCode::NOT_FOUND, Some(40401)),
            "{path}"
        );
    }
}

#[tokio::test]
async fn wrong_method_is_an_enveloped_405() {
    let app = TestApp::spawn().await;
    let (status, body) = read(
        app.client
            .delete(app.url("/v1/extension/list"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::METHOD_NOT_ALLOWED, Some(40500))
    );
    let (status, _) = read(
        app.client
            .get(app.url("/v1/extension/create"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn oversized_bodies_are_an_enveloped_413_and_store_nothing() {
    let app = TestApp::spawn().await;
    let big = format!(
        r#"{{"extension":"1001","display_name":"{}"}}"#,
        "x".repeat(64 * 1024)
    );
    let (status, body) = app
        .post_raw("/v1/extension/create", "application/json", big)
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some(41300))
    );
    assert!(body["message"].as_str().unwrap().contains("16384"));
    assert_eq!(app.count("extensions").await, 0);
}

#[tokio::test]
async fn other_content_types_are_an_enveloped_415() {
    let app = TestApp::spawn().await;
    for ct in [
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=x",
    ] {
        let (status, body) = app
            .post_raw("/v1/extension/create", ct, r#"{"extension":"1001"}"#)
            .await;
        assert_eq!(
            (status, body["code"].as_u64()),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some(41500)),
            "{ct}"
        );
    }
    let (status, _) = app
        .post_raw(
            "/v1/extension/create",
            "application/json; charset=utf-8",
            r#"{"extension":"1001"}"#,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "parameters on the JSON type are fine"
    );
}

#[tokio::test]
async fn deeply_nested_json_is_a_400_not_a_crash() {
    let app = TestApp::spawn().await;
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let body = format!(r#"{{"extension":"1001","display_name":{deep}}}"#);
    let app2 = TestApp::spawn_with(|c| c.http.body_limit_bytes = 64 * 1024).await;
    let (status, _) = app2
        .post_raw("/v1/extension/create", "application/json", body)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.get("/v1/extension/list").await.0,
        StatusCode::OK,
        "still serving"
    );
}

#[tokio::test]
async fn every_documented_v1_route_requires_the_key() {
    let app = keyed_app().await;
    let doc: serde_json::Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            let req = match method.as_str() {
                "get" => app.client.get(app.url(path)),
                "post" => app.client.post(app.url(path)).json(&json!({})),
                other => panic!("unexpected method {other}"),
            };
            let (status, body) = read(req.send().await.unwrap()).await;
            assert_eq!(
                (status, body["code"].as_u64()),
                (StatusCode::UNAUTHORIZED, Some(40100)),
                "{method} {path}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 11, "checked {checked} routes");
}

#[tokio::test]
async fn concurrent_duplicate_creates_store_one_row() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                app.post(
                    "/v1/gateway/create",
                    json!({"name": "gw-race", "realm": "10.0.0.1"}),
                )
                .await
                .0
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((ok, conflicts), (1, 7), "{statuses:?}");
    assert_eq!(app.count("gateways").await, 1);
}
