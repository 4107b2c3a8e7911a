//! The address FreeSWITCH posts to (`CALLPLANE_PUBLIC_URL`, 127.0.0.1:8080) is a small
//! recording proxy in front of callplane (127.0.0.1:8081): every `/fsapi` request and answer is
//! written to the scenario's artifacts (xml_curl bodies, CDR posts, uploads' heads), and while
//! callplane is stopped the switch gets 502, as from a server that is down.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

pub const PUBLIC: &str = "127.0.0.1:8080";
pub const UPSTREAM: &str = "127.0.0.1:8081";

#[derive(Clone)]
struct State {
    log: Arc<Mutex<std::fs::File>>,
    client: reqwest::Client,
}

/// Serves until the returned sender is dropped.
pub async fn start(log: PathBuf) -> tokio::sync::oneshot::Sender<()> {
    let state = State {
        log: Arc::new(Mutex::new(std::fs::File::create(log).unwrap())),
        client: reqwest::Client::new(),
    };
    let app = axum::Router::new()
        .fallback(forward)
        .layer(axum::extract::DefaultBodyLimit::max(64 << 20))
        .with_state(state);
    let listener = bind().await;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
            .ok();
    });
    tx
}

/// The previous scenario's proxy may still be closing: retry the bind briefly.
async fn bind() -> tokio::net::TcpListener {
    for _ in 0..50 {
        if let Ok(l) = tokio::net::TcpListener::bind(PUBLIC).await {
            return l;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{PUBLIC} stays busy: another callplane or proxy is running");
}

async fn forward(
    axum::extract::State(s): axum::extract::State<State>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let url = format!("http://{UPSTREAM}{uri}");
    let mut req = s.client.request(method.clone(), &url).body(body.clone());
    for (k, v) in &headers {
        if k != "host" && k != "content-length" {
            req = req.header(k, v);
        }
    }
    let (status, out_headers, out) = match req.send().await {
        Ok(res) => {
            let status = res.status();
            let h = res.headers().clone();
            (status, h, res.bytes().await.unwrap_or_default())
        }
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            HeaderMap::new(),
            Bytes::from(format!("callplane unreachable: {e}")),
        ),
    };
    let shown = |b: &Bytes| {
        if b.len() > 16 * 1024 || b.starts_with(b"--") {
            format!("<{} bytes>", b.len())
        } else {
            String::from_utf8_lossy(b).into_owned()
        }
    };
    if let Ok(mut f) = s.log.lock() {
        let _ = writeln!(
            f,
            ">>> {} {method} {uri}\n{}\n<<< {status}\n{}\n",
            chrono::Utc::now().format("%H:%M:%S%.3f"),
            shown(&body),
            shown(&out)
        );
    }
    let mut res = (status, out).into_response();
    if let Some(ct) = out_headers.get("content-type") {
        res.headers_mut().insert("content-type", ct.clone());
    }
    res
}
