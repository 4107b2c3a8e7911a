//! `/docs`: Swagger UI for `/openapi.json`, served from the binary without an API key.

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;

use crate::helpers::TestApp;

/// An app that requires an API key on `/v1`, so the checks below show `/docs` needs none.
async fn keyed_app() -> TestApp {
    TestApp::spawn_with(|c| {
        c.api.keys = vec![callplane::config::Secret::new("docs-test-key-0123456789")];
    })
    .await
}

async fn fetch(app: &TestApp, path: &str) -> (StatusCode, String, String) {
    let res = app.client.get(app.url(path)).send().await.unwrap();
    let status = res.status();
    let ctype = res
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ctype, res.text().await.unwrap())
}

#[tokio::test]
async fn docs_serves_the_swagger_ui_page_without_an_api_key() {
    let app = keyed_app().await;
    let (status, ctype, body) = fetch(&app, "/docs/").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(body.contains("swagger-ui-bundle.js"), "{body}");
    // The page is configured with our document, not the Swagger petstore.
    let (status, _, init) = fetch(&app, "/docs/swagger-initializer.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(init.contains("/openapi.json"), "{init}");
    assert!(!init.contains("petstore"), "{init}");
    // /docs without the slash leads to the page.
    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = no_follow.get(app.url("/docs")).send().await.unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(res.headers()["location"], "/docs/");
    // /v1 still wants the key.
    let (status, _, _) = fetch(&app, "/v1/extension/list").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn docs_serves_the_swagger_ui_bundle_from_the_binary() {
    let app = keyed_app().await;
    let (status, ctype, js) = fetch(&app, "/docs/swagger-ui-bundle.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.contains("javascript"), "{ctype}");
    assert!(
        js.contains("SwaggerUIBundle"),
        "the Swagger UI bundle itself"
    );
    assert!(js.len() > 100_000, "the whole bundle: {} bytes", js.len());
    let (status, ctype, _) = fetch(&app, "/docs/swagger-ui.css").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("text/css"), "{ctype}");
    // The document the page loads is there too, without a key.
    let (status, _, doc) = fetch(&app, "/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc.contains("/v1/call/callback"));
}
