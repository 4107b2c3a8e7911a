//! The demo's webhook receiver: a small HTTP server on loopback that checks each request's
//! Standard Webhooks signature the way a business system would, answers 200 when it holds
//! (401 when it does not, so the event is retried), and hands every request to the demo.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use subtle::ConstantTimeEq;
use tokio::sync::mpsc;

use crate::webhooks::SigningKey;

/// One webhook as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub webhook_id: String,
    pub body: serde_json::Value,
    /// The `webhook-signature` header held a `v1,` signature made with the demo's secret.
    pub verified: bool,
}

#[derive(Clone)]
struct Shared {
    key: SigningKey,
    tx: mpsc::UnboundedSender<Received>,
}

/// Serves on `listener` until the process ends; every request is sent on the returned channel.
pub fn start(
    listener: tokio::net::TcpListener,
    secret: &str,
) -> anyhow::Result<(SocketAddr, mpsc::UnboundedReceiver<Received>)> {
    let key = SigningKey::parse(secret).map_err(|e| anyhow::anyhow!("webhook secret: {e}"))?;
    let addr = listener.local_addr()?;
    let (tx, rx) = mpsc::unbounded_channel();
    let app = Router::new()
        .fallback(receive)
        .with_state(Shared { key, tx });
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "demo webhook receiver stopped");
        }
    });
    Ok((addr, rx))
}

async fn receive(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let (id, ts, sigs) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    );
    // The signed content is `id.timestamp.body` over the raw body bytes; the header may carry
    // several space-separated signatures (during a secret rotation), any one may match.
    let verified = ts.parse::<i64>().is_ok_and(|ts| {
        let expected = s.key.sign(&id, ts, &body);
        sigs.split(' ')
            .any(|sig| bool::from(sig.as_bytes().ct_eq(expected.as_bytes())))
    });
    let _ = s.tx.send(Received {
        webhook_id: id,
        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        verified,
    });
    if verified {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    }
}
