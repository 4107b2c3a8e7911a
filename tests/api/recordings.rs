//! Recording uploads (`POST /fsapi/upload_audio`) to the local directory backend, the signed
//! URLs that serve them, and the hostile inputs of the upload (uuid, form shape, token, size,
//! stalls, resets, duplicates), plus an upload made by fsim from an originate's hangup hook.

use std::path::{Path, PathBuf};
use std::time::Duration;

use callplane::config::{Config, Secret};
use callplane::storage::{RecordingKey, Settings, Storage};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use crate::helpers::{TestApp, read};

pub const SECRET: &str = "recordings-test-secret-0123456789";

/// A directory removed when the test ends.
pub struct Dir(pub PathBuf);

impl Dir {
    pub fn new() -> Dir {
        let p = std::env::temp_dir().join(format!("callplane-rec-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
    pub fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Points the test app's storage (and spool) into `dir` and fixes the server secret.
pub fn use_dir(c: &mut Config, dir: &Dir) {
    c.secret = Some(Secret::new(SECRET));
    c.storage.url = format!("file://{}", dir.join("rec").display());
    c.storage.spool_dir = dir.join("spool").display().to_string();
}

async fn local_app(dir: &Dir) -> TestApp {
    TestApp::spawn_with(|c| use_dir(c, dir)).await
}

/// A storage handle on the same directories as the app, as the webhook code would hold one.
pub async fn storage_like(app: &TestApp, c: &Config) -> Storage {
    Storage::open(Settings {
        url: c.storage.url.clone(),
        path_style: c.storage.path_style,
        endpoint: c.storage.endpoint.clone(),
        region: c.storage.region.clone(),
        access_key_id: c.storage.access_key_id.clone(),
        secret_access_key: c
            .storage
            .secret_access_key
            .as_ref()
            .map(|s| s.expose().to_string()),
        spool_dir: c.storage.spool_dir.clone().into(),
        spool_max_bytes: c.storage.spool_max_bytes,
        spool_retry: Duration::from_secs(3600),
        public_url: app.url(""),
        secret: SECRET.into(),
    })
    .await
    .unwrap()
}

/// A small WAV file whose samples depend on `seed`.
pub fn wav(seed: u8, samples: usize) -> Vec<u8> {
    let data_len = (samples * 2) as u32;
    let mut w = Vec::new();
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + data_len).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&[
        16, 0, 0, 0, 1, 0, 1, 0, 0x40, 0x1f, 0, 0, 0x80, 0x3e, 0, 0, 2, 0,
    ]);
    w.extend_from_slice(&[16, 0]);
    w.extend_from_slice(b"data");
    w.extend_from_slice(&data_len.to_le_bytes());
    w.extend((0..samples * 2).map(|i| (i as u8).wrapping_mul(seed)));
    w
}

pub fn token(u: &Uuid) -> String {
    callplane::tokens::upload_token(SECRET, u)
}

pub fn file_form(bytes: Vec<u8>) -> Form {
    Form::new().part("files", Part::bytes(bytes).file_name("rec.wav"))
}

pub async fn upload(app: &TestApp, query: &str, form: Form) -> (StatusCode, Value) {
    let url = app.url(&format!("/fsapi/upload_audio?{query}"));
    read(app.client.post(url).multipart(form).send().await.unwrap()).await
}

pub async fn upload_for(app: &TestApp, u: &Uuid, bytes: Vec<u8>) -> (StatusCode, Value) {
    let q = format!("uuid={u}&token={}", token(u));
    upload(app, &q, file_form(bytes)).await
}

async fn row(app: &TestApp, u: &Uuid) -> Option<callplane::store::recordings::Recording> {
    callplane::store::recordings::by_call_uuid(&app.pool, *u)
        .await
        .unwrap()
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Sends raw bytes and returns the whole response text (or what arrived before the close).
async fn raw_http(app: &TestApp, request: &[u8]) -> String {
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn upload_is_stored_by_date_and_uuid_and_its_signed_url_downloads_the_bytes() {
    let dir = Dir::new();
    let app = local_app(&dir).await;
    let u = Uuid::new_v4();
    let bytes = wav(3, 4000);

    let (status, body) = upload_for(&app, &u, bytes.clone()).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    let key = body["data"]["storage_key"].as_str().unwrap().to_string();
    let today = chrono::Utc::now().format("%Y/%m/%d").to_string();
    assert_eq!(key, format!("{today}/{u}.wav"));
    assert_eq!(body["data"]["status"], "stored");
    assert_eq!(body["data"]["size"], bytes.len());
    assert_eq!(std::fs::read(dir.join("rec").join(&key)).unwrap(), bytes);
    let r = row(&app, &u).await.expect("a recordings row");
    assert_eq!((r.status.as_str(), r.format.as_str()), ("stored", "wav"));
    assert_eq!(r.content_type, "audio/wav");
    assert_eq!(r.size, bytes.len() as i64);
    assert!(
        files_under(&dir.join("spool")).is_empty(),
        "no temp file left"
    );

    let mut cfg = Config::default();
    use_dir(&mut cfg, &dir);
    let storage = storage_like(&app, &cfg).await;
    let key = RecordingKey::parse(&r.storage_key).unwrap();
    let url = storage
        .recording_url(&key, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        url.starts_with(&app.url(&format!("/recordings/{key}?expires="))),
        "{url}"
    );
    let res = reqwest::get(&url).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "audio/wav");
    assert_eq!(res.bytes().await.unwrap().to_vec(), bytes);
}

#[tokio::test]
async fn expired_tampered_and_unsigned_links_are_forbidden() {
    let dir = Dir::new();
    let app = local_app(&dir).await;
    let u = Uuid::new_v4();
    assert_eq!(upload_for(&app, &u, wav(1, 100)).await.0, StatusCode::OK);
    let mut cfg = Config::default();
    use_dir(&mut cfg, &dir);
    let storage = storage_like(&app, &cfg).await;
    let r = row(&app, &u).await.unwrap();
    let key = RecordingKey::parse(&r.storage_key).unwrap();
    let good = storage
        .recording_url(&key, Duration::from_secs(60))
        .await
        .unwrap();
    let status = |url: String| async move { reqwest::get(url).await.unwrap().status() };
    assert_eq!(status(good.clone()).await, StatusCode::OK);

    let expired = storage
        .recording_url(&key, Duration::from_secs(0))
        .await
        .unwrap();
    assert_eq!(status(expired).await, StatusCode::FORBIDDEN);
    let (base, sig) = good.rsplit_once("&sig=").unwrap();
    let flipped = if sig.starts_with('0') { "1" } else { "0" };
    let tampered_sig = format!("{base}&sig={flipped}{}", &sig[1..]);
    assert_eq!(status(tampered_sig).await, StatusCode::FORBIDDEN);
    let exp: i64 = base.rsplit_once("expires=").unwrap().1.parse().unwrap();
    let later = good.replace(
        &format!("expires={exp}"),
        &format!("expires={}", exp + 3600),
    );
    assert_eq!(
        status(later).await,
        StatusCode::FORBIDDEN,
        "expiry is signed"
    );
    let other = good.replace(&u.to_string(), &Uuid::new_v4().to_string());
    assert_eq!(status(other).await, StatusCode::FORBIDDEN, "key is signed");
    assert_eq!(
        status(app.url(&format!("/recordings/{key}"))).await,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn recording_paths_cannot_reach_outside_the_recordings_tree() {
    let dir = Dir::new();
    let app = local_app(&dir).await;
    std::fs::write(dir.join("secret.txt"), "top secret").unwrap();
    let secret = callplane::tokens::sign(SECRET, "recording", "../secret.txt\n99999999999");
    for path in [
        format!("/recordings/../secret.txt?expires=99999999999&sig={secret}"),
        format!("/recordings/%2e%2e/secret.txt?expires=99999999999&sig={secret}"),
        format!("/recordings/..%2fsecret.txt?expires=99999999999&sig={secret}"),
        "/recordings/../../../../etc/passwd".to_string(),
    ] {
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let res = raw_http(&app, req.as_bytes()).await;
        assert!(
            res.starts_with("HTTP/1.1 403") || res.starts_with("HTTP/1.1 404"),
            "{path}: {res}"
        );
        assert!(
            !res.contains("top secret") && !res.contains("root:"),
            "{res}"
        );
    }
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

/// Multipart framing around a file part, as curl sends it.
fn multipart_head(boundary: &str) -> String {
    format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"r.wav\"\r\nContent-Type: audio/wav\r\n\r\n"
    )
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
    let res = upload_for(&app, &u, wav(1, 10)).await;
    assert_eq!(res.0, StatusCode::FORBIDDEN, "{}", res.1);
    let open = TestApp::spawn_with(|c| {
        use_dir(c, &dir);
        c.fsapi.allow = vec!["127.0.0.0/8".into()];
    })
    .await;
    assert_eq!(upload_for(&open, &u, wav(1, 10)).await.0, StatusCode::OK);
}

/// Minimal ESL client: authenticates and sends one command.
async fn esl_send(addr: std::net::SocketAddr, command: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let mut got = String::new();
    for (send, want) in [
        (None, "auth/request"),
        (Some("auth ClueCon\n\n".to_string()), "+OK accepted"),
        (Some(format!("{command}\n\n")), "+OK"),
    ] {
        if let Some(cmd) = send {
            s.write_all(cmd.as_bytes()).await.unwrap();
        }
        got.clear();
        while !got.contains(want) {
            let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
                .await
                .unwrap()
                .unwrap();
            assert!(n > 0, "fsim closed the connection: {got}");
            got.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }
    got
}

#[tokio::test]
async fn fsim_uploads_a_recording_from_an_originate_hangup_hook() {
    let dir = Dir::new();
    let app = local_app(&dir).await;
    let sim = fsim::Sim::start_local(fsim::SimConfig {
        gateways: vec![fsim::GatewayConfig {
            name: "gw1".into(),
            ..Default::default()
        }],
        default_outcome: fsim::OutcomeRule {
            ring_ms: 10,
            talk_ms: 50,
            ..Default::default()
        },
        ..fsim::SimConfig::default()
    })
    .await
    .unwrap();
    let u = Uuid::new_v4();
    let url = app.url(&format!("/fsapi/upload_audio?uuid={u}&token={}", token(&u)));
    let hook = format!("system curl -XPOST -F \"files=@/var/spool/rec/{u}.wav\" {url}");
    esl_send(
        sim.addr(),
        &format!("bgapi originate {{origination_uuid={u},api_hangup_hook='{hook}'}}sofia/gateway/gw1/13800000000 &park()"),
    )
    .await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let r = loop {
        if let Some(r) = row(&app, &u).await.filter(|r| r.status == "stored") {
            break r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no recording arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(r.format, "wav");
    assert_eq!(r.file_name.as_deref(), Some(format!("{u}.wav").as_str()));
    let stored = std::fs::read(dir.join("rec").join(&r.storage_key)).unwrap();
    assert_eq!(&stored[8..12], b"WAVE");
    assert_eq!(stored.len() as i64, r.size);
}
