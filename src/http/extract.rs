//! Request extractors for `/v1` that fail with the envelope: bodies as JSON or
//! `application/x-www-form-urlencoded` (one request type serves both), query parameters, and
//! paging. Errors name the field that was wrong.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::domain::FieldError;
use crate::store::Page;

/// A request body read as JSON or as a URL-encoded form, by its Content-Type.
pub struct Body<T>(pub T);

fn describe<E: std::fmt::Display>(what: &str, e: serde_path_to_error::Error<E>) -> ApiError {
    let path = e.path().to_string();
    let inner = e.into_inner().to_string();
    // serde_json appends " at line 1 column 9"; the field path says more to a caller.
    let inner = inner
        .split(" at line ")
        .next()
        .unwrap_or(&inner)
        .to_string();
    if path.is_empty() || path == "." {
        ApiError::Malformed(format!("invalid {what}: {inner}"))
    } else {
        ApiError::Malformed(format!("invalid {what}: {path}: {inner}"))
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let ct = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        let is_json =
            ct == "application/json" || (ct.starts_with("application/") && ct.ends_with("+json"));
        let is_form = ct == "application/x-www-form-urlencoded";
        if !is_json && !is_form {
            return Err(ApiError::UnsupportedMediaType);
        }
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .map(|l| l.0)
            .unwrap_or(0);
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(limit)
            } else {
                ApiError::Malformed(format!("cannot read request body: {r}"))
            }
        })?;
        if is_json {
            reject_json_nul(&bytes)?;
            let mut de = serde_json::Deserializer::from_slice(&bytes);
            let value =
                serde_path_to_error::deserialize(&mut de).map_err(|e| describe("JSON body", e))?;
            de.end()
                .map_err(|e| ApiError::Malformed(format!("invalid JSON body: {e}")))?;
            Ok(Body(value))
        } else {
            reject_form_nul(&bytes)?;
            let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(&bytes));
            Ok(Body(
                serde_path_to_error::deserialize(de).map_err(|e| describe("form body", e))?,
            ))
        }
    }
}

/// The configured body limit, put into request extensions so rejections can quote it.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// Query parameters, rejected with a message naming the parameter.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        reject_form_nul(q.as_bytes())?;
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
        Ok(Params(
            serde_path_to_error::deserialize(de).map_err(|e| describe("query", e))?,
        ))
    }
}

/// Postgres `text` cannot hold U+0000, so a NUL reaching a query would fail it with a 500;
/// no field has a use for one. Refused at the edge, naming the field (HOSTILE_INPUTS, NUL row).
fn nul_error(field: &str) -> ApiError {
    FieldError::new(field, "must not contain NUL characters (U+0000)").into()
}

/// A URL-encoded query or form whose names or values decode to a NUL.
fn reject_form_nul(encoded: &[u8]) -> Result<(), ApiError> {
    match form_urlencoded::parse(encoded).find(|(k, v)| k.contains('\0') || v.contains('\0')) {
        Some((k, _)) => Err(nul_error(&k)),
        None => Ok(()),
    }
}

/// A JSON body holding a `\u0000` escape in a string or a key (a raw NUL byte is not valid
/// JSON and fails the parse anyway). The cheap byte search keeps the usual body to one parse;
/// only a body that mentions the escape is parsed twice, to name the field.
fn reject_json_nul(bytes: &[u8]) -> Result<(), ApiError> {
    if !bytes.windows(6).any(|w| w == b"\\u0000") {
        return Ok(());
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Ok(()); // malformed: the real parse reports it
    };
    match nul_path(&value, String::new()) {
        Some(path) => Err(nul_error(if path.is_empty() { "body" } else { &path })),
        None => Ok(()),
    }
}

/// The path (`ext_data`, `params.x`, `gateways[1]`) of the first string or key with a NUL.
fn nul_path(v: &serde_json::Value, at: String) -> Option<String> {
    use serde_json::Value;
    match v {
        Value::String(s) if s.contains('\0') => Some(at),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| nul_path(x, format!("{at}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, x)| {
            let here = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            if k.contains('\0') {
                Some(here)
            } else {
                nul_path(x, here)
            }
        }),
        _ => None,
    }
}

/// Checks `page` (from 1, default 1) and `size` (1-500, default 20) of a list request.
pub fn page(page: Option<i64>, size: Option<i64>) -> Result<Page, FieldError> {
    let page = page.unwrap_or(1);
    let size = size.unwrap_or(20);
    if !(1..=1_000_000).contains(&page) {
        return Err(FieldError::new("page", "must be a whole number from 1"));
    }
    if !(1..=500).contains(&size) {
        return Err(FieldError::new("size", "must be between 1 and 500"));
    }
    Ok(Page {
        page: page as u32,
        size: size as u32,
    })
}

/// `page`, `size` and `enabled` of the extension and gateway lists.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EnabledListQuery {
    /// Page number, from 1.
    #[serde(default, deserialize_with = "crate::domain::flex::opt_i64")]
    pub page: Option<i64>,
    /// Page size, 1-500; default 20.
    #[serde(default, deserialize_with = "crate::domain::flex::opt_i64")]
    pub size: Option<i64>,
    /// Only enabled (true) or disabled (false) entries.
    #[serde(default, deserialize_with = "crate::domain::flex::opt_bool")]
    pub enabled: Option<bool>,
}
