//! The `calls`, `call_legs`, `call_events` and `callee_daily_counts` tables.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{FromRow, PgExecutor};
use uuid::Uuid;

use super::{Page, StoreError};

pub use super::call_legs::{
    EventRow, LegRow, NewLeg, events, insert_legs, leg, leg_event, legs, record_event,
};
pub use super::daily_counts::{callee_counts_today, release_daily, reserve_daily};

/// A call as stored.
#[derive(Debug, Clone, FromRow)]
pub struct CallRow {
    pub uuid: Uuid,
    pub caller: String,
    pub callee: String,
    pub caller_kind: String,
    pub callee_kind: String,
    pub callee_province: Option<String>,
    pub requested_gateways: Vec<String>,
    pub gateways: Vec<String>,
    pub caller_gateways: Vec<String>,
    pub gateway: Option<String>,
    pub ext_data: Option<String>,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<String>,
    pub job_uuid: Option<Uuid>,
    pub job_result: Option<String>,
    pub node: Option<String>,
    pub state: String,
    pub status: Option<String>,
    pub hangup_cause: Option<String>,
    pub routing: Json<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub caller_answered_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub bridged_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "uuid, caller, callee, caller_kind, callee_kind, callee_province, requested_gateways,
    gateways, caller_gateways, gateway, ext_data, idempotency_key, request_hash, job_uuid, job_result, node,
    state, status, hangup_cause, routing, created_at, updated_at, caller_answered_at, answered_at, bridged_at,
    ended_at";

/// What `insert` stores for a new call.
#[derive(Debug, Clone)]
pub struct NewCall<'a> {
    pub uuid: Uuid,
    pub caller: &'a str,
    pub callee: &'a str,
    pub caller_kind: &'a str,
    pub callee_kind: &'a str,
    pub callee_province: Option<&'a str>,
    pub requested_gateways: &'a [String],
    pub gateways: &'a [String],
    pub caller_gateways: &'a [String],
    pub ext_data: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
    pub request_hash: &'a str,
    /// None for calls FreeSWITCH routed through the dialplan (no originate job).
    pub job_uuid: Option<Uuid>,
    pub node: Option<&'a str>,
    pub routing: serde_json::Value,
}

pub async fn insert(db: impl PgExecutor<'_>, c: &NewCall<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO calls (uuid, caller, callee, caller_kind, callee_kind, callee_province, requested_gateways,
            gateways, caller_gateways, ext_data, idempotency_key, request_hash, job_uuid, node, routing, state)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'accepted')",
    )
    .bind(c.uuid)
    .bind(c.caller)
    .bind(c.callee)
    .bind(c.caller_kind)
    .bind(c.callee_kind)
    .bind(c.callee_province)
    .bind(c.requested_gateways)
    .bind(c.gateways)
    .bind(c.caller_gateways)
    .bind(c.ext_data)
    .bind(c.idempotency_key)
    .bind(c.request_hash)
    .bind(c.job_uuid)
    .bind(c.node)
    .bind(Json(&c.routing))
    .execute(db)
    .await?;
    Ok(())
}

pub async fn get(db: impl PgExecutor<'_>, uuid: Uuid) -> Result<Option<CallRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM calls WHERE uuid = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(uuid)
        .fetch_optional(db)
        .await?)
}

pub async fn by_idempotency_key(
    db: impl PgExecutor<'_>,
    key: &str,
) -> Result<Option<CallRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM calls WHERE idempotency_key = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(key)
        .fetch_optional(db)
        .await?)
}

/// The call a background job belongs to.
pub async fn by_job(db: impl PgExecutor<'_>, job: Uuid) -> Result<Option<Uuid>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT uuid FROM calls WHERE job_uuid = $1")
            .bind(job)
            .fetch_optional(db)
            .await?,
    )
}

/// Filters of the call list; all optional.
#[derive(Debug, Default, Clone)]
pub struct CallFilter {
    pub caller: Option<String>,
    pub callee: Option<String>,
    pub gateway: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub state: Option<String>,
}

pub async fn list(
    db: impl PgExecutor<'_> + Copy,
    f: &CallFilter,
    page: Page,
) -> Result<(Vec<CallRow>, i64), StoreError> {
    const WHERE: &str = "($1::text IS NULL OR caller = $1) AND ($2::text IS NULL OR callee = $2)
        AND ($3::text IS NULL OR gateway = $3 OR $3 = ANY(gateways)) AND ($4::timestamptz IS NULL OR created_at >= $4)
        AND ($5::timestamptz IS NULL OR created_at < $5) AND ($6::text IS NULL OR state = $6)";
    let sql = format!(
        "SELECT {COLUMNS} FROM calls WHERE {WHERE} ORDER BY created_at DESC, uuid LIMIT $7 OFFSET $8"
    );
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&f.caller)
        .bind(&f.callee)
        .bind(&f.gateway)
        .bind(f.from)
        .bind(f.to)
        .bind(&f.state)
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(db)
        .await?;
    let total = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM calls WHERE {WHERE}"
    )))
    .bind(&f.caller)
    .bind(&f.callee)
    .bind(&f.gateway)
    .bind(f.from)
    .bind(f.to)
    .bind(&f.state)
    .fetch_one(db)
    .await?;
    Ok((rows, total))
}

/// Moves a call forward to `state` (never back, never out of a final state).
pub async fn advance(
    db: impl PgExecutor<'_>,
    call: Uuid,
    state: &str,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE calls SET state = $2, updated_at = now(), last_event_at = $3,
            caller_answered_at = CASE WHEN $2 = 'answered' THEN COALESCE(caller_answered_at, $3) ELSE caller_answered_at END,
            bridged_at = CASE WHEN $2 = 'bridged' THEN COALESCE(bridged_at, $3) ELSE bridged_at END
         WHERE uuid = $1 AND call_state_rank(state) < call_state_rank($2)",
    )
    .bind(call)
    .bind(state)
    .bind(at)
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Notes that the callee answered on leg `leg` (first answer wins). The line is the one
/// callplane dialled that leg on; `gateway` (what the event names) only for a leg callplane
/// does not know.
pub async fn callee_answered(
    db: impl PgExecutor<'_>,
    call: Uuid,
    leg: Option<Uuid>,
    gateway: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE calls SET answered_at = COALESCE(answered_at, $3),
            gateway = CASE WHEN answered_at IS NULL
                THEN COALESCE((SELECT l.gateway FROM call_legs l WHERE l.uuid = $4 AND l.call_uuid = $1), $2, gateway)
                ELSE COALESCE(gateway, $2) END,
            updated_at = now()
         WHERE uuid = $1",
    )
    .bind(call)
    .bind(gateway)
    .bind(at)
    .bind(leg)
    .execute(db)
    .await?;
    Ok(())
}

/// Ends a call once: `completed` or `failed`, with its status and cause, and marks the legs
/// that were never attempted (`NOT_ATTEMPTED`, ended when the call ended). False if it had
/// already ended (a repeated or late event).
pub async fn finish(
    db: impl PgExecutor<'_>,
    call: Uuid,
    state: &str,
    status: &str,
    cause: &str,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    // Legs no channel was created for are closed with the call: they were never tried. The
    // line is the one the answered callee leg was dialled on, as callplane chose it.
    let done: i64 = sqlx::query_scalar(
        "WITH done AS (
             UPDATE calls SET state = $2, status = $3, hangup_cause = $4, ended_at = $5, updated_at = now(),
                 last_event_at = $5,
                 gateway = COALESCE((SELECT l.gateway FROM call_legs l WHERE l.call_uuid = $1
                     AND l.role = 'callee' AND l.answered_at IS NOT NULL AND l.gateway IS NOT NULL
                     ORDER BY l.answered_at LIMIT 1), gateway)
             WHERE uuid = $1 AND state NOT IN ('completed', 'failed')
             RETURNING uuid, ended_at),
         untried AS (
             UPDATE call_legs l SET ended_at = d.ended_at, hangup_cause = 'NOT_ATTEMPTED'
             FROM done d
             WHERE l.call_uuid = d.uuid AND l.created_at IS NULL AND l.ended_at IS NULL)
         SELECT count(*) FROM done",
    )
    .bind(call)
    .bind(state)
    .bind(status)
    .bind(cause)
    .bind(at)
    .fetch_one(db)
    .await?;
    Ok(done > 0)
}

pub async fn set_job_result(
    db: impl PgExecutor<'_>,
    call: Uuid,
    body: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE calls SET job_result = $2, updated_at = now() WHERE uuid = $1 AND job_result IS NULL")
        .bind(call)
        .bind(body)
        .execute(db)
        .await?;
    Ok(())
}

/// Calls still open after `secs` without any event: candidates for the sweeper.
pub async fn stale_open(
    db: impl PgExecutor<'_>,
    state: &str,
    secs: i64,
) -> Result<Vec<(Uuid, Option<String>)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT uuid, node FROM calls WHERE state = $1
           AND COALESCE(last_event_at, created_at) < now() - make_interval(secs => $2)",
    )
    .bind(state)
    .bind(secs as f64)
    .fetch_all(db)
    .await?)
}

/// The ended call, locked for the completion transaction.
pub async fn lock_ended(
    db: impl PgExecutor<'_>,
    call: Uuid,
) -> Result<Option<CallRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM calls WHERE uuid = $1 AND state IN ('completed', 'failed') FOR UPDATE"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(call)
        .fetch_optional(db)
        .await?)
}

/// Which webhook events a call already has, with the recording status each reported.
pub async fn webhook_events(
    db: impl PgExecutor<'_>,
    call: Uuid,
) -> Result<Vec<(String, Option<String>)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT event_type, payload->'recording'->>'status' FROM webhook_outbox WHERE call_uuid = $1",
    )
    .bind(call)
    .fetch_all(db)
    .await?)
}

/// Ended calls still waiting for a webhook (or for a late recording's second event).
pub async fn unsettled(db: impl PgExecutor<'_>, limit: i64) -> Result<Vec<Uuid>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT c.uuid FROM calls c
         WHERE c.state IN ('completed', 'failed') AND c.ended_at > now() - interval '2 days'
           AND (NOT EXISTS (SELECT 1 FROM webhook_outbox w WHERE w.call_uuid = c.uuid AND w.event_type = 'call.completed')
             OR (EXISTS (SELECT 1 FROM recordings r WHERE r.call_uuid = c.uuid AND r.status = 'stored')
                 AND NOT EXISTS (SELECT 1 FROM webhook_outbox w WHERE w.call_uuid = c.uuid
                     AND (w.event_type = 'call.recording_ready' OR (w.event_type = 'call.completed'
                          AND w.payload->'recording'->>'status' = 'ok')))))
         ORDER BY c.ended_at LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Removes a call that never reached FreeSWITCH (its legs and events go with it).
pub async fn delete_unplaced(db: impl PgExecutor<'_>, call: Uuid) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM calls WHERE uuid = $1 AND state = 'accepted' AND last_event_at IS NULL",
    )
    .bind(call)
    .execute(db)
    .await?;
    Ok(())
}
