//! Operational endpoints: liveness, readiness (database reachable; FreeSWITCH state reported
//! but not required), Prometheus metrics and the OpenAPI document.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> Response {
    let db_ok = sqlx::query_scalar::<_, i32>("SELECT 1")
        .fetch_one(&state.pool)
        .await
        .is_ok();
    let body = json!({
        "database": if db_ok { "ok" } else { "unavailable" },
        "esl": state.esl.statuses(),
    });
    let status = if db_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    let m = &state.metrics;
    m.db_pool_size.set(state.pool.size() as i64);
    m.db_pool_idle.set(state.pool.num_idle() as i64);
    m.db_pool_max
        .set(state.pool.options().get_max_connections() as i64);
    m.observe_esl(&state.esl.statuses());
    // The webhook backlog: a failed read leaves the last values (and is logged), so a scrape
    // during a database outage still answers.
    match crate::store::webhooks::backlog(&state.pool).await {
        Ok(b) => {
            m.webhooks_pending.set(b.pending);
            m.webhooks_oldest_pending.set(b.oldest_pending_secs);
            m.webhooks_failed.set(b.failed);
        }
        Err(e) => tracing::warn!(error = %e, "reading the webhook backlog for /metrics failed"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        m.encode(),
    )
        .into_response()
}

async fn openapi() -> Response {
    Json(super::openapi()).into_response()
}
