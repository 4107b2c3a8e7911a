//! The one FreeSWITCH-facing error. Every variant answers with the status FreeSWITCH acts on
//! and mod_xml_curl's "not found" document as the body, which makes any fetch fall back
//! cleanly and is harmless to mod_xml_cdr (it reads only the status). Causes are logged where
//! they happen; nothing internal, and never a credential, reaches the body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::store::StoreError;

/// The document mod_xml_curl reads as "no answer here"
/// (`<result status="not found"/>`, mod_xml_curl.c / switch_xml.c).
pub const NOT_FOUND_DOCUMENT: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n\
<document type=\"freeswitch/xml\">\n  <section name=\"result\">\n    <result status=\"not found\"/>\n  </section>\n</document>\n";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsapiError {
    /// Credentials missing or wrong: 401 with `WWW-Authenticate: Basic`.
    Unauthorized,
    /// The peer is not allowed (allow-list, or not loopback when no credentials are set).
    Forbidden,
    /// The body exceeds the limit (bytes).
    PayloadTooLarge(usize),
    /// A request no FreeSWITCH sends (e.g. a DOCTYPE); the text is for the log only.
    BadRequest(String),
    /// The database cannot take the write now: 503, so FreeSWITCH retries.
    Unavailable,
    Internal,
}

impl FsapiError {
    pub fn status(&self) -> StatusCode {
        match self {
            FsapiError::Unauthorized => StatusCode::UNAUTHORIZED,
            FsapiError::Forbidden => StatusCode::FORBIDDEN,
            FsapiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            FsapiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            FsapiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            FsapiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for FsapiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable on /fsapi");
                FsapiError::Unavailable
            }
            other => {
                tracing::error!(error = %other, "database error on /fsapi");
                FsapiError::Internal
            }
        }
    }
}

impl IntoResponse for FsapiError {
    fn into_response(self) -> Response {
        let mut res = (
            self.status(),
            [(header::CONTENT_TYPE, "text/xml")],
            NOT_FOUND_DOCUMENT,
        )
            .into_response();
        match self {
            FsapiError::Unauthorized => {
                res.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"callplane fsapi\""),
                );
            }
            FsapiError::Unavailable => {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            _ => {}
        }
        res
    }
}
