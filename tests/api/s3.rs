//! Recordings in an S3 bucket, against a real S3-compatible server started in the test (s3s
//! with its file system backend, SigV4 checked): uploads land in the bucket, presigned URLs
//! download the same bytes, large files go up in parts, bad credentials and missing buckets
//! are refused at start, and uploads made while the bucket is down are spooled, then pushed.

use std::path::Path;
use std::time::Duration;

use callplane::config::{Config, Secret};
use callplane::storage::RecordingKey;
use reqwest::StatusCode;
use tokio::net::TcpListener;
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::recordings::{Dir, files_under, storage_like, upload_for, use_dir, wav};

const ACCESS_KEY: &str = "AKIDCALLPLANETEST";
const SECRET_KEY: &str = "s3-secret-key-for-the-tests-0123456789";
const BUCKET: &str = "rec";

/// Serves S3 on `listener` from `root` (each bucket a directory) until the test ends.
fn serve_s3(listener: TcpListener, root: &Path) -> tokio::task::JoinHandle<()> {
    serve_s3_at(listener, root, None)
}

/// Like [`serve_s3`]; with `domain`, virtual-hosted-style requests (`bucket.domain`) too.
fn serve_s3_at(
    listener: TcpListener,
    root: &Path,
    domain: Option<String>,
) -> tokio::task::JoinHandle<()> {
    let fs = s3s_fs::FileSystem::new(root).unwrap();
    let mut b = s3s::service::S3ServiceBuilder::new(fs);
    b.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
    if let Some(d) = domain {
        b.set_host(s3s::host::SingleDomain::new(&d).unwrap());
    }
    let service = b.build();
    tokio::spawn(async move {
        let http =
            hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let conn = http
                .serve_connection(hyper_util::rt::TokioIo::new(sock), service.clone())
                .into_owned();
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
    })
}

/// The storage settings of an app that stores into `s3://rec/calls` at `endpoint`.
fn use_s3(c: &mut Config, dir: &Dir, endpoint: &str) {
    use_dir(c, dir);
    c.storage.url = format!("s3://{BUCKET}/calls");
    c.storage.endpoint = Some(endpoint.to_string());
    c.storage.region = Some("us-east-1".into());
    c.storage.access_key_id = Some(ACCESS_KEY.into());
    c.storage.secret_access_key = Some(Secret::new(SECRET_KEY));
    c.storage.path_style = true;
}

fn s3_config(dir: &Dir, endpoint: &str) -> Config {
    let mut c = Config::default();
    use_s3(&mut c, dir, endpoint);
    c
}

struct S3 {
    endpoint: String,
    root: Dir,
    _task: tokio::task::JoinHandle<()>,
}

async fn start_s3() -> S3 {
    let root = Dir::new();
    std::fs::create_dir_all(root.join(BUCKET)).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let task = serve_s3(listener, &root.0);
    S3 {
        endpoint,
        root,
        _task: task,
    }
}

async fn stored_key(app: &TestApp, u: &Uuid) -> RecordingKey {
    let r = callplane::store::recordings::by_call_uuid(&app.pool, *u)
        .await
        .unwrap()
        .unwrap();
    RecordingKey::parse(&r.storage_key).unwrap()
}

#[tokio::test]
async fn upload_lands_in_the_bucket_and_the_presigned_url_downloads_it() {
    let s3 = start_s3().await;
    let dir = Dir::new();
    let app = TestApp::spawn_with(|c| use_s3(c, &dir, &s3.endpoint)).await;
    let u = Uuid::new_v4();
    let bytes = wav(9, 3000);

    let (status, body) = upload_for(&app, &u, bytes.clone()).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["status"], "stored");
    let key = stored_key(&app, &u).await;
    let object = s3.root.join(BUCKET).join("calls").join(key.as_str());
    assert_eq!(
        std::fs::read(&object).unwrap(),
        bytes,
        "in the bucket under the prefix"
    );
    assert!(files_under(&dir.join("spool")).is_empty());

    let storage = storage_like(&app, &s3_config(&dir, &s3.endpoint)).await;
    let url = storage
        .recording_url(&key, Duration::from_secs(120))
        .await
        .unwrap();
    // Path style: the bucket is the first path segment of the endpoint.
    assert!(
        url.starts_with(&format!("{}/{BUCKET}/calls/{key}?", s3.endpoint)),
        "{url}"
    );
    assert!(
        url.contains("X-Amz-Expires=120") && url.contains("X-Amz-Signature="),
        "{url}"
    );
    let res = reqwest::get(&url).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().to_vec(), bytes);

    // The server really checks the signature.
    let (base, sig) = url.rsplit_once("X-Amz-Signature=").unwrap();
    let flipped = if sig.starts_with('0') { "1" } else { "0" };
    let forged = format!("{base}X-Amz-Signature={flipped}{}", &sig[1..]);
    assert_eq!(
        reqwest::get(&forged).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_large_recording_goes_up_in_parts_and_arrives_whole() {
    let s3 = start_s3().await;
    let dir = Dir::new();
    let app = TestApp::spawn_with(|c| use_s3(c, &dir, &s3.endpoint)).await;
    let u = Uuid::new_v4();
    // Over one 8 MiB part: a multipart upload of two parts.
    let bytes = wav(11, 5 * 1024 * 1024);

    let (status, body) = upload_for(&app, &u, bytes.clone()).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    let key = stored_key(&app, &u).await;
    let object = s3.root.join(BUCKET).join("calls").join(key.as_str());
    let stored = std::fs::read(&object).unwrap();
    assert!(stored == bytes, "the object is the upload, byte for byte");
}

#[tokio::test]
async fn wrong_credentials_and_missing_buckets_are_refused_at_start() {
    let s3 = start_s3().await;
    let dir = Dir::new();
    let app = TestApp::spawn_with(|c| use_s3(c, &dir, &s3.endpoint)).await;

    let good = storage_like(&app, &s3_config(&dir, &s3.endpoint)).await;
    good.check()
        .await
        .expect("the right settings pass the check");

    let mut bad_key = s3_config(&dir, &s3.endpoint);
    bad_key.storage.secret_access_key = Some(Secret::new("not-the-secret-key-000000000"));
    let err = storage_like(&app, &bad_key)
        .await
        .check()
        .await
        .unwrap_err();
    assert!(!err.is_retryable(), "{err}");

    let mut no_bucket = s3_config(&dir, &s3.endpoint);
    no_bucket.storage.url = "s3://no-such-bucket/x".into();
    let err = storage_like(&app, &no_bucket)
        .await
        .check()
        .await
        .unwrap_err();
    assert!(!err.is_retryable(), "{err}");
}

#[tokio::test]
async fn uploads_while_the_bucket_is_down_are_spooled_then_pushed_when_it_returns() {
    // A port with nothing behind it yet; the S3 server starts there later.
    let reserved = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = reserved.local_addr().unwrap();
    drop(reserved);
    let endpoint = format!("http://{addr}");
    let dir = Dir::new();
    let app = TestApp::spawn_with(|c| {
        use_s3(c, &dir, &endpoint);
        c.storage.spool_retry_ms = 200;
    })
    .await;
    let u = Uuid::new_v4();
    let bytes = wav(13, 2000);

    let (status, body) = upload_for(&app, &u, bytes.clone()).await;

    assert_eq!(
        status,
        StatusCode::OK,
        "answered once durably spooled: {body}"
    );
    assert_eq!(body["data"]["status"], "spooled");
    let pending = files_under(&dir.join("spool/pending"));
    assert_eq!(pending.len(), 1);
    assert_eq!(std::fs::read(&pending[0]).unwrap(), bytes);
    // While it waits, callplane serves it itself.
    let key = stored_key(&app, &u).await;
    let storage = storage_like(&app, &s3_config(&dir, &endpoint)).await;
    let url = storage
        .recording_url(&key, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(url.starts_with(&app.url("/recordings/")), "{url}");
    assert_eq!(
        reqwest::get(&url)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec(),
        bytes
    );

    let root = Dir::new();
    std::fs::create_dir_all(root.join(BUCKET)).unwrap();
    let _s3 = serve_s3(TcpListener::bind(addr).await.unwrap(), &root.0);

    let object = root.join(BUCKET).join("calls").join(key.as_str());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !(object.exists() && files_under(&dir.join("spool/pending")).is_empty()) {
        assert!(tokio::time::Instant::now() < deadline, "spool never pushed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(std::fs::read(&object).unwrap(), bytes);
    let url = storage
        .recording_url(&key, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        url.starts_with(&endpoint),
        "now presigned from the bucket: {url}"
    );
    assert_eq!(
        reqwest::get(&url)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec(),
        bytes
    );
}

#[tokio::test]
async fn a_full_spool_refuses_with_503_and_keeps_nothing() {
    let reserved = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", reserved.local_addr().unwrap());
    drop(reserved);
    let dir = Dir::new();
    let app = TestApp::spawn_with(|c| {
        use_s3(c, &dir, &endpoint);
        c.storage.spool_max_bytes = 1000;
    })
    .await;
    let (small, big) = (Uuid::new_v4(), Uuid::new_v4());
    assert_eq!(
        upload_for(&app, &small, wav(1, 200)).await.1["data"]["status"],
        "spooled"
    );

    let (status, body) = upload_for(&app, &big, wav(1, 2000)).await;

    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let rows = callplane::store::recordings::by_call_uuid(&app.pool, big)
        .await
        .unwrap();
    assert!(
        rows.is_none(),
        "the claim is released so a later retry can store it"
    );
    assert_eq!(
        files_under(&dir.join("spool")).len(),
        1,
        "only the small one"
    );
}

#[tokio::test]
async fn virtual_hosted_style_presigns_with_the_bucket_in_the_host_name() {
    let root = Dir::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let domain = format!("localhost:{}", addr.port());
    let _s3 = serve_s3_at(listener, &root.0, Some(domain.clone()));
    let dir = Dir::new();
    let app = TestApp::spawn_with(|c| use_dir(c, &dir)).await;
    let mut cfg = s3_config(&dir, &format!("http://{domain}"));
    cfg.storage.path_style = false;
    let storage = storage_like(&app, &cfg).await;
    let u = Uuid::new_v4();
    let key = RecordingKey::parse(&format!("2026/11/26/{u}.wav")).unwrap();
    let object = root.join(BUCKET).join("calls").join(key.as_str());
    std::fs::create_dir_all(object.parent().unwrap()).unwrap();
    let bytes = wav(17, 500);
    std::fs::write(&object, &bytes).unwrap();

    let url = storage
        .recording_url(&key, Duration::from_secs(60))
        .await
        .unwrap();

    assert!(
        url.starts_with(&format!("http://{BUCKET}.{domain}/calls/{key}?")),
        "{url}"
    );
    // No resolver here knows rec.localhost: point it at the server, as DNS would.
    let client = reqwest::Client::builder()
        .resolve(&format!("{BUCKET}.localhost"), addr)
        .build()
        .unwrap();
    let res = client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().to_vec(), bytes);
    let wrong_host = url.replace(&format!("{BUCKET}.{domain}"), &domain);
    let res = client.get(&wrong_host).send().await.unwrap();
    assert_ne!(
        res.status(),
        StatusCode::OK,
        "the host is part of the signature"
    );
}
