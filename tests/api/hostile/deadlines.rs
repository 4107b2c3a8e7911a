//! FreeSWITCH waits a bounded time for `/fsapi` (the `timeout` of mod_xml_curl and
//! mod_xml_cdr): with the database stuck behind a lock, callplane answers before it, from
//! memory or with an answer that makes the switch try again, never after it gave up.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::cdr::{fixture, post_cdr};
use crate::fsdoc::{ask, create_extension, fixture_bodies, is_not_found};
use crate::helpers::TestApp;

/// Holds an exclusive lock on `table` until the returned transaction is dropped.
async fn lock(app: &TestApp, table: &str) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"
    )))
    .execute(&mut *tx)
    .await
    .unwrap();
    tx
}

#[tokio::test]
async fn hostile_locked_directory_is_answered_before_freeswitch_gives_up() {
    // FreeSWITCH waits 1 s; callplane's deadline is 750 ms.
    let app = TestApp::spawn_with(|c| c.fsapi.xml_curl_timeout_ms = 1000).await;
    create_extension(&app, json!({"extension": "1000", "password": "pw-1000"})).await;
    let held = lock(&app, "extensions").await;
    let body = fixture_bodies("bob1118_2021_directory_sip_auth_REGISTER_body.txt").remove(0);
    let started = Instant::now();
    let doc = ask(&app, body).await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_millis(1000),
        "answered after {took:?}, FreeSWITCH waits 1 s"
    );
    assert!(
        is_not_found(&doc),
        "a user never seen before cannot come from memory"
    );
    drop(held);
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics.contains(r#"callplane_xml_curl_deadline_reached_total{section="directory"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn hostile_a_cdr_the_database_cannot_take_in_time_gets_503_then_is_stored_once() {
    let app = TestApp::spawn_with(|c| c.fsapi.cdr_timeout_ms = 1000).await;
    let doc = fixture("fsdocs_2014_xml_cdr_inbound_unanswered_billsec0.cdr.xml");
    let held = lock(&app, "cdrs").await;
    let started = Instant::now();
    let status = post_cdr(&app, "", "text/xml", doc.clone()).await;
    let took = started.elapsed();
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "FreeSWITCH posts it again"
    );
    assert!(
        took < Duration::from_millis(1000),
        "answered after {took:?}"
    );
    drop(held);
    // mod_xml_cdr's retry is stored, once.
    assert_eq!(
        post_cdr(&app, "", "text/xml", doc.clone()).await,
        StatusCode::OK
    );
    assert_eq!(post_cdr(&app, "", "text/xml", doc).await, StatusCode::OK);
    assert_eq!(app.count("cdrs").await, 1);
}
