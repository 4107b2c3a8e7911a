//! `GET /recordings/<key>?expires=<unix>&sig=<hmac>`: recordings served by callplane itself
//! (local directory backend, or a recording still waiting in the spool) at the signed,
//! expiring URLs `Storage::recording_url` hands out. No API key: the signature is the
//! credential. Anything unsigned, expired or tampered with is a 403, checked before the key is
//! even parsed, so no path outside the recordings tree can be named.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::http::AppState;
use crate::storage::{RecordingKey, StorageError};

pub fn routes() -> Router<AppState> {
    Router::new().route("/recordings/{*key}", get(serve))
}

async fn serve(
    State(state): State<AppState>,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let (mut expires, mut sig) = (None, None);
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match &*k {
            "expires" => expires = Some(v.into_owned()),
            "sig" => sig = Some(v.into_owned()),
            _ => {}
        }
    }
    let signed = match (expires, sig) {
        (Some(e), Some(s)) => state.storage.verify_local_url(&key, &e, &s),
        _ => false,
    };
    let Some(key) = RecordingKey::parse(&key).filter(|_| signed) else {
        return plain(StatusCode::FORBIDDEN, "invalid or expired recording link");
    };
    match state.storage.get(&key).await {
        Ok(d) => {
            let mut res = Body::from_stream(d.body).into_response();
            let h = res.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(key.format().content_type()),
            );
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(d.size));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            res
        }
        Err(StorageError::NotFound) => plain(StatusCode::NOT_FOUND, "no such recording"),
        Err(e) => {
            tracing::error!(error = %e, key = %key, "recording could not be read");
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "recording storage unavailable",
            )
        }
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (status, text).into_response()
}
