//! `/v1/call/*`: click-to-call, and what became of each call.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::calls::place::{CallbackRequest, PlaceError};
use crate::domain::FieldError;
use crate::http::AppState;
use crate::http::envelope::{Envelope, Paged, ok};
use crate::http::error::ApiError;
use crate::http::extract::{Body, Params, page};
use crate::store::calls::{self as store, CallFilter, CallRow, EventRow, LegRow};
use crate::webhooks::{Attempt, CdrSummary, Delivery, Recording};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackBody {
    /// Rung first: an extension number, or an external number (`+?[0-9]{3,20}`).
    pub caller: Option<String>,
    /// Bridged when the caller answers: an extension or an external number.
    pub callee: Option<String>,
    /// Lines to use, in order: `"gw1,gw2"` or `["gw1","gw2"]`; empty: every enabled line by
    /// priority. At most 16, each named once.
    #[serde(default, deserialize_with = "crate::domain::flex::opt_list")]
    #[schema(value_type = Option<Vec<String>>)]
    pub gateways: Option<Vec<String>>,
    /// Up to 4096 bytes, stored and returned verbatim in the webhook; never sent to FreeSWITCH.
    pub ext_data: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackAnswer {
    pub call_uuid: Uuid,
    /// The callee's failover chain as dialled, in order (empty for an extension callee).
    pub gateways: Vec<String>,
}

/// Place a click-to-call: ring `caller`, then bridge to `callee` through the best line.
#[utoipa::path(post, path = "/v1/call/callback", operation_id = "call_callback", tag = "calls",
    request_body = CallbackBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "a repeat with the same key returns the first call")),
    responses((status = 200, body = Envelope<CallbackAnswer>),
              (status = 400, description = "invalid number or gateway"),
              (status = 409, description = "no line fits (code 40901); the message gives each line's reason"),
              (status = 422, description = "Idempotency-Key reused for a different request (code 42200)"),
              (status = 429, description = "over a click-to-call rate limit (codes 42900, 42901); see Retry-After"),
              (status = 503, description = "no FreeSWITCH node connected (code 50301)")))]
pub async fn callback(
    State(s): State<AppState>,
    headers: HeaderMap,
    Body(b): Body<CallbackBody>,
) -> Result<Response, ApiError> {
    let idempotency_key = match headers.get("idempotency-key") {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| FieldError::new("Idempotency-Key", "must be printable ASCII"))?
                .to_string(),
        ),
        None => None,
    };
    let req = CallbackRequest {
        caller: b
            .caller
            .ok_or_else(|| FieldError::new("caller", "is required"))?,
        callee: b
            .callee
            .ok_or_else(|| FieldError::new("callee", "is required"))?,
        gateways: checked_gateway_list(b.gateways.unwrap_or_default())?,
        ext_data: b.ext_data,
        idempotency_key,
    };
    match s.calls.place(req).await {
        Ok(p) => Ok(ok(CallbackAnswer {
            call_uuid: p.call_uuid,
            gateways: p.gateways,
        })),
        Err(PlaceError::Invalid(e)) => Err(e.into()),
        Err(PlaceError::NoLine(why, _)) => Err(ApiError::NoLineFits(format!(
            "no line can take this call: {why}"
        ))),
        Err(PlaceError::Unavailable(why)) => Err(ApiError::FreeswitchUnavailable(why)),
        Err(PlaceError::IdempotencyKeyReused) => Err(ApiError::IdempotencyKeyReused),
        Err(PlaceError::Store(e)) => Err(e.into()),
    }
}

/// The most lines one click-to-call may name: more is a mistake, and each one is a failover
/// attempt that can ring the callee.
pub const MAX_GATEWAYS: usize = 16;

/// A requested line list rings the callee at most once per line: a name given twice would
/// ring them again after a failure, so it is refused, as is a list longer than [`MAX_GATEWAYS`].
fn checked_gateway_list(gateways: Vec<String>) -> Result<Vec<String>, FieldError> {
    if gateways.len() > MAX_GATEWAYS {
        return Err(FieldError::new(
            "gateways",
            format!("names {} lines; at most {MAX_GATEWAYS}", gateways.len()),
        ));
    }
    for (i, g) in gateways.iter().enumerate() {
        if let Some(first) = gateways[..i].iter().position(|earlier| earlier == g) {
            return Err(FieldError::new(
                format!("gateways[{i}]"),
                format!("repeats gateways[{first}]; name each line once"),
            ));
        }
    }
    Ok(gateways)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallView {
    pub call_uuid: Uuid,
    pub caller: String,
    pub callee: String,
    /// `extension` or `external`.
    pub caller_kind: String,
    pub callee_kind: String,
    pub callee_province: Option<String>,
    pub ext_data: Option<String>,
    pub requested_gateways: Vec<String>,
    /// The callee's failover chain as dialled.
    pub gateways: Vec<String>,
    /// The line the callee answered on.
    pub gateway: Option<String>,
    /// accepted, ringing, answered, bridged, completed, failed.
    pub state: String,
    /// Once ended: answered, no_answer, busy, failed, canceled.
    pub status: Option<String>,
    pub hangup_cause: Option<String>,
    pub node: Option<String>,
    pub created_at: DateTime<Utc>,
    pub caller_answered_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub bridged_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

impl From<CallRow> for CallView {
    fn from(r: CallRow) -> Self {
        CallView {
            call_uuid: r.uuid,
            caller: r.caller,
            callee: r.callee,
            caller_kind: r.caller_kind,
            callee_kind: r.callee_kind,
            callee_province: r.callee_province,
            ext_data: r.ext_data,
            requested_gateways: r.requested_gateways,
            gateways: r.gateways,
            gateway: r.gateway,
            state: r.state,
            status: r.status,
            hangup_cause: r.hangup_cause,
            node: r.node,
            created_at: r.created_at,
            caller_answered_at: r.caller_answered_at,
            answered_at: r.answered_at,
            bridged_at: r.bridged_at,
            ended_at: r.ended_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallDetail {
    #[serde(flatten)]
    pub call: CallView,
    /// The routing decision: for each external leg, the chain and every skipped line with its reason.
    #[schema(value_type = Object)]
    pub routing: serde_json::Value,
    pub legs: Vec<LegRow>,
    /// The event timeline as FreeSWITCH reported it.
    pub events: Vec<EventRow>,
    /// The CDR of the callee leg that decided the call (answered, else the last attempted),
    /// as the webhook's `cdr`; the caller leg's when no callee leg was attempted.
    pub cdr: Option<CdrSummary>,
    /// The caller leg's CDR, as the webhook's `caller_cdr`.
    pub caller_cdr: Option<CdrSummary>,
    /// The recording with a signed, expiring URL, once uploaded.
    pub recording: Option<Recording>,
    /// Each webhook event for this call and its delivery state.
    pub webhooks: Vec<Delivery>,
    /// Every delivery attempt: status code, latency, error.
    pub webhook_attempts: Vec<Attempt>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CallKey {
    pub uuid: Option<String>,
}

/// One call: request, state, routing, legs and events.
#[utoipa::path(get, path = "/v1/call/detail", operation_id = "call_detail", tag = "calls", params(CallKey),
    responses((status = 200, body = Envelope<CallDetail>), (status = 404)))]
pub async fn detail(
    State(s): State<AppState>,
    Params(k): Params<CallKey>,
) -> Result<Response, ApiError> {
    let raw = k
        .uuid
        .ok_or_else(|| FieldError::new("uuid", "is required"))?;
    let uuid = Uuid::parse_str(&raw).map_err(|_| FieldError::new("uuid", "must be a UUID"))?;
    let row = store::get(&s.pool, uuid)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("call {uuid} does not exist")))?;
    let routing = row.routing.0.clone();
    let legs = store::legs(&s.pool, uuid).await?;
    let events = store::events(&s.pool, uuid).await?;
    let cdrs = {
        let mut conn = s
            .pool
            .acquire()
            .await
            .map_err(crate::store::StoreError::from)?;
        s.calls.call_cdrs(&mut conn, uuid).await?
    };
    let recording = s.calls.recording(uuid).await?;
    let webhooks = crate::webhooks::deliveries_for_call(&s.pool, uuid).await?;
    let webhook_attempts = crate::webhooks::attempts_for_call(&s.pool, uuid).await?;
    Ok(ok(CallDetail {
        call: row.into(),
        routing,
        legs,
        events,
        cdr: cdrs.cdr(),
        caller_cdr: cdrs.caller_cdr(),
        recording,
        webhooks,
        webhook_attempts,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CallListQuery {
    pub caller: Option<String>,
    pub callee: Option<String>,
    pub gateway: Option<String>,
    /// Created at or after (RFC 3339).
    pub from: Option<String>,
    /// Created before (RFC 3339).
    pub to: Option<String>,
    pub state: Option<String>,
    #[serde(default, deserialize_with = "crate::domain::flex::opt_i64")]
    pub page: Option<i64>,
    #[serde(default, deserialize_with = "crate::domain::flex::opt_i64")]
    pub size: Option<i64>,
}

fn time(field: &str, v: &Option<String>) -> Result<Option<DateTime<Utc>>, FieldError> {
    v.as_deref()
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|d| d.with_timezone(&Utc))
                .map_err(|_| {
                    FieldError::new(
                        field,
                        "must be an RFC 3339 time such as 2026-11-26T08:00:00+08:00",
                    )
                })
        })
        .transpose()
}

/// Calls, newest first.
#[utoipa::path(get, path = "/v1/call/list", operation_id = "call_list", tag = "calls", params(CallListQuery),
    responses((status = 200, body = Envelope<Paged<CallView>>)))]
pub async fn list(
    State(s): State<AppState>,
    Params(q): Params<CallListQuery>,
) -> Result<Response, ApiError> {
    let p = page(q.page, q.size)?;
    let f = CallFilter {
        from: time("from", &q.from)?,
        to: time("to", &q.to)?,
        caller: q.caller,
        callee: q.callee,
        gateway: q.gateway,
        state: q.state,
    };
    let (rows, total) = store::list(&s.pool, &f, p).await?;
    Ok(ok(Paged {
        list: rows.into_iter().map(CallView::from).collect(),
        total,
        page: p.page,
        size: p.size,
    }))
}
