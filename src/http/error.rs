//! The one error type of the business API. Every variant renders the contract's JSON envelope
//! with a stable numeric code (the table in the README); internal causes are logged here once
//! and never sent to the caller.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::envelope::Envelope;
use crate::domain::FieldError;
use crate::store::StoreError;

#[derive(Debug)]
pub enum ApiError {
    /// The body or query could not be read as the expected shape.
    Malformed(String),
    /// A field was read but its value is not acceptable.
    Invalid(FieldError),
    Unauthorized,
    NotFound(String),
    RouteNotFound,
    MethodNotAllowed,
    Conflict(String),
    /// No line can take the call; the text gives the reason for every candidate.
    NoLineFits(String),
    /// The Idempotency-Key was used before for a different request.
    IdempotencyKeyReused,
    PayloadTooLarge(usize),
    UnsupportedMediaType,
    /// Click-to-call: this API key is over its rate; retry after this many seconds.
    KeyRateLimited(u64),
    /// Click-to-call: all callers together are over the FreeSWITCH nodes' call rate.
    NodeRateLimited(u64),
    DatabaseUnavailable,
    /// No FreeSWITCH node could answer; the text says what each node reported.
    FreeswitchUnavailable(String),
    Internal,
}

impl ApiError {
    /// The stable code and HTTP status of each error, as documented in the README.
    pub fn code_and_status(&self) -> (u32, StatusCode) {
        match self {
            ApiError::Malformed(_) => (40000, StatusCode::BAD_REQUEST),
            ApiError::Invalid(_) => (40001, StatusCode::BAD_REQUEST),
            ApiError::Unauthorized => (40100, StatusCode::UNAUTHORIZED),
            ApiError::NotFound(_) => (40400, StatusCode::NOT_FOUND),
            ApiError::RouteNotFound => (40401, StatusCode::NOT_FOUND),
            ApiError::MethodNotAllowed => (40500, StatusCode::METHOD_NOT_ALLOWED),
            ApiError::Conflict(_) => (40900, StatusCode::CONFLICT),
            ApiError::NoLineFits(_) => (40901, StatusCode::CONFLICT),
            ApiError::IdempotencyKeyReused => (42200, StatusCode::UNPROCESSABLE_ENTITY),
            ApiError::PayloadTooLarge(_) => (41300, StatusCode::PAYLOAD_TOO_LARGE),
            ApiError::UnsupportedMediaType => (41500, StatusCode::UNSUPPORTED_MEDIA_TYPE),
            ApiError::KeyRateLimited(_) => (42900, StatusCode::TOO_MANY_REQUESTS),
            ApiError::NodeRateLimited(_) => (42901, StatusCode::TOO_MANY_REQUESTS),
            ApiError::Internal => (50000, StatusCode::INTERNAL_SERVER_ERROR),
            ApiError::DatabaseUnavailable => (50300, StatusCode::SERVICE_UNAVAILABLE),
            ApiError::FreeswitchUnavailable(_) => (50301, StatusCode::SERVICE_UNAVAILABLE),
        }
    }

    fn message(&self) -> String {
        match self {
            ApiError::Malformed(m) => m.clone(),
            ApiError::Invalid(e) => e.to_string(),
            ApiError::Unauthorized => {
                "missing or invalid API key: send Authorization: Bearer <key>".into()
            }
            ApiError::NotFound(m) => m.clone(),
            ApiError::RouteNotFound => "no such API route".into(),
            ApiError::MethodNotAllowed => "method not allowed for this route".into(),
            ApiError::Conflict(m) => m.clone(),
            ApiError::NoLineFits(m) => m.clone(),
            ApiError::IdempotencyKeyReused => {
                "idempotency_key_reused: this Idempotency-Key was already used for a different request".into()
            }
            ApiError::PayloadTooLarge(limit) => {
                format!("request body is larger than {limit} bytes")
            }
            ApiError::UnsupportedMediaType => {
                "Content-Type must be application/json or application/x-www-form-urlencoded".into()
            }
            ApiError::KeyRateLimited(secs) => format!(
                "too many click-to-call requests for this API key (limits.callback_per_key_per_sec); retry in {secs} s"
            ),
            ApiError::NodeRateLimited(secs) => format!(
                "click-to-calls are arriving faster than the FreeSWITCH nodes take them (limits.callback_per_node_per_sec); retry in {secs} s"
            ),
            ApiError::DatabaseUnavailable => "the database is unavailable; retry later".into(),
            ApiError::FreeswitchUnavailable(why) => why.clone(),
            ApiError::Internal => "internal error; it has been logged".into(),
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::Invalid(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => ApiError::Conflict(what),
            StoreError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                ApiError::DatabaseUnavailable
            }
            StoreError::Other(cause) => {
                tracing::error!(error = %cause, "database error");
                ApiError::Internal
            }
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, status) = self.code_and_status();
        let retry_after = match &self {
            ApiError::KeyRateLimited(secs) | ApiError::NodeRateLimited(secs) => Some(*secs),
            _ if status == StatusCode::SERVICE_UNAVAILABLE => Some(5),
            _ => None,
        };
        let body = Envelope {
            code,
            message: self.message(),
            data: None::<()>,
        };
        let mut res = (status, Json(body)).into_response();
        if let Some(secs) = retry_after {
            res.headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from(secs));
        }
        res
    }
}
