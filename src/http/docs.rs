//! `/docs`: Swagger UI for the OpenAPI document served at `/openapi.json`. The UI's files are
//! built into the binary (utoipa-swagger-ui, `vendored`), so it works offline. It needs no API
//! key, like `/openapi.json`: it is only a viewer, and every `/v1` request made from it still
//! needs the bearer key (its "Authorize" button takes one).

use axum::Router;
use utoipa_swagger_ui::{Config, SwaggerUi};

use super::AppState;

pub fn routes() -> Router<AppState> {
    // Pointed at the existing `/openapi.json` route rather than handing the document to the
    // UI, which would register a second route for it.
    SwaggerUi::new("/docs")
        .config(Config::from("/openapi.json"))
        .into()
}
