//! The HTTP surfaces: `/v1` (business API), the operational endpoints (`/healthz`, `/readyz`,
//! `/metrics`, `/openapi.json`, `/docs`), and `/fsapi` (what FreeSWITCH calls). One route table per
//! surface; handlers are thin and call into `store` and `domain`.

pub mod auth;
mod console;
mod docs;
pub mod envelope;
pub mod error;
pub mod extract;
pub mod fsapi;
mod observe;
mod ops;
pub mod ratelimit;
pub mod recordings;
pub mod server;
pub mod v1;

use std::sync::Arc;

use axum::Router;
use sqlx::PgPool;

use crate::config::{Config, Secret};
use crate::esl::SupervisorHandle;
use crate::metrics::Metrics;
use crate::storage::Storage;

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    pub api_keys: auth::ApiKeys,
    /// The FreeSWITCH nodes: connection state, command handles, events.
    pub esl: SupervisorHandle,
    /// The server secret (upload tokens, signed URLs): from config or the database.
    pub secret: Secret,
    /// Click-to-call and the call lifecycle.
    pub calls: crate::calls::Calls,
    /// Recordings: object storage, spool and recording URLs.
    pub storage: Storage,
    /// Directory answers for `/fsapi/xml_curl`, kept consistent by change notifications.
    pub directory: Arc<crate::directory::DirectoryCache>,
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(v1::router(&state))
        .merge(fsapi::router(&state))
        .merge(ops::router())
        .merge(docs::routes())
        .merge(recordings::routes())
        .merge(console::routes(&state.config))
        .method_not_allowed_fallback(v1::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observe::track,
        ))
        .with_state(state)
}

/// The OpenAPI document of `/v1`, generated from the handlers' annotations.
pub fn openapi() -> utoipa::openapi::OpenApi {
    v1::openapi()
}
