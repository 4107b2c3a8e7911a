//! `/v1/cdr/*`: every CDR FreeSWITCH posted (API calls and all others), with the parsed
//! fields; the detail adds the raw document.

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::domain::FieldError;
use crate::http::AppState;
use crate::http::envelope::{Envelope, Paged, ok};
use crate::http::error::ApiError;
use crate::http::extract::{Params, page};
use crate::store::cdrs::{self as store, CdrFilter, CdrRow};

#[derive(Debug, Serialize, ToSchema)]
pub struct CdrView {
    /// The leg's uuid.
    pub uuid: String,
    /// The switch's core-uuid; empty when the CDR names none.
    pub core_uuid: String,
    /// The API call this CDR belongs to (its A-leg uuid), if any.
    pub call_uuid: Option<Uuid>,
    /// The other leg of the same call.
    pub other_uuid: Option<String>,
    /// `a` (originating leg) or `b` (a leg FreeSWITCH originated).
    pub leg: Option<String>,
    pub caller: Option<String>,
    pub callee: Option<String>,
    pub gateway: Option<String>,
    pub start_time: Option<DateTime<Utc>>,
    pub answer_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
    /// Seconds from start to end.
    pub duration: Option<i32>,
    /// Seconds from answer to end.
    pub billsec: Option<i32>,
    pub hangup_cause: Option<String>,
    pub sip_hangup_disposition: Option<String>,
    pub switch_name: Option<String>,
    /// Where FreeSWITCH recorded the call (`record_path` or `record_session`'s argument).
    pub recording_path: Option<String>,
    /// `xml`, `json` or `unknown`.
    pub format: String,
    /// How the post carried the document, e.g. `form_urlencoded`, `form_base64`, `xml`.
    pub encoding: String,
    /// False: the document could not be read; it is kept raw and `parse_error` says why.
    pub parsed: bool,
    pub parse_error: Option<String>,
    /// Loaded with `callplane import-cdrs` rather than posted live.
    pub late: bool,
    /// Size of the raw document in bytes.
    pub raw_size: i32,
    pub received_at: DateTime<Utc>,
}

impl From<CdrRow> for CdrView {
    fn from(r: CdrRow) -> Self {
        CdrView {
            uuid: r.uuid,
            core_uuid: r.core_uuid,
            call_uuid: r.call_uuid,
            other_uuid: r.other_uuid,
            leg: r.leg,
            caller: r.caller,
            callee: r.callee,
            gateway: r.gateway,
            start_time: r.start_time,
            answer_time: r.answer_time,
            end_time: r.end_time,
            duration: r.duration,
            billsec: r.billsec,
            hangup_cause: r.hangup_cause,
            sip_hangup_disposition: r.sip_disposition,
            switch_name: r.switch_name,
            recording_path: r.recording_path,
            format: r.format,
            encoding: r.encoding,
            parsed: r.parsed,
            parse_error: r.parse_error,
            late: r.late,
            raw_size: r.raw_size,
            received_at: r.received_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CdrDetail {
    #[serde(flatten)]
    pub cdr: CdrView,
    /// The document as FreeSWITCH generated it (transport encoding removed), as text.
    pub raw: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page number, from 1.
    #[serde(default, deserialize_with = "crate::domain::flex::opt_i64")]
    page: Option<i64>,
    /// Page size, 1-500; default 20.
    #[serde(default, deserialize_with = "crate::domain::flex::opt_i64")]
    size: Option<i64>,
    /// Exact caller number.
    caller: Option<String>,
    /// Exact callee number.
    callee: Option<String>,
    /// Exact gateway name.
    gateway: Option<String>,
    /// Calls started at or after this RFC 3339 time.
    from: Option<String>,
    /// Calls started before this RFC 3339 time.
    to: Option<String>,
    /// CDRs of this API call.
    call_uuid: Option<String>,
}

fn time(field: &str, v: Option<&str>) -> Result<Option<DateTime<Utc>>, FieldError> {
    v.filter(|s| !s.is_empty())
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    FieldError::new(
                        field,
                        "must be an RFC 3339 time like 2024-05-01T08:00:00+08:00",
                    )
                })
        })
        .transpose()
}

fn text(field: &str, v: Option<String>) -> Result<Option<String>, FieldError> {
    match v.filter(|s| !s.is_empty()) {
        Some(s) if s.len() > 128 => Err(FieldError::new(field, "must be at most 128 characters")),
        other => Ok(other),
    }
}

/// List CDRs, newest call first.
#[utoipa::path(get, path = "/v1/cdr/list", operation_id = "cdr_list", tag = "cdrs", params(ListQuery),
    responses((status = 200, body = Envelope<Paged<CdrView>>), (status = 400)))]
pub async fn list(
    State(s): State<AppState>,
    Params(q): Params<ListQuery>,
) -> Result<Response, ApiError> {
    let page = page(q.page, q.size)?;
    let filter = CdrFilter {
        from: time("from", q.from.as_deref())?,
        to: time("to", q.to.as_deref())?,
        call_uuid: q
            .call_uuid
            .filter(|s| !s.is_empty())
            .map(|u| {
                Uuid::parse_str(&u).map_err(|_| FieldError::new("call_uuid", "must be a UUID"))
            })
            .transpose()?,
        caller: text("caller", q.caller)?,
        callee: text("callee", q.callee)?,
        gateway: text("gateway", q.gateway)?,
    };
    let (rows, total) = store::list(&s.pool, &filter, page).await?;
    Ok(ok(Paged {
        list: rows.into_iter().map(CdrView::from).collect(),
        total,
        page: page.page,
        size: page.size,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DetailQuery {
    /// The leg's uuid (an API call's uuid is its A-leg's).
    uuid: Option<String>,
}

/// One CDR with its raw document.
#[utoipa::path(get, path = "/v1/cdr/detail", operation_id = "cdr_detail", tag = "cdrs", params(DetailQuery),
    responses((status = 200, body = Envelope<CdrDetail>), (status = 400), (status = 404, description = "no CDR with this uuid")))]
pub async fn detail(
    State(s): State<AppState>,
    Params(q): Params<DetailQuery>,
) -> Result<Response, ApiError> {
    let uuid = text("uuid", q.uuid)?.ok_or_else(|| FieldError::new("uuid", "is required"))?;
    let (row, raw) = store::get(&s.pool, &uuid)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no CDR with uuid {uuid}")))?;
    Ok(ok(CdrDetail {
        cdr: CdrView::from(row),
        raw: String::from_utf8_lossy(&raw).into_owned(),
    }))
}
