//! Several files for one call's recording (`POST /fsapi/upload_audio`): the longest wins in any
//! order. A header-only WAV (a leg that answered without audio) is kept as `header_only` and
//! never replaces, nor outlives, the real recording; retries of either are idempotent; uploads
//! racing each other end with the longest stored, whole, under one key.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::recordings::{Dir, files_under, local_app, row, upload_for, wav};

/// What FreeSWITCH leaves when a recording starts and no audio follows: 44 bytes.
fn header_only() -> Vec<u8> {
    let h = wav(1, 0);
    assert_eq!(h.len(), 44);
    h
}

/// The stored object of the call (exactly one is expected).
fn stored_bytes(dir: &Dir) -> Vec<u8> {
    let files = files_under(&dir.join("rec"));
    assert_eq!(files.len(), 1, "{files:?}");
    std::fs::read(&files[0]).unwrap()
}

/// Posts as the hook's curl does: a 503 is tried again, two seconds apart in real life.
async fn upload_like_curl(app: &TestApp, u: &Uuid, bytes: Vec<u8>) -> (StatusCode, Value) {
    for _ in 0..50 {
        let res = upload_for(app, u, bytes.clone()).await;
        if res.0 != StatusCode::SERVICE_UNAVAILABLE {
            return res;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("still 503 after 50 tries");
}

#[tokio::test]
async fn a_header_only_file_after_the_full_recording_is_accepted_and_dropped() {
    let dir = Dir::new();
    let app = local_app(&dir).await;
    let u = Uuid::new_v4();
    let full = wav(3, 4000);
    assert_eq!(upload_for(&app, &u, full.clone()).await.0, StatusCode::OK);

    let (status, body) = upload_for(&app, &u, header_only()).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["status"], "kept_longer");
    let r = row(&app, &u).await.unwrap();
    assert_eq!((r.status.as_str(), r.size), ("stored", full.len() as i64));
    assert!(r.is_available());
    assert_eq!(stored_bytes(&dir), full);
    // An empty file afterwards changes nothing either.
    let (status, body) = upload_for(&app, &u, Vec::new()).await;
    assert_eq!(
        (status, body["data"]["status"].as_str()),
        (StatusCode::OK, Some("kept_longer"))
    );
    assert_eq!(stored_bytes(&dir), full);
}

#[tokio::test]
async fn the_full_recording_replaces_a_header_only_file_that_came_first() {
    let dir = Dir::new();
    let app = local_app(&dir).await;
    let u = Uuid::new_v4();

    let (status, body) = upload_for(&app, &u, header_only()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["status"], "header_only");
    let r = row(&app, &u).await.unwrap();
    assert_eq!((r.status.as_str(), r.size), ("header_only", 44));
    assert!(!r.is_available(), "a header is not the call's recording");
    // The switch retries the same header: a duplicate.
    let (status, body) = upload_for(&app, &u, header_only()).await;
    assert_eq!(
        (status, body["data"]["status"].as_str()),
        (StatusCode::OK, Some("duplicate"))
    );

    let full = wav(9, 96_000);
    let (status, body) = upload_for(&app, &u, full.clone()).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["status"], "stored");
    let r = row(&app, &u).await.unwrap();
    assert_eq!((r.status.as_str(), r.size), ("stored", full.len() as i64));
    assert_eq!(stored_bytes(&dir), full);
    assert_eq!(app.count("recordings").await, 1);
    // A retry of the full one is a duplicate, and the header arriving late again is dropped.
    let again = upload_for(&app, &u, full.clone()).await;
    assert_eq!(again.1["data"]["status"], "duplicate");
    let late = upload_for(&app, &u, header_only()).await;
    assert_eq!(late.1["data"]["status"], "kept_longer");
    assert_eq!(stored_bytes(&dir), full);
    assert!(files_under(&dir.join("spool")).is_empty());
}

#[tokio::test]
async fn a_longer_recording_replaces_a_shorter_stored_one_and_never_the_reverse() {
    let dir = Dir::new();
    let app = local_app(&dir).await;
    let u = Uuid::new_v4();
    let short = wav(4, 100);
    let long = wav(4, 5000);

    assert_eq!(
        upload_for(&app, &u, short.clone()).await.1["data"]["status"],
        "stored"
    );
    assert_eq!(
        upload_for(&app, &u, long.clone()).await.1["data"]["status"],
        "stored"
    );
    assert_eq!(stored_bytes(&dir), long);
    assert_eq!(
        upload_for(&app, &u, short).await.1["data"]["status"],
        "kept_longer"
    );
    assert_eq!(stored_bytes(&dir), long);
    let r = row(&app, &u).await.unwrap();
    assert_eq!((r.status.as_str(), r.size), ("stored", long.len() as i64));
}

#[tokio::test]
async fn an_empty_file_first_is_replaced_by_the_recording() {
    let dir = Dir::new();
    let app = local_app(&dir).await;
    let u = Uuid::new_v4();
    assert_eq!(
        upload_for(&app, &u, Vec::new()).await.1["data"]["status"],
        "empty"
    );
    let full = wav(2, 800);
    let (status, body) = upload_for(&app, &u, full.clone()).await;
    assert_eq!(
        (status, body["data"]["status"].as_str()),
        (StatusCode::OK, Some("stored"))
    );
    assert_eq!(stored_bytes(&dir), full);
}

#[tokio::test]
async fn racing_uploads_of_a_header_and_the_recording_end_with_the_recording() {
    let dir = Dir::new();
    let app = local_app(&dir).await;
    for round in 0..8u8 {
        let u = Uuid::new_v4();
        let full = wav(round + 1, 48_000);
        let (a, b, c) = tokio::join!(
            upload_like_curl(&app, &u, header_only()),
            upload_like_curl(&app, &u, full.clone()),
            upload_like_curl(&app, &u, full.clone()),
        );
        for (status, body) in [&a, &b, &c] {
            assert_eq!(*status, StatusCode::OK, "round {round}: {body}");
        }
        let r = row(&app, &u).await.unwrap();
        assert_eq!(
            (r.status.as_str(), r.size),
            ("stored", full.len() as i64),
            "round {round}"
        );
        let key = dir.join("rec").join(&r.storage_key);
        assert_eq!(std::fs::read(key).unwrap(), full, "round {round}");
    }
    assert_eq!(app.count("recordings").await, 8);
}
