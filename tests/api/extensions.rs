//! `/v1/extension/*` end to end.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, assert_invalid};

#[tokio::test]
async fn created_extension_shows_in_detail_and_list_without_its_password() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post(
            "/v1/extension/create",
            json!({"extension": "1001", "password": "s3cret-pw", "display_name": "坐席 Alice"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["extension"], "1001");
    assert_eq!(body["data"]["password_set"], true);

    let (_, detail) = app.get("/v1/extension/detail?extension=1001").await;
    assert_eq!(detail["data"]["display_name"], "坐席 Alice");
    assert_eq!(detail["data"]["password_set"], true);
    assert_eq!(detail["data"]["enabled"], true);

    let (_, list) = app.get("/v1/extension/list").await;
    assert_eq!(list["data"]["total"], 1);
    let text = list.to_string() + &detail.to_string();
    assert!(
        !text.contains("s3cret-pw"),
        "password never returned: {text}"
    );
    assert!(list["data"]["list"][0].get("password").is_none());
}

#[tokio::test]
async fn form_bodies_are_accepted_like_json() {
    let app = TestApp::spawn().await;
    let res = app
        .post_form(
            "/v1/extension/create",
            &[
                ("extension", "1002"),
                ("enabled", "false"),
                ("domain", "pbx.example.com"),
            ],
        )
        .await;
    assert_eq!(res.0, StatusCode::OK, "{}", res.1);
    let (_, d) = app
        .get("/v1/extension/detail?extension=1002&domain=pbx.example.com")
        .await;
    assert_eq!(d["data"]["enabled"], false);
    assert_eq!(d["data"]["password_set"], false);
}

#[tokio::test]
async fn each_invalid_field_is_a_400_naming_it_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!({"password": "x12345678"}), "extension"),
        (json!({"extension": "1001,user/1002"}), "extension"),
        (json!({"extension": "${system(id)}"}), "extension"),
        (json!({"extension": "10\r\n01"}), "extension"),
        (
            json!({"extension": "1001", "domain": "bad domain"}),
            "domain",
        ),
        (
            json!({"extension": "1001", "password": "$${default_password}"}),
            "password",
        ),
        (
            json!({"extension": "1001", "password": "has space"}),
            "password",
        ),
        (
            json!({"extension": "1001", "display_name": "<b>x</b>"}),
            "display_name",
        ),
        (
            json!({"extension": "1001", "display_name": "a\u{0000}b"}),
            "display_name",
        ),
        (json!({"extension": "1001", "enabled": "maybe"}), "enabled"),
        (json!({"extension": 1001}), "extension"),
        (json!({"extension": "1001", "colour": "red"}), "colour"),
    ];
    for (body, field) in cases {
        let res = app.post("/v1/extension/create", body.clone()).await;
        assert_invalid(&res, field);
    }
    assert_eq!(app.count("extensions").await, 0, "no partial rows");
}

#[tokio::test]
async fn duplicate_keys_and_trailing_garbage_are_rejected() {
    let app = TestApp::spawn().await;
    let res = app
        .post_raw(
            "/v1/extension/create",
            "application/json",
            r#"{"extension":"1001","extension":"1002"}"#,
        )
        .await;
    assert_invalid(&res, "extension");
    assert!(res.1["message"].as_str().unwrap().contains("duplicate"));
    let res = app
        .post_raw(
            "/v1/extension/create",
            "application/json",
            r#"{"extension":"1001"} {}"#,
        )
        .await;
    assert_eq!(res.0, StatusCode::BAD_REQUEST);
    let res = app
        .post_raw(
            "/v1/extension/create",
            "application/json",
            "{\"extension\":",
        )
        .await;
    assert_eq!(res.0, StatusCode::BAD_REQUEST);
    assert_eq!(app.count("extensions").await, 0);
}

#[tokio::test]
async fn the_same_extension_twice_is_a_409() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.post("/v1/extension/create", json!({"extension": "1001"}))
            .await
            .0,
        StatusCode::OK
    );
    let (status, body) = app
        .post("/v1/extension/create", json!({"extension": "1001"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["code"], 40900);
    assert!(body["message"].as_str().unwrap().contains("1001"));
    // The same number in another domain is another extension.
    let (status, _) = app
        .post(
            "/v1/extension/create",
            json!({"extension": "1001", "domain": "b.example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn update_is_partial() {
    let app = TestApp::spawn().await;
    app.post(
        "/v1/extension/create",
        json!({"extension": "1001", "password": "pw-123456", "display_name": "A"}),
    )
    .await;
    let (status, body) = app
        .post(
            "/v1/extension/update",
            json!({"extension": "1001", "enabled": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["enabled"], false);
    assert_eq!(
        body["data"]["display_name"], "A",
        "left-out fields keep their values"
    );
    assert_eq!(body["data"]["password_set"], true);
    let (_, body) = app
        .post(
            "/v1/extension/update",
            json!({"extension": "1001", "password": ""}),
        )
        .await;
    assert_eq!(
        body["data"]["password_set"], false,
        "an empty string clears the password"
    );
}

#[tokio::test]
async fn a_rejected_update_changes_nothing() {
    let app = TestApp::spawn().await;
    app.post(
        "/v1/extension/create",
        json!({"extension": "1001", "display_name": "Before"}),
    )
    .await;
    let res = app
        .post(
            "/v1/extension/update",
            json!({"extension": "1001", "enabled": false, "display_name": "x\"y"}),
        )
        .await;
    assert_invalid(&res, "display_name");
    let (_, d) = app.get("/v1/extension/detail?extension=1001").await;
    assert_eq!(d["data"]["display_name"], "Before");
    assert_eq!(d["data"]["enabled"], true);
}

#[tokio::test]
async fn missing_extensions_are_404() {
    let app = TestApp::spawn().await;
    for res in [
        app.get("/v1/extension/detail?extension=4040").await,
        app.post(
            "/v1/extension/update",
            json!({"extension": "4040", "enabled": true}),
        )
        .await,
        app.post("/v1/extension/delete", json!({"extension": "4040"}))
            .await,
    ] {
        assert_eq!(res.0, StatusCode::NOT_FOUND, "{}", res.1);
        assert_eq!(res.1["code"], 40400);
        assert!(res.1["message"].as_str().unwrap().contains("4040"));
    }
    assert_invalid(&app.get("/v1/extension/detail").await, "extension");
    assert_invalid(
        &app.get("/v1/extension/detail?extension=a%7Cb").await,
        "extension",
    );
}

#[tokio::test]
async fn delete_removes_the_extension() {
    let app = TestApp::spawn().await;
    app.post("/v1/extension/create", json!({"extension": "1001"}))
        .await;
    let (status, _) = app
        .post("/v1/extension/delete", json!({"extension": "1001"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.count("extensions").await, 0);
    assert_eq!(
        app.get("/v1/extension/detail?extension=1001").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn lists_are_paged_and_page_size_is_capped() {
    let app = TestApp::spawn().await;
    for n in 1000..1005 {
        app.post("/v1/extension/create", json!({"extension": n.to_string()}))
            .await;
    }
    let (_, p2) = app.get("/v1/extension/list?page=2&size=2").await;
    assert_eq!(p2["data"]["total"], 5);
    assert_eq!(
        (p2["data"]["page"].as_u64(), p2["data"]["size"].as_u64()),
        (Some(2), Some(2))
    );
    let numbers: Vec<&str> = p2["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["extension"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["1002", "1003"]);
    assert_invalid(&app.get("/v1/extension/list?size=501").await, "size");
    assert_invalid(&app.get("/v1/extension/list?page=0").await, "page");
    assert_invalid(&app.get("/v1/extension/list?size=ten").await, "size");
    assert_invalid(&app.get("/v1/extension/list?sort=desc").await, "sort");
    let (_, disabled) = app.get("/v1/extension/list?enabled=false").await;
    assert_eq!(disabled["data"]["total"], 0);
}
