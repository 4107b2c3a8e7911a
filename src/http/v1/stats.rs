//! `GET /v1/call/stats`: calls per minute, outcomes and the hangup causes of unanswered calls
//! over a recent window (the console's overview chart; also useful to a dashboard).

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::FieldError;
use crate::http::AppState;
use crate::http::envelope::{Envelope, ok};
use crate::http::error::ApiError;
use crate::http::extract::Params;
use crate::store::stats::{self as store, Count, MinuteCount};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// The window in minutes, ending with the current minute: 1-1440; default 60.
    #[serde(default, deserialize_with = "crate::domain::flex::opt_i64")]
    pub minutes: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallStats {
    pub minutes: i32,
    /// Calls created in the window.
    pub total: i64,
    /// One entry per minute, oldest first, the current minute last; empty minutes included.
    pub per_minute: Vec<MinuteCount>,
    /// Calls by status (`answered`, `no_answer`, `busy`, `failed`, `canceled`, or
    /// `in_progress` for calls not ended yet), most frequent first.
    pub by_status: Vec<Count>,
    /// The ten most frequent hangup causes of calls that ended unanswered.
    pub failure_causes: Vec<Count>,
}

/// Calls per minute and failure causes over the last `minutes` (default 60).
#[utoipa::path(get, path = "/v1/call/stats", operation_id = "call_stats", tag = "calls", params(StatsQuery),
    responses((status = 200, body = Envelope<CallStats>), (status = 400, description = "minutes out of range")))]
pub async fn stats(
    State(s): State<AppState>,
    Params(q): Params<StatsQuery>,
) -> Result<Response, ApiError> {
    let minutes = q.minutes.unwrap_or(60);
    if !(1..=1440).contains(&minutes) {
        return Err(FieldError::new("minutes", "must be between 1 and 1440").into());
    }
    let minutes = minutes as i32;
    let per_minute = store::per_minute(&s.pool, minutes).await?;
    let by_status = store::by_status(&s.pool, minutes).await?;
    let failure_causes = store::failure_causes(&s.pool, minutes).await?;
    Ok(ok(CallStats {
        minutes,
        total: by_status.iter().map(|c| c.count).sum(),
        per_minute,
        by_status,
        failure_causes,
    }))
}
