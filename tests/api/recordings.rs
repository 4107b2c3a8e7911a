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

pub async fn local_app(dir: &Dir) -> TestApp {
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

pub async fn row(app: &TestApp, u: &Uuid) -> Option<callplane::store::recordings::Recording> {
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
pub async fn raw_http(app: &TestApp, request: &[u8]) -> String {
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
        // The hook can only send a file the call recorded (as curl on FreeSWITCH).
        &format!("bgapi originate {{origination_uuid={u},execute_on_answer='record_session:/var/spool/rec/{u}.wav',api_hangup_hook='{hook}'}}sofia/gateway/gw1/13800000000 &park()"),
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

#[test]
fn storage_settings_are_checked_by_key_and_the_s3_secret_is_redacted() {
    for (toml, key) in [
        (
            "[storage]\nmax_upload_bytes = 0\n",
            "storage.max_upload_bytes",
        ),
        ("[storage]\nurl_ttl_secs = 700000\n", "storage.url_ttl_secs"),
        ("[storage]\nspool_retry_ms = 1\n", "storage.spool_retry_ms"),
        ("[storage]\nendpoint = \"minio:9000\"\n", "storage.endpoint"),
        ("[storage]\nurl = \"s3://A_B\"\n", "storage.url"),
    ] {
        let e = Config::from_toml(toml).unwrap().validate().unwrap_err();
        assert!(e.key.contains(key), "{toml}: {e}");
    }
    let cfg = Config::from_toml(
        "[storage]\nurl = \"s3://rec/x\"\npath_style = false\nsecret_access_key = \"s3-very-secret\"\n",
    )
    .unwrap();
    cfg.validate().unwrap();
    assert!(!cfg.storage.path_style);
    assert!(!cfg.to_redacted_toml().contains("s3-very-secret"));
    assert!(!format!("{cfg:?}").contains("s3-very-secret"));
}
