//! The operator console at `/console/`: embedded files with their content types, caching and
//! a strict Content-Security-Policy, served without the API key (the data behind them is not),
//! and sources that never hand data to an HTML parser.

use std::path::Path;

use callplane::config::Secret;
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, LOCATION};

use crate::helpers::TestApp;

const KEY: &str = "console-test-key-0123456789";

async fn keyed_app() -> TestApp {
    TestApp::spawn_with(|c| c.api.keys = vec![Secret::new(KEY)]).await
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn header(res: &reqwest::Response, name: reqwest::header::HeaderName) -> &str {
    res.headers()
        .get(&name)
        .unwrap_or_else(|| panic!("{name} present"))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn the_console_page_is_served_without_a_key_under_a_strict_policy() {
    let app = keyed_app().await;
    let res = app.client.get(app.url("/console/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(header(&res, CACHE_CONTROL), "no-cache");
    let csp = header(&res, CONTENT_SECURITY_POLICY).to_string();
    assert!(csp.starts_with("default-src 'self';"), "{csp}");
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(csp.contains("object-src 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-"), "{csp}");
    // Recordings are served from the public URL, which the media policy must allow.
    assert!(
        csp.contains(&format!("media-src 'self' http://{};", app.addr)),
        "{csp}"
    );
    assert_eq!(
        header(&res, "x-content-type-options".parse().unwrap()),
        "nosniff"
    );
    let html = res.text().await.unwrap();
    // No inline script: every <script> loads a file.
    for tag in html.split("<script").skip(1) {
        let open = &tag[..tag.find('>').unwrap()];
        assert!(open.contains(" src="), "inline script in {open}");
    }
    assert!(html.contains(r#"<script type="module" src="js/main.js">"#));

    // The data behind the page still needs the key.
    let res = app
        .client
        .get(app.url("/v1/node/list"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn console_without_a_slash_redirects_and_unknown_files_are_404() {
    let app = TestApp::spawn().await;
    let client = no_redirects();
    let res = client.get(app.url("/console")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(header(&res, LOCATION), "/console/");
    for path in [
        "/console/nope.js",
        "/console/js/",
        "/console/%2e%2e/Cargo.toml",
        "/console/js/..%2f..%2fCargo.toml",
        "/console/index.html/x",
    ] {
        let res = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn every_console_file_is_embedded_with_its_content_type() {
    let app = TestApp::spawn().await;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("console");
    let mut files = vec![];
    for dir in [root.clone(), root.join("js")] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                files.push(
                    path.strip_prefix(&root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    assert!(files.len() >= 10, "{files:?}");
    for file in files {
        let res = app
            .client
            .get(app.url(&format!("/console/{file}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{file} is embedded");
        let expected = match file.rsplit('.').next().unwrap() {
            "js" => "text/javascript; charset=utf-8",
            "css" => "text/css; charset=utf-8",
            "html" => "text/html; charset=utf-8",
            "svg" => "image/svg+xml",
            other => panic!("unexpected file type {other}"),
        };
        assert_eq!(header(&res, CONTENT_TYPE), expected, "{file}");
        let on_disk = std::fs::read(root.join(&file)).unwrap();
        assert_eq!(res.bytes().await.unwrap(), on_disk, "{file} is current");
    }
}

#[tokio::test]
async fn an_unchanged_file_is_revalidated_with_its_etag() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/console/app.css"))
        .send()
        .await
        .unwrap();
    let tag = header(&res, ETAG).to_string();
    let again = app
        .client
        .get(app.url("/console/app.css"))
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.headers().contains_key(CONTENT_SECURITY_POLICY));
    let other = app
        .client
        .get(app.url("/console/app.css"))
        .header("if-none-match", "\"something-else\"")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK);
}

#[test]
fn console_scripts_never_hand_text_to_the_html_parser() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("console/js");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let src = std::fs::read_to_string(&path).unwrap();
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
            "setAttribute('style'",
        ] {
            assert!(!src.contains(sink), "{} uses {sink}", path.display());
        }
        assert!(
            src.lines().count() < 400,
            "{} is under 400 lines",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 10);
}
