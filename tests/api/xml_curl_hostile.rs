//! `POST /fsapi/xml_curl` under hostile input: odd requests (X2, X4, X11), stored values that
//! carry markup (X5, X7), answer size (X8) and a database outage (X10: last-known-good users
//! for the directory, a 503 for calls).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::fsdoc::{ask, create_extension, fixture_bodies, is_not_found, post_body};
use crate::helpers::TestApp;

fn register_for(user: &str) -> String {
    let body = fixture_bodies("bob1118_2021_directory_sip_auth_REGISTER_body.txt").remove(0);
    let encoded: String = form_urlencoded::byte_serialize(user.as_bytes()).collect();
    body.replace("&user=1000&", &format!("&user={encoded}&"))
}

#[tokio::test]
async fn hostile_user_names_are_not_found() {
    let app = TestApp::spawn().await;
    create_extension(&app, json!({"extension": "1000", "password": "pw-1000"})).await;
    let long = "1".repeat(10 * 1024);
    for user in [
        "1000' OR '1'='1",
        "1000'; DROP TABLE extensions; --",
        "1000\0",
        "\0",
        long.as_str(),
        "１０００",     // full-width digits
        "1000\u{200b}", // zero-width space
        "l000",         // letter l for digit 1
        "1000 ",
        "%",
        "${system(id)}",
    ] {
        let doc = ask(&app, register_for(user)).await;
        assert!(is_not_found(&doc), "{user:?}");
    }
    // Raw encodings a form decoder must survive: a literal NUL escape, invalid UTF-8, broken
    // percent escapes, duplicates (the first value counts).
    for body in [
        "section=directory&action=sip_auth&user=1000%00&domain=10.10.10.25",
        "section=directory&action=sip_auth&user=%FF%FE&domain=10.10.10.25",
        "section=directory&action=sip_auth&user=%ZZ1000&domain=10.10.10.25",
        "section=directory&action=sip_auth&user=x&user=1000&domain=10.10.10.25",
        "section=directory&action=sip_auth&user=1000&domain=10.10.10.25%0d%0a",
    ] {
        assert!(is_not_found(&ask(&app, body).await), "{body}");
    }
    let dup = "section=directory&action=sip_auth&user=1000&user=x&domain=10.10.10.25&domain=y";
    assert!(!is_not_found(&ask(&app, dup).await), "first value counts");
    assert_eq!(app.count("extensions").await, 1, "nothing injected");
}

#[tokio::test]
async fn stored_markup_is_escaped_and_inert_to_the_preprocessor() {
    let app = TestApp::spawn().await;
    // Written straight to the table: the API refuses these characters, the escape is the
    // second fence.
    let nasty = r#"O'Brien "<&>" <X-PRE-PROCESS cmd="exec" data="id"/> <!--#exec:id--> $${x} x-pre-process"#;
    sqlx::query("INSERT INTO extensions (extension, password, display_name) VALUES ($1, $2, $3)")
        .bind("1000")
        .bind("pw-1000")
        .bind(nasty)
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, _, text) = post_body(&app, register_for("1000")).await;
    assert_eq!(status, StatusCode::OK);
    // ask() runs the pre-processor emulator over the raw text and parses strictly.
    let doc = ask(&app, register_for("1000")).await;
    let user = doc.all("user")[0];
    assert_eq!(
        user.named("variable", "effective_caller_id_name")
            .as_deref(),
        Some(nasty),
        "round-trips exactly: {text}"
    );
    assert!(text.contains("&lt;X&#45;PRE-PROCESS"), "{text}");
    assert!(!text.contains('$'), "{text}");
}

#[tokio::test]
async fn answers_hold_one_user_however_many_exist() {
    let app = TestApp::spawn().await;
    for n in 1000..1060 {
        create_extension(
            &app,
            json!({"extension": n.to_string(), "password": "pw-12345"}),
        )
        .await;
    }
    let (_, _, text) = post_body(&app, register_for("1000")).await;
    let doc = ask(&app, register_for("1000")).await;
    assert_eq!(doc.all("user").len(), 1);
    assert!(text.len() < 4096, "{} bytes", text.len());
}

#[tokio::test]
async fn an_oversized_stored_value_never_makes_an_oversized_answer() {
    let app = TestApp::spawn().await;
    sqlx::query("INSERT INTO extensions (extension, password, display_name) VALUES ($1, $2, $3)")
        .bind("1000")
        .bind("pw-1000")
        .bind("名".repeat(600_000))
        .execute(&app.pool)
        .await
        .unwrap();
    let (_, _, text) = post_body(&app, register_for("1000")).await;
    assert!(text.len() < 1024, "{} bytes", text.len());
    assert!(is_not_found(&crate::fsdoc::parse(&text)));
}

#[tokio::test]
async fn the_route_is_exact_and_never_redirects() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in [
        "/fsapi/xml_curl/",
        "/fsapi/xml_curl//",
        "/fsapi//xml_curl",
        "/fsapi/XML_CURL",
    ] {
        let res = client
            .post(app.url(path))
            .body("section=directory")
            .send()
            .await
            .unwrap();
        assert!(!res.status().is_redirection(), "{path}: {}", res.status());
        assert!(res.headers().get("location").is_none(), "{path}");
        assert_ne!(res.status(), StatusCode::OK, "{path} is not the route");
    }
    let res = client.get(app.url("/fsapi/xml_curl")).send().await.unwrap();
    assert!(!res.status().is_redirection());
    let (status, _, _) = post_body(&app, "section=directory").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_sections_are_answered_quickly() {
    let app = TestApp::spawn().await;
    let body = fixture_bodies("bob1118_2022_configuration_sofia_conf_request_body.txt").remove(0);
    ask(&app, body.clone()).await; // warm the connection
    let mut took = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        assert!(is_not_found(&ask(&app, body.clone()).await));
        took.push(t.elapsed());
    }
    took.sort();
    assert!(
        took[10] < Duration::from_millis(50),
        "median {:?}",
        took[10]
    );
}

#[tokio::test]
async fn with_the_database_down_known_users_are_served_and_calls_get_a_503() {
    let app = TestApp::spawn().await;
    for ext in ["1001", "1002"] {
        create_extension(&app, json!({"extension": ext, "password": "pw-12345"})).await;
    }
    let before = ask(&app, register_for("1001")).await;
    assert!(!is_not_found(&before));
    app.pool.close().await;
    // Last known good: the user answered before, exactly as before.
    let during = ask(&app, register_for("1001")).await;
    assert_eq!(
        during.all("user")[0].named("param", "a1-hash"),
        before.all("user")[0].named("param", "a1-hash")
    );
    assert!(
        is_not_found(&ask(&app, register_for("1002")).await),
        "never looked up"
    );
    let conf = fixture_bodies("bob1118_2022_configuration_sofia_conf_request_body.txt").remove(0);
    assert!(is_not_found(&ask(&app, conf).await), "no database needed");
    let call = crate::xml_curl_dialplan::call_from("1000", "1001", "default");
    let doc = ask(&app, call).await;
    assert!(
        !is_not_found(&doc),
        "never not-found: FreeSWITCH would use its static dialplan"
    );
    let action = doc.all("action");
    assert_eq!(action.len(), 1);
    assert_eq!(action[0].attr("application"), Some("hangup"));
    assert_eq!(action[0].attr("data"), Some("NORMAL_TEMPORARY_FAILURE"));
}

#[tokio::test]
async fn a_disabled_extension_is_not_served_from_the_outage_cache() {
    let app = TestApp::spawn().await;
    create_extension(&app, json!({"extension": "1001", "password": "pw-12345"})).await;
    assert!(!is_not_found(&ask(&app, register_for("1001")).await));
    let (status, v) = app
        .post(
            "/v1/extension/update",
            json!({"extension": "1001", "enabled": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(is_not_found(&ask(&app, register_for("1001")).await));
    app.pool.close().await;
    assert!(is_not_found(&ask(&app, register_for("1001")).await));
}
