//! `POST /fsapi/upload_audio?uuid=<call uuid>&token=<token>`: the recording a call's hangup hook
//! posts (`curl -XPOST -F "files=@FILE" URL`). The per-call token is the credential. The one
//! file part, `files`, is streamed to a temporary file (size cap, read timeout), then stored
//! under `YYYY/MM/DD/<uuid>.<ext>`. When a call gets more than one file the longest wins
//! (`rules`): a retry with the same content is a 200 no-op, a shorter or header-only file
//! after a longer one is answered 200 and dropped, a longer one replaces a shorter stored one,
//! different content of the same size is a 409. A WAV that is only its header is stored as
//! `header_only`, not as the call's recording. Answers use the `/v1` envelope.

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;
use uuid::Uuid;

use crate::http::AppState;
use crate::http::envelope::{Envelope, ok};
use crate::storage::{Placement, RecordingKey, StorageError, parse_strict_uuid};
use crate::store::recordings::{self as rec_store, Claim, NewRecording};

/// Room for the multipart framing and small text fields around the file.
const FRAMING_BYTES: u64 = 64 * 1024;
/// Largest text field tolerated next to the file (`-F k=v` in a hook).
const TEXT_FIELD_BYTES: usize = 4096;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/fsapi/upload_audio", post(upload_audio))
        // The size cap is ours (storage.max_upload_bytes), counted while streaming.
        .layer(DefaultBodyLimit::disable())
}

#[derive(Debug)]
enum UploadError {
    /// The query or the form is not what the contract says; the text names what.
    BadRequest(String),
    Unauthorized,
    Timeout,
    TooLarge(u64),
    /// A different recording of the same size is already stored for this call.
    Conflict,
    Unavailable(String),
    Internal,
}

impl IntoResponse for UploadError {
    fn into_response(self) -> Response {
        let (code, status, message) = match self {
            UploadError::BadRequest(m) => (40001, StatusCode::BAD_REQUEST, m),
            UploadError::Unauthorized => (
                40100,
                StatusCode::UNAUTHORIZED,
                "token: missing or not valid for this uuid".into(),
            ),
            UploadError::Timeout => (
                40800,
                StatusCode::REQUEST_TIMEOUT,
                "the upload stalled; send the file again".into(),
            ),
            UploadError::TooLarge(max) => (
                41300,
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("files: the recording is larger than {max} bytes"),
            ),
            UploadError::Conflict => (
                40900,
                StatusCode::CONFLICT,
                "a different recording of the same size is already stored for this uuid; the first is kept"
                    .into(),
            ),
            UploadError::Unavailable(m) => (50300, StatusCode::SERVICE_UNAVAILABLE, m),
            UploadError::Internal => (
                50000,
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; it has been logged".into(),
            ),
        };
        let body = Envelope {
            code,
            message,
            data: None::<()>,
        };
        (status, axum::Json(body)).into_response()
    }
}

impl From<crate::store::StoreError> for UploadError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                UploadError::Unavailable("the database is unavailable; retry later".into())
            }
            other => {
                tracing::error!(error = %other, "recording row not written");
                UploadError::Internal
            }
        }
    }
}

/// What the upload did.
#[derive(Debug, Serialize)]
struct Uploaded {
    call_uuid: Uuid,
    storage_key: String,
    size: i64,
    sha256: String,
    format: String,
    /// `stored`, `spooled` (kept locally until object storage is back), `empty` (a zero-byte
    /// file: nothing to store), `header_only` (a WAV header without samples, stored but not
    /// offered as the recording), `duplicate` (the same content was already uploaded) or
    /// `kept_longer` (a longer recording of the call is kept; this one was dropped).
    status: &'static str,
}

async fn upload_audio(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, UploadError> {
    let (call_uuid, token) = parse_query(req.uri().query().unwrap_or(""))?;
    if !crate::tokens::verify_upload_token(state.secret.expose(), &call_uuid, &token) {
        return Err(UploadError::Unauthorized);
    }
    let cfg = &state.config.storage;
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cfg.max_upload_bytes + FRAMING_BYTES) {
        return Err(UploadError::TooLarge(cfg.max_upload_bytes));
    }
    let multipart = Multipart::from_request(req, &state)
        .await
        .map_err(|e| UploadError::BadRequest(format!("expected a multipart form: {e}")))?;
    let timeout = Duration::from_secs(cfg.upload_read_timeout_secs);
    let (received, file_name) = receive(&state, multipart, timeout, cfg.max_upload_bytes).await?;

    let format = received.format(file_name.as_deref());
    let fresh_key = RecordingKey::new(chrono::Utc::now().date_naive(), &call_uuid, format);
    let sha256 = received.sha256.clone();
    let empty = received.size == 0;
    let final_status = if received.is_header_only() {
        "header_only"
    } else {
        "stored"
    };
    let new = NewRecording {
        call_uuid,
        storage_key: fresh_key.as_str(),
        size: received.size as i64,
        content_type: format.content_type(),
        format: format.ext(),
        sha256: &sha256,
        status: if empty { "empty" } else { "uploading" },
        file_name: file_name.as_deref(),
    };
    let mut answer = Uploaded {
        call_uuid,
        storage_key: fresh_key.to_string(),
        size: new.size,
        sha256: sha256.clone(),
        format: format.ext().into(),
        status: if empty { "empty" } else { final_status },
    };
    let mut replacing = None;
    let key = match rec_store::claim(&state.pool, &new).await? {
        Claim::New if empty => {
            settle_later(&state, call_uuid);
            return Ok(ok(answer));
        }
        Claim::New => fresh_key.clone(),
        Claim::Existing(first) => match rules::decide(&first, new.size, &sha256) {
            Decision::Duplicate => {
                answer.storage_key = first.storage_key.clone();
                answer.format = first.format.clone();
                answer.status = "duplicate";
                return Ok(ok(answer));
            }
            Decision::StoreAgain => {
                answer.storage_key = first.storage_key.clone();
                answer.format = first.format.clone();
                RecordingKey::parse(&first.storage_key).ok_or(UploadError::Internal)?
            }
            Decision::KeepLonger => {
                tracing::info!(call.uuid = %call_uuid, size = new.size, kept = first.size, "a shorter recording was posted for this call; the longer is kept");
                answer.storage_key = first.storage_key.clone();
                answer.format = first.format.clone();
                answer.status = "kept_longer";
                return Ok(ok(answer));
            }
            Decision::Conflict => {
                tracing::warn!(call.uuid = %call_uuid, size = new.size, "a different recording of the same size was posted for this call; the first is kept");
                return Err(UploadError::Conflict);
            }
            Decision::Busy => return Err(busy()),
            Decision::Replace => {
                // Empty uploads never get here: a zero-byte file is never longer.
                if !rec_store::take_over(&state.pool, &new, &first).await? {
                    return Err(busy());
                }
                tracing::info!(call.uuid = %call_uuid, size = new.size, replaced = first.size, replaced_status = %first.status, "a longer recording replaces the one stored for this call");
                replacing = Some(first);
                fresh_key.clone()
            }
        },
    };
    // Storing runs in a task of its own: a caller that hangs up now cannot cancel it half-way
    // and leave the claim behind.
    let size = new.size;
    let task_state = state.clone();
    let placement = tokio::spawn(async move {
        let new = NewRecording {
            call_uuid,
            storage_key: key.as_str(),
            size,
            content_type: key.format().content_type(),
            format: key.format().ext(),
            sha256: &sha256,
            status: "uploading",
            file_name: file_name.as_deref(),
        };
        store_claimed(
            &task_state,
            &key,
            received,
            &new,
            final_status,
            replacing.as_ref(),
        )
        .await
    })
    .await
    .map_err(|_| UploadError::Internal)??;
    if placement == Placement::Spooled && final_status == "stored" {
        answer.status = "spooled";
    }
    tracing::info!(call.uuid = %call_uuid, key = %answer.storage_key, size = answer.size, status = answer.status, "recording received");
    settle_later(&state, call_uuid);
    Ok(ok(answer))
}

/// Another upload for the call is being stored (or just changed it): curl retries a 503.
fn busy() -> UploadError {
    UploadError::Unavailable(
        "another recording for this uuid is being stored; retry shortly".into(),
    )
}

/// The call's webhook may be ready now that its recording is here (or a second event is due).
fn settle_later(state: &AppState, call: Uuid) {
    let calls = state.calls.clone();
    tokio::spawn(async move { calls.settle(call).await });
}

/// Puts a claimed recording into storage and marks it with its final status, or releases the
/// claim (putting back the recording it was replacing, if any).
async fn store_claimed(
    state: &AppState,
    key: &RecordingKey,
    received: crate::storage::Received,
    new: &NewRecording<'_>,
    final_status: &str,
    replacing: Option<&rec_store::Recording>,
) -> Result<Placement, UploadError> {
    match state.storage.put(key, received).await {
        Ok(placement) => {
            rec_store::mark_stored(&state.pool, new, final_status).await?;
            Ok(placement)
        }
        Err(e) => {
            let _ = rec_store::release(&state.pool, new, replacing).await;
            Err(match e {
                StorageError::SpoolFull => UploadError::Unavailable(e.to_string()),
                other => {
                    tracing::error!(call.uuid = %new.call_uuid, error = %other, "recording not stored");
                    UploadError::Internal
                }
            })
        }
    }
}

/// Reads the form: exactly one file part, named `files`, streamed to a temporary file; small
/// text fields beside it are tolerated and ignored. Dropping the upload half-way (reset,
/// timeout, cap) removes the temporary file.
async fn receive(
    state: &AppState,
    mut form: Multipart,
    timeout: Duration,
    max: u64,
) -> Result<(crate::storage::Received, Option<String>), UploadError> {
    let bad_form = |e: axum::extract::multipart::MultipartError| {
        UploadError::BadRequest(format!("the multipart body could not be read: {e}"))
    };
    let mut got = None;
    loop {
        let next = tokio::time::timeout(timeout, form.next_field())
            .await
            .map_err(|_| UploadError::Timeout)?;
        let Some(mut field) = next.map_err(bad_form)? else {
            break;
        };
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(str::to_string);
        if file_name.is_none() && name != "files" {
            let mut len = 0;
            while let Some(chunk) = read_chunk(&mut field, timeout).await? {
                len += chunk.len();
                if len > TEXT_FIELD_BYTES {
                    return Err(UploadError::BadRequest(format!(
                        "{name}: text fields are limited to {TEXT_FIELD_BYTES} bytes"
                    )));
                }
            }
            continue;
        }
        if name != "files" {
            return Err(UploadError::BadRequest(format!(
                "files: the file part must be named 'files', not '{name}'"
            )));
        }
        if got.is_some() {
            return Err(UploadError::BadRequest(
                "files: exactly one file part is accepted".into(),
            ));
        }
        let mut incoming = state.storage.begin_upload().await.map_err(disk_error)?;
        while let Some(chunk) = read_chunk(&mut field, timeout).await? {
            if incoming.size() + chunk.len() as u64 > max {
                return Err(UploadError::TooLarge(max));
            }
            incoming.write(&chunk).await.map_err(disk_error)?;
        }
        got = Some((incoming.finish().await.map_err(disk_error)?, file_name));
    }
    got.ok_or_else(|| UploadError::BadRequest("files: the form has no file part 'files'".into()))
}

async fn read_chunk(
    field: &mut axum::extract::multipart::Field<'_>,
    timeout: Duration,
) -> Result<Option<bytes::Bytes>, UploadError> {
    tokio::time::timeout(timeout, field.chunk())
        .await
        .map_err(|_| UploadError::Timeout)?
        .map_err(|e| UploadError::BadRequest(format!("the multipart body could not be read: {e}")))
}

fn disk_error(e: std::io::Error) -> UploadError {
    tracing::error!(error = %e, "cannot write the upload to the spool directory");
    UploadError::Unavailable("local disk unavailable; retry later".into())
}

/// `uuid` and `token`, each exactly once. The uuid is the canonical hyphenated form in either
/// case; one `a_` prefix (mod_xml_cdr's A-leg marker) is stripped; nothing else is trimmed.
fn parse_query(query: &str) -> Result<(Uuid, String), UploadError> {
    let (mut uuids, mut tokens) = (Vec::new(), Vec::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match &*k {
            "uuid" => uuids.push(v.into_owned()),
            "token" => tokens.push(v.into_owned()),
            _ => {}
        }
    }
    let raw = match uuids.as_slice() {
        [one] => one,
        [] => return Err(UploadError::BadRequest("uuid: required".into())),
        _ => return Err(UploadError::BadRequest("uuid: given more than once".into())),
    };
    let uuid = parse_strict_uuid(raw.strip_prefix("a_").unwrap_or(raw)).ok_or_else(|| {
        UploadError::BadRequest(
            "uuid: must be a call uuid like 0b5b3a3c-1c8e-4f3a-9d2e-2f4b5c6d7e8f".into(),
        )
    })?;
    match tokens.as_slice() {
        [one] => Ok((uuid, one.clone())),
        [] => Err(UploadError::Unauthorized),
        _ => Err(UploadError::BadRequest(
            "token: given more than once".into(),
        )),
    }
}

mod rules;
use rules::Decision;

#[cfg(test)]
mod tests;
