//! The hostile inputs of `POST /fsapi/upload_audio`: uuids, the form's
//! shape, tokens, empty and duplicate files, resets and stalls mid-body, the size cap and the
//! `/fsapi` allow-list. Each leaves nothing behind when it is refused.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::recordings::{
    Dir, file_form, files_under, local_app, raw_http, row, token, upload, upload_for, use_dir, wav,
};

/// Multipart framing around a file part, as curl sends it.
fn multipart_head(boundary: &str) -> String {
    format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"r.wav\"\r\nContent-Type: audio/wav\r\n\r\n"
    )
}

#[tokio::test]
async fn hostile_uuids_are_rejected_and_case_and_a_prefix_are_normalised() {
    let dir = Dir::new();
    let app = local_app(&dir).await;
    let u = Uuid::new_v4();
    let t = token(&u);
    for q in [
        format!("uuid=../../etc/passwd&token={t}"),
        format!("uuid={u}%20&token={t}"),
        format!("uuid=%20{u}&token={t}"),
        format!("uuid={u}&uuid={u}&token={t}"),
        format!("uuid={}&token={t}", u.simple()),
        format!("uuid=a_a_{u}&token={t}"),
        format!("token={t}"),
    ] {
        let res = upload(&app, &q, file_form(wav(1, 10))).await;
        assert_eq!(res.0, StatusCode::BAD_REQUEST, "{q}: {}", res.1);
        assert!(
            res.1["message"].as_str().unwrap().contains("uuid"),
            "{}",
            res.1
        );
    }
    assert!(files_under(&dir.join("rec")).is_empty());

    let upper = u.to_string().to_uppercase();
    let (status, body) = upload(
        &app,
        &format!("uuid={upper}&token={t}"),
        file_form(wav(1, 10)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["call_uuid"], u.to_string());
    let (status, body) = upload(
        &app,
        &format!("uuid=a_{u}&token={t}"),
        file_form(wav(1, 10)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"]["status"], "duplicate",
        "same call, same content"
    );
}

#[tokio::test]
async fn the_form_must_carry_exactly_one_file_part_named_files() {
    let dir = Dir::new();
    let app = local_app(&dir).await;
    let u = Uuid::new_v4();
    let q = format!("uuid={u}&token={}", token(&u));
    let part = || Part::bytes(wav(1, 10)).file_name("r.wav");
    let cases = [
        ("wrong name", Form::new().part("file", part())),
        (
            "two files",
            Form::new().part("files", part()).part("files", part()),
        ),
        (
            "files and another file",
            Form::new().part("files", part()).part("other", part()),
        ),
        ("no file", Form::new().text("call", "x")),
    ];
    for (what, form) in cases {
        let res = upload(&app, &q, form).await;
        assert_eq!(res.0, StatusCode::BAD_REQUEST, "{what}: {}", res.1);
        assert!(
            res.1["message"].as_str().unwrap().contains("files"),
            "{what}: {}",
            res.1
        );
    }
    let not_multipart = app
        .post_raw(&format!("/fsapi/upload_audio?{q}"), "audio/wav", wav(1, 10))
        .await;
    assert_eq!(not_multipart.0, StatusCode::BAD_REQUEST);
    assert!(row(&app, &u).await.is_none());
    assert!(
        files_under(&dir.0).is_empty(),
        "nothing stored, no temp file left"
    );

    // Text fields beside the file (a hook's `-F k=v`) are fine.
    let form = Form::new().text("call", "x").part("files", part());
    assert_eq!(upload(&app, &q, form).await.0, StatusCode::OK);
}

#[tokio::test]
async fn zero_byte_recording_is_accepted_and_recorded_as_empty() {
    let dir = Dir::new();
    let app = local_app(&dir).await;
    let u = Uuid::new_v4();

    let (status, body) = upload_for(&app, &u, Vec::new()).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["status"], "empty");
    assert_eq!(body["data"]["size"], 0);
    let r = row(&app, &u).await.unwrap();
    assert_eq!((r.status.as_str(), r.size), ("empty", 0));
    assert!(!r.is_available());
    assert!(
        files_under(&dir.0).is_empty(),
        "nothing stored for an empty file"
    );
    let again = upload_for(&app, &u, Vec::new()).await;
    assert_eq!(
        (again.0, again.1["data"]["status"].as_str()),
        (StatusCode::OK, Some("duplicate"))
    );
}

#[tokio::test]
async fn a_repeated_upload_changes_nothing_and_different_content_keeps_the_first() {
    let dir = Dir::new();
    let app = local_app(&dir).await;
    let u = Uuid::new_v4();
    let first = wav(5, 500);
    assert_eq!(upload_for(&app, &u, first.clone()).await.0, StatusCode::OK);

    let (status, body) = upload_for(&app, &u, first.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["status"], "duplicate");

    let (status, body) = upload_for(&app, &u, wav(7, 500)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    assert_eq!(app.count("recordings").await, 1);
    let stored = files_under(&dir.join("rec"));
    assert_eq!(stored.len(), 1);
    assert_eq!(std::fs::read(&stored[0]).unwrap(), first);
    assert!(files_under(&dir.join("spool")).is_empty());
}

#[tokio::test]
async fn wrong_missing_or_foreign_tokens_are_unauthorized() {
    let dir = Dir::new();
    let app = local_app(&dir).await;
    let u = Uuid::new_v4();
    let other = Uuid::new_v4();
    let wrong_secret = callplane::tokens::upload_token("another-secret-0123456789", &u);
    for q in [
        format!("uuid={u}"),
        format!("uuid={u}&token="),
        format!("uuid={u}&token=deadbeef"),
        format!("uuid={u}&token={}", token(&other)),
        format!("uuid={u}&token={wrong_secret}"),
    ] {
        let res = upload(&app, &q, file_form(wav(1, 10))).await;
        assert_eq!(res.0, StatusCode::UNAUTHORIZED, "{q}: {}", res.1);
    }
    assert_eq!(app.count("recordings").await, 0);
    assert!(files_under(&dir.0).is_empty());
}

#[tokio::test]
async fn a_connection_reset_mid_body_leaves_no_object_row_or_temp_file() {
    let dir = Dir::new();
    let app = local_app(&dir).await;
    let u = Uuid::new_v4();
    let b = "XyZbOuNdArY";
    let mut body = multipart_head(b).into_bytes();
    body.extend_from_slice(&wav(2, 20_000)[..30_000]);
    let head = format!(
        "POST /fsapi/upload_audio?uuid={u}&token={} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary={b}\r\nContent-Length: 200000\r\n\r\n",
        token(&u)
    );
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&body).await.unwrap();
    // Wait until the server has started writing the temp file, then vanish.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while files_under(&dir.join("spool/incoming")).is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "upload never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(s);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !files_under(&dir.0).is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "left behind: {:?}",
            files_under(&dir.0)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(row(&app, &u).await.is_none());
    // The same call can still upload afterwards.
    assert_eq!(upload_for(&app, &u, wav(2, 100)).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_stalled_upload_times_out_and_leaves_nothing() {
    let dir = Dir::new();
    let app = TestApp::spawn_with(|c| {
        use_dir(c, &dir);
        c.storage.upload_read_timeout_secs = 1;
    })
    .await;
    let u = Uuid::new_v4();
    let b = "StAlL";
    let mut req = format!(
        "POST /fsapi/upload_audio?uuid={u}&token={} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary={b}\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n",
        token(&u)
    )
    .into_bytes();
    req.extend_from_slice(multipart_head(b).as_bytes());
    req.extend_from_slice(&wav(1, 100));

    let res = raw_http(&app, &req).await;

    assert!(res.starts_with("HTTP/1.1 408"), "{res}");
    assert!(row(&app, &u).await.is_none());
    assert!(files_under(&dir.0).is_empty());
}

#[tokio::test]
async fn uploads_over_the_size_cap_are_refused_with_413() {
    let dir = Dir::new();
    let app = TestApp::spawn_with(|c| {
        use_dir(c, &dir);
        c.storage.max_upload_bytes = 1000;
    })
    .await;
    let u = Uuid::new_v4();
    assert_eq!(upload_for(&app, &u, wav(1, 400)).await.0, StatusCode::OK);
    let v = Uuid::new_v4();
    // Just over the cap: counted while reading.
    let q = format!("uuid={v}&token={}", token(&v));
    let res = upload(&app, &q, file_form(wav(1, 600))).await;
    assert_eq!(res.0, StatusCode::PAYLOAD_TOO_LARGE, "{}", res.1);
    // Declared too large: refused before reading.
    let res = upload(&app, &q, file_form(vec![0u8; 200_000])).await;
    assert_eq!(res.0, StatusCode::PAYLOAD_TOO_LARGE, "{}", res.1);
    assert!(row(&app, &v).await.is_none());
    assert_eq!(files_under(&dir.0).len(), 1, "only the first recording");
}

#[tokio::test]
async fn the_fsapi_allow_list_applies_to_uploads() {
    let dir = Dir::new();
    let app = TestApp::spawn_with(|c| {
        use_dir(c, &dir);
        c.fsapi.allow = vec!["10.0.0.0/8".into()];
    })
    .await;
    let u = Uuid::new_v4();
    // Refused by the shared /fsapi access layer, which answers FreeSWITCH's "not found" document.
    let q = format!("uuid={u}&token={}", token(&u));
    let res = app
        .client
        .post(app.url(&format!("/fsapi/upload_audio?{q}")))
        .multipart(file_form(wav(1, 10)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(row(&app, &u).await.is_none());
    let open = TestApp::spawn_with(|c| {
        use_dir(c, &dir);
        c.fsapi.allow = vec!["127.0.0.0/8".into()];
    })
    .await;
    assert_eq!(upload_for(&open, &u, wav(1, 10)).await.0, StatusCode::OK);
}
