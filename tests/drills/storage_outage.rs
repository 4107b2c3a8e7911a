//! Object storage down while recordings arrive. The bucket is an in-process S3 server (s3s
//! with its file system backend, SigV4 checked) that the drill stops outright, open
//! connections included, and later starts again on the same port over the same files. Uploads
//! made meanwhile are answered once durably spooled and pushed when the bucket returns; the
//! webhook never names a recording that cannot be fetched: while spooled it carries a URL
//! callplane serves itself, and that URL still returns the same bytes after the push.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use callplane::config::Secret;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::helpers::TestApp;
use crate::receiver::{Receiver, url_at};
use crate::rig::{Api, Dir, ended, eventually, fast_calls, fast_webhooks, files_under, start_sim};

const ACCESS_KEY: &str = "AKIDCALLPLANEDRILL";
const SECRET_KEY: &str = "s3-secret-key-for-the-drills-0123456789";
const BUCKET: &str = "rec";

/// An S3 server whose every connection ends when it is dropped.
struct S3 {
    tasks: tokio::task::JoinSet<()>,
}

impl S3 {
    async fn start(addr: SocketAddr, root: &Path) -> S3 {
        let listener = TcpListener::bind(addr).await.unwrap();
        let fs = s3s_fs::FileSystem::new(root).unwrap();
        let mut b = s3s::service::S3ServiceBuilder::new(fs);
        b.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = b.build();
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(async move {
            let http =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            // Connections live in this task's own set, so aborting it ends them all.
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let conn = http
                    .serve_connection(hyper_util::rt::TokioIo::new(sock), service.clone())
                    .into_owned();
                conns.spawn(async move {
                    let _ = conn.await;
                });
            }
        });
        S3 { tasks }
    }

    async fn stop(mut self) {
        self.tasks.shutdown().await;
    }
}

/// Every webhook body the receiver got for `call`.
fn bodies_for(receiver: &Receiver, call: &str) -> Vec<Value> {
    receiver
        .received()
        .iter()
        .map(|r| serde_json::from_str::<Value>(&r.body).unwrap())
        .filter(|b| b["call_uuid"] == call)
        .collect()
}

async fn download(url: &str) -> Vec<u8> {
    let res = reqwest::get(url).await.unwrap();
    assert!(res.status().is_success(), "{url}: {}", res.status());
    res.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn bucket_down_during_uploads_spools_then_pushes_and_the_webhook_stays_truthful() {
    let root = Dir::new();
    std::fs::create_dir_all(root.join(BUCKET)).unwrap();
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let endpoint = format!("http://{addr}");
    let s3 = S3::start(addr, &root.0).await;
    let receiver = Receiver::start(vec![]).await;
    let sim = start_sim(100).await;
    let esl = sim.addr();
    let app = TestApp::spawn_with(|c| {
        fast_calls(c, esl);
        fast_webhooks(&mut c.webhook, &url_at(receiver.addr));
        c.storage.url = format!("s3://{BUCKET}/calls");
        c.storage.endpoint = Some(endpoint.clone());
        c.storage.region = Some("us-east-1".into());
        c.storage.access_key_id = Some(ACCESS_KEY.into());
        c.storage.secret_access_key = Some(Secret::new(SECRET_KEY));
        c.storage.path_style = true;
        c.storage.spool_retry_ms = 200;
        // Long enough for the upload that follows the hangup.
        c.calls.recording_wait_secs = 5;
    })
    .await;
    let api = Api::at(app.addr);
    api.provision(json!({})).await;
    api.wait_esl_connected().await;
    // fsim's recording of a call: a stereo 8 kHz WAV as long as the talk time (so each call's
    // differs a little in length), whole as its RIFF header says.
    let recorded = |wav: &[u8]| {
        wav.len() > 44
            && &wav[..4] == b"RIFF"
            && &wav[8..12] == b"WAVE"
            && u32::from_le_bytes(wav[4..8].try_into().unwrap()) as usize + 8 == wav.len()
            && u16::from_le_bytes([wav[22], wav[23]]) == 2
    };
    let objects = || files_under(&root.join(BUCKET)).len();
    let pending = || files_under(&app.files.join("spool/pending")).len();

    // The call's recording goes straight to the bucket; the webhook presigns from it.
    let call = |callee: &'static str| {
        let api = api.clone();
        async move {
            let (status, body) = api.call(callee).await;
            assert!(status.is_success(), "{body}");
            let uuid = body["data"]["call_uuid"].as_str().unwrap().to_string();
            api.wait_call(&uuid, "the call to end", ended).await;
            uuid
        }
    };
    let webhook = |uuid: String| {
        let receiver = &receiver;
        async move {
            eventually("the call's webhook", Duration::from_secs(20), || async {
                bodies_for(receiver, &uuid).into_iter().next()
            })
            .await
        }
    };
    let first = call("13800000001").await;
    let hook = webhook(first.clone()).await;
    assert_eq!(hook["recording"]["status"], "ok", "{hook}");
    let url = hook["recording"]["url"].as_str().unwrap();
    assert!(
        url.starts_with(&endpoint),
        "presigned from the bucket: {url}"
    );
    assert!(recorded(&download(url).await));
    assert_eq!(objects(), 1);

    // The bucket goes away.
    s3.stop().await;
    let mut spooled = Vec::new();
    for callee in ["13800000002", "13800000003"] {
        let uuid = call(callee).await;
        let hook = webhook(uuid.clone()).await;
        // Truthful: the recording is offered only at a URL that serves it now.
        assert_eq!(hook["recording"]["status"], "ok", "{hook}");
        let url = hook["recording"]["url"].as_str().unwrap().to_string();
        assert!(url.starts_with(&api.base), "served by callplane: {url}");
        let wav = download(&url).await;
        assert!(recorded(&wav));
        spooled.push((uuid, url, wav));
    }
    assert_eq!(pending(), 2, "both recordings wait in the spool");
    assert_eq!(objects(), 1);

    // The bucket returns on the same address with the same contents; the spool drains.
    let _s3 = S3::start(addr, &root.0).await;
    eventually(
        "the spool to be pushed",
        Duration::from_secs(20),
        || async { (pending() == 0 && objects() == 3).then_some(()) },
    )
    .await;
    for (_, url, wav) in &spooled {
        assert_eq!(
            &download(url).await,
            wav,
            "the link in the webhook still works"
        );
    }
    for f in files_under(&root.join(BUCKET)) {
        assert!(recorded(&std::fs::read(&f).unwrap()), "{}", f.display());
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM recordings WHERE status = 'stored'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 3);
    // One webhook per call, nothing reported twice.
    for uuid in [first]
        .into_iter()
        .chain(spooled.into_iter().map(|(u, _, _)| u))
    {
        assert_eq!(bodies_for(&receiver, &uuid).len(), 1, "{uuid}");
    }
}
