//! A scripted webhook receiver: an axum server on 127.0.0.1 that answers each request with
//! the next scripted reply (200 once the script is used up) and records what it received.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: String,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            delay: Duration::ZERO,
        }
    }
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<Reply>>,
    /// Answer used once the script is empty.
    then: Mutex<Option<Reply>>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(script: Vec<Reply>) -> Receiver {
        Self::start_on("127.0.0.1:0".parse().unwrap(), script).await
    }

    pub async fn start_on(addr: SocketAddr, script: Vec<Reply>) -> Receiver {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        *shared.script.lock().unwrap() = script.into();
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { addr, shared, task }
    }

    /// Replies with `reply` whenever the script is used up.
    pub fn then_always(&self, reply: Reply) {
        *self.shared.then.lock().unwrap() = Some(reply);
    }

    pub fn url(&self) -> String {
        url_at(self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn url_at(addr: SocketAddr) -> String {
    format!("http://{addr}/hooks/calls")
}

/// An address where nothing listens (yet).
pub async fn closed_port() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    shared.received.lock().unwrap().push(Received {
        method,
        path: uri.path().to_string(),
        headers,
        body,
        at: Instant::now(),
    });
    let next = shared.script.lock().unwrap().pop_front();
    let reply = next
        .or_else(|| shared.then.lock().unwrap().clone())
        .unwrap_or(Reply::status(200));
    tokio::time::sleep(reply.delay).await;
    let mut res = (
        StatusCode::from_u16(reply.status).unwrap(),
        "receiver says hi",
    )
        .into_response();
    for (name, value) in reply.headers {
        res.headers_mut().insert(name, value.parse().unwrap());
    }
    res
}

/// Verifies a request the way a Standard Webhooks receiver does, independently of the
/// service's signing code: HMAC-SHA256 over `id.timestamp.body` with the decoded secret.
pub fn signature_is_valid(secret: &str, r: &Received) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let (Some(id), Some(ts), Some(sig)) = (
        r.header("webhook-id"),
        r.header("webhook-timestamp"),
        r.header("webhook-signature"),
    ) else {
        return false;
    };
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.{}", r.body).as_bytes());
    let expected = b64.encode(mac.finalize().into_bytes());
    sig.split(' ')
        .any(|s| s.strip_prefix("v1,") == Some(expected.as_str()))
}
