//! The success side of the contract's envelope: `{"code": 0, "message": "ok", "data": ...}`
//! and the paged list shape.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// Every `/v1` answer. On success `code` is 0 and `message` is "ok".
#[derive(Debug, Serialize, ToSchema)]
pub struct Envelope<T> {
    pub code: u32,
    pub message: String,
    pub data: T,
}

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Paged<T> {
    pub list: Vec<T>,
    pub total: i64,
    pub page: u32,
    pub size: u32,
}

/// Wraps `data` in the success envelope.
pub fn ok<T: Serialize>(data: T) -> Response {
    Json(Envelope {
        code: 0,
        message: "ok".into(),
        data,
    })
    .into_response()
}
