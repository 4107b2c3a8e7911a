//! `POST /fsapi/cdr`: CDRs from mod_xml_cdr (form field `cdr`, URL-encoded, base64 or plain,
//! or a raw XML body) and mod_json_cdr (JSON, or the same form encodings).
//!
//! The answer is 2xx only once the CDR is committed: mod_xml_cdr retries on anything else and
//! then writes the CDR to its err-log-dir. A document that cannot be read is still stored
//! (`parsed = false`) and answered 200, because a 4xx would only make FreeSWITCH retry the same
//! bytes and then spool them. Only a body over the size cap (413), a DOCTYPE (400) and an
//! unavailable database (503, so FreeSWITCH retries) are refused. The answer comes within
//! `fsapi.cdr_deadline()`, below the `timeout` mod_xml_cdr is configured with.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http_body_util::LengthLimitError;

use super::error::FsapiError;
use crate::cdr;
use crate::http::AppState;
use crate::store;

pub fn routes() -> Router<AppState> {
    Router::new().route("/fsapi/cdr", post(ingest))
}

/// The first `uuid` query parameter (mod_xml_cdr appends `?uuid=a_<uuid>` or `?uuid=<uuid>`).
fn query_uuid(req: &Request) -> Option<String> {
    let q = req.uri().query()?;
    form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == "uuid")
        .map(|(_, v)| v.into_owned())
}

async fn ingest(State(s): State<AppState>, req: Request) -> Result<Response, FsapiError> {
    let limit = s.config.fsapi.cdr_max_bytes;
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default();
    let query_uuid = query_uuid(&req);
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(&peer, limit, declared));
    }
    let body = axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|e| {
            if e.into_inner().downcast_ref::<LengthLimitError>().is_some() {
                too_large(&peer, limit, None)
            } else {
                FsapiError::BadRequest("the CDR body could not be read".into())
            }
        })?;
    // Parsing a large document takes milliseconds: off the async workers.
    let prepared = tokio::task::spawn_blocking(move || {
        cdr::prepare(&body, content_type.as_deref(), query_uuid.as_deref(), false)
    })
    .await
    .map_err(|_| FsapiError::Internal)?
    .map_err(|refused| {
        tracing::warn!(%peer, reason = %refused, "CDR refused");
        FsapiError::BadRequest(refused.to_string())
    })?;
    prepared.log_findings();
    // mod_xml_cdr waits `timeout` (xml_cdr.conf.xml) while the channel is torn down; answer
    // before it. A CDR that could not be stored in time gets a 503 and is posted again; one
    // stored just as the deadline passed is then a duplicate, answered 200.
    let deadline = s.config.fsapi.cdr_deadline();
    let created = tokio::time::timeout(deadline, store::cdrs::insert(&s.pool, &prepared))
        .await
        .map_err(|_| {
            tracing::warn!(cdr.uuid = %prepared.uuid, deadline_ms = deadline.as_millis() as u64,
                "CDR not stored within its deadline; answering 503 so FreeSWITCH posts it again");
            FsapiError::Unavailable
        })??;
    tracing::info!(
        cdr.uuid = %prepared.uuid,
        core_uuid = %prepared.core_uuid,
        encoding = prepared.encoding.as_str(),
        parsed = prepared.summary.is_some(),
        "{}",
        if created { "CDR stored" } else { "CDR already stored" }
    );
    // The caller leg's CDR of an API call carries the call's uuid: its webhook may be ready
    // now. Off the response path, so FreeSWITCH's session thread is not kept waiting.
    if let Ok(call) = uuid::Uuid::parse_str(&prepared.uuid) {
        let calls = s.calls.clone();
        tokio::spawn(async move { calls.settle(call).await });
    }
    Ok((StatusCode::OK, "OK\n").into_response())
}

fn too_large(peer: &str, limit: usize, declared: Option<u64>) -> FsapiError {
    tracing::warn!(
        %peer,
        limit,
        declared,
        "CDR refused: larger than fsapi.cdr_max_bytes; FreeSWITCH will keep it in its err-log-dir"
    );
    FsapiError::PayloadTooLarge(limit)
}
