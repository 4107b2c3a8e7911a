//! `/fsapi`: what FreeSWITCH calls. One router; each endpoint module exposes
//! `routes() -> Router<AppState>` and is merged here behind the access layer that fits it
//! (see `access`): FreeSWITCH's own posts behind the allow-list and HTTP Basic, routes that
//! carry their own credential (the recording upload's per-call token) behind the allow-list
//! alone. Errors render FreeSWITCH's "not found" document (`error`).

pub mod access;
pub mod cdr;
pub mod error;
pub mod upload;
pub mod xml_curl;

use axum::Router;
use axum::middleware::from_fn_with_state;

use self::access::Access;
use super::AppState;

/// The `/fsapi` routes with their access control.
pub fn router(state: &AppState) -> Router<AppState> {
    let access = Access::from_config(&state.config.fsapi);
    Router::new()
        .merge(with_basic(&access, cdr::routes()))
        .merge(with_basic(
            &access,
            xml_curl::routes(state.directory.clone()),
        ))
        .merge(allow_listed(&access, upload::routes()))
}

/// `routes` behind the allow-list and HTTP Basic (loopback only without credentials).
pub fn with_basic<S: Clone + Send + Sync + 'static>(
    access: &Access,
    routes: Router<S>,
) -> Router<S> {
    routes.route_layer(from_fn_with_state(access.clone(), access::require_basic))
}

/// `routes` behind the allow-list alone, for endpoints that check their own credential.
pub fn allow_listed<S: Clone + Send + Sync + 'static>(
    access: &Access,
    routes: Router<S>,
) -> Router<S> {
    routes.route_layer(from_fn_with_state(
        access.clone(),
        access::require_allowed_peer,
    ))
}
