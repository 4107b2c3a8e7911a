//! Health, readiness, metrics and the OpenAPI document.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, pg_base};

#[tokio::test]
async fn healthz_and_readyz_report_ok_with_a_database() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    assert!(body["esl"].is_array());
}

#[tokio::test]
async fn readyz_is_503_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&format!("{}/postgres", pg_base()))
            .await
            .unwrap();
        let sql = format!("DROP DATABASE \"{}\" WITH (FORCE)", app.db_name);
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut c)
            .await
            .unwrap();
    }
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["database"], "unavailable");
    // The API says the database is unavailable instead of failing obscurely.
    let (status, body) = app.get("/v1/extension/list").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], 50300);
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_show_the_pool() {
    let app = TestApp::spawn().await;
    app.get("/v1/extension/detail?extension=77").await;
    app.post(
        "/v1/gateway/create",
        json!({"name": "g1", "realm": "10.0.0.1"}),
    )
    .await;
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(r#"callplane_http_requests_total{method="GET",route="/v1/extension/detail",status="404"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"route="/v1/gateway/create",status="200"} 1"#));
    assert!(
        !text.contains("extension=77"),
        "raw URIs never become labels"
    );
    assert!(text.contains("callplane_http_request_duration_seconds_bucket"));
    assert!(text.contains("callplane_db_pool_max_connections 10"));
    assert!(text.contains("callplane_db_pool_connections "));
}

#[tokio::test]
async fn openapi_describes_every_v1_route_with_unique_operation_ids() {
    let app = TestApp::spawn().await;
    let doc: Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let expected = [
        ("/v1/extension/list", "get"),
        ("/v1/extension/detail", "get"),
        ("/v1/extension/create", "post"),
        ("/v1/extension/update", "post"),
        ("/v1/extension/delete", "post"),
        ("/v1/gateway/list", "get"),
        ("/v1/gateway/detail", "get"),
        ("/v1/gateway/detail_xml", "get"),
        ("/v1/gateway/create", "post"),
        ("/v1/gateway/update", "post"),
        ("/v1/gateway/delete", "post"),
    ];
    for (path, method) in expected {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} documented"
        );
    }
    let ids: Vec<&str> = paths
        .values()
        .flat_map(|p| p.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    assert_eq!(
        ids.len(),
        ids.iter().collect::<HashSet<_>>().len(),
        "operationIds unique: {ids:?}"
    );
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["GatewayFields"]["properties"]["blind_areas"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}
