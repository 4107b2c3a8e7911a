//! The HTTP server loop: accepts connections and serves the router on each over HTTP/1.1, under
//! limits that keep one careless or hostile client from taking FreeSWITCH's endpoints down.
//!
//! * a cap on open connections, and a smaller cap per peer address: a connection over either is
//!   closed at once, so a flood from one address cannot use up the file descriptors that
//!   FreeSWITCH's own `/fsapi` requests need;
//! * a deadline for a request's headers (hyper's `header_read_timeout`), which also closes a
//!   keep-alive connection that sends nothing, so slowloris connections do not stay open;
//! * a deadline for a request's body, counted from its first byte (every route but the
//!   recording upload, which is large and has its own per-chunk timeout);
//! * on shutdown, open connections finish their requests in flight, for at most [`DRAIN`].

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::time::Sleep;
use tower::ServiceExt;

use crate::metrics::Metrics;

/// The limits the loop enforces (from `[http]`).
#[derive(Debug, Clone)]
pub struct ServerLimits {
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_peer: usize,
}

/// How long open connections get to finish on shutdown.
const DRAIN: Duration = Duration::from_secs(10);

/// Routes whose body is not bounded by `body_read_timeout` (they stream large files and time
/// out per chunk instead).
const STREAMING_PATHS: &[&str] = &["/fsapi/upload_audio"];

/// Open connections, in total and per peer address.
#[derive(Default)]
struct Open {
    total: usize,
    per_peer: HashMap<IpAddr, usize>,
}

/// One admitted connection; releases its slots when dropped.
struct Slot {
    open: Arc<Mutex<Open>>,
    peer: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.total -= 1;
        if let Some(n) = open.per_peer.get_mut(&self.peer) {
            *n -= 1;
            if *n == 0 {
                open.per_peer.remove(&self.peer);
            }
        }
    }
}

/// Takes a slot for `peer`, or says which cap it is over.
fn admit(
    open: &Arc<Mutex<Open>>,
    limits: &ServerLimits,
    peer: IpAddr,
) -> Result<Slot, &'static str> {
    let mut o = open.lock().unwrap_or_else(|e| e.into_inner());
    if o.total >= limits.max_connections {
        return Err("max_connections");
    }
    let mine = o.per_peer.entry(peer).or_default();
    if *mine >= limits.max_connections_per_peer {
        return Err("max_connections_per_peer");
    }
    *mine += 1;
    o.total += 1;
    Ok(Slot {
        open: open.clone(),
        peer,
    })
}

/// Serves `router` on `listener` until `shutdown` completes, then lets the open connections
/// finish what they are doing.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let graceful = GracefulShutdown::new();
    let open = Arc::new(Mutex::new(Open::default()));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors (or a transient network error): back off briefly
                    // instead of spinning on accept.
                    tracing::warn!(error = %e, "accepting an HTTP connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let slot = match admit(&open, &limits, peer.ip()) {
            Ok(slot) => slot,
            Err(cap) => {
                metrics.connection_refused(cap);
                drop(stream);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(tower::service_fn({
            let router = router.clone();
            let body_timeout = limits.body_read_timeout;
            move |req: hyper::Request<Incoming>| {
                let router = router.clone();
                async move { Ok::<_, Infallible>(route(router, req, peer, body_timeout).await) }
            }
        }));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    // Requests in flight finish; a connection that will not (a live event stream) is cut.
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::info!("HTTP connections still open after {DRAIN:?}; closing them");
    }
}

/// One request: the peer's address for the handlers, the body deadline, then the router.
async fn route(
    router: Router,
    req: hyper::Request<Incoming>,
    peer: SocketAddr,
    body_timeout: Duration,
) -> axum::response::Response {
    let streaming = STREAMING_PATHS.contains(&req.uri().path());
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(ConnectInfo(peer));
    let body = if streaming {
        Body::new(body)
    } else {
        Body::new(DeadlineBody::new(body, body_timeout))
    };
    match router
        .oneshot(axum::extract::Request::from_parts(parts, body))
        .await
    {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// A request body that fails once `deadline` has passed since the first time it was read:
/// a client trickling its body a byte at a time gets an error instead of holding the request.
struct DeadlineBody {
    inner: Incoming,
    timeout: Duration,
    deadline: Option<Pin<Box<Sleep>>>,
}

#[derive(Debug, thiserror::Error)]
#[error("request body not received within {0:?}")]
pub struct BodyTimedOut(Duration);

impl DeadlineBody {
    fn new(inner: Incoming, timeout: Duration) -> Self {
        DeadlineBody {
            inner,
            timeout,
            deadline: None,
        }
    }
}

impl hyper::body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let timeout = self.timeout;
        let deadline = self
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut(timeout)))));
        }
        Pin::new(&mut self.inner)
            .poll_frame(cx)
            .map_err(axum::BoxError::from)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total: usize, per_peer: usize) -> ServerLimits {
        ServerLimits {
            header_read_timeout: Duration::from_secs(1),
            body_read_timeout: Duration::from_secs(1),
            max_connections: total,
            max_connections_per_peer: per_peer,
        }
    }

    #[test]
    fn connections_are_capped_in_total_and_per_peer_and_slots_come_back() {
        let open = Arc::new(Mutex::new(Open::default()));
        let l = limits(3, 2);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let a1 = admit(&open, &l, a).unwrap();
        let _a2 = admit(&open, &l, a).unwrap();
        assert_eq!(admit(&open, &l, a).err(), Some("max_connections_per_peer"));
        let _b1 = admit(&open, &l, b).unwrap();
        assert_eq!(admit(&open, &l, b).err(), Some("max_connections"));
        drop(a1);
        assert!(
            admit(&open, &l, b).is_ok(),
            "a closed connection frees its slot"
        );
    }
}
