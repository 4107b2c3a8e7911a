//! The business API route table. Every route is annotated for the OpenAPI document, which is
//! generated from these annotations (`/openapi.json`); every route needs the bearer key.

mod calls;
mod cdrs;
mod extensions;
mod gateways;
mod nodes;
mod online;
mod stats;
mod webhooks;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::any;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;
use super::extract::BodyLimit;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "callplane business API",
        description = "Click-to-call, extensions, gateways (lines), calls and CDRs. Every answer is \
            {\"code\": 0, \"message\": \"ok\", \"data\": ...}; on error `code` is non-zero (see the README's \
            error table). Bodies may be JSON or application/x-www-form-urlencoded."
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags((name = "calls", description = "Click-to-call and call records"), (name = "cdrs", description = "CDRs FreeSWITCH posted"), (name = "extensions", description = "SIP extensions"), (name = "gateways", description = "Lines (SIP trunks)"), (name = "nodes", description = "FreeSWITCH nodes"), (name = "webhooks", description = "Webhook redelivery"))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(calls::callback))
        .routes(routes!(calls::detail))
        .routes(routes!(calls::list))
        .routes(routes!(stats::stats))
        .routes(routes!(extensions::list))
        .routes(routes!(extensions::detail))
        .routes(routes!(extensions::create))
        .routes(routes!(extensions::update))
        .routes(routes!(extensions::delete))
        .routes(routes!(online::extensions))
        .routes(routes!(gateways::list))
        .routes(routes!(gateways::detail))
        .routes(routes!(gateways::detail_xml))
        .routes(routes!(gateways::create))
        .routes(routes!(gateways::update))
        .routes(routes!(gateways::delete))
        .routes(routes!(online::gateways))
        .routes(routes!(cdrs::list))
        .routes(routes!(cdrs::detail))
        .routes(routes!(nodes::list))
        .routes(routes!(webhooks::redeliver))
}

/// The `/v1` routes with authentication, the body limit and enveloped 404s.
pub fn router(state: &AppState) -> Router<AppState> {
    let limit = state.config.http.body_limit_bytes;
    let (routes, _) = api().split_for_parts();
    routes
        .route("/v1", any(route_not_found))
        .route("/v1/{*rest}", any(route_not_found))
        // Inside the auth layer: only authenticated requests use up a key's tokens.
        .route_layer(axum::middleware::from_fn_with_state(
            super::ratelimit::Admission {
                limits: std::sync::Arc::new(super::ratelimit::Limits::new(
                    state.config.limits.clone(),
                )),
                esl: state.esl.clone(),
            },
            super::ratelimit::admit,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::auth::require_key,
        ))
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::Extension(BodyLimit(limit)))
}

/// The OpenAPI document alone.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().split_for_parts().1
}

async fn route_not_found() -> ApiError {
    ApiError::RouteNotFound
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
