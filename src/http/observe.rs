//! Per-request observation: a span with the matched route (never the raw URI, which may hold
//! numbers and tokens), request counts and latency by route, and one log line per request.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use super::AppState;
use crate::metrics::{RequestLabels, RouteLabels};

pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let started = Instant::now();
    let span = tracing::debug_span!("http", method = %method, route = %route);
    let res = next.run(req).instrument(span).await;
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            method: method.clone(),
            route: route.clone(),
            status,
        })
        .inc();
    state
        .metrics
        .latency
        .get_or_create(&RouteLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(elapsed.as_secs_f64());
    let duration_ms = elapsed.as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::warn!(%method, %route, status, duration_ms, "request failed");
    } else {
        tracing::debug!(%method, %route, status, duration_ms, "request");
    }
    res
}
