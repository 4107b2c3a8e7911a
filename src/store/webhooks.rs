//! The webhook outbox and its delivery log: enqueue inside the caller's transaction, claim
//! due rows for delivery, record each attempt, and the per-call views the API shows.
//!
//! Every time here is the database's `now()`, so replicas with skewed clocks still agree on
//! what is due.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgConnection, PgExecutor, PgPool};
use uuid::Uuid;

use super::StoreError;

/// Inserts an outbox row unless the call already has an event of this type; returns the
/// `webhook_id` of the row that exists afterwards (the new one or the first one).
pub async fn insert_once(
    conn: &mut PgConnection,
    webhook_id: &str,
    call_uuid: Uuid,
    event_type: &str,
    body: &str,
) -> Result<String, StoreError> {
    let inserted: Option<String> = sqlx::query_scalar(
        "INSERT INTO webhook_outbox (webhook_id, call_uuid, event_type, payload, body)
         VALUES ($1, $2, $3, $4::jsonb, $4)
         ON CONFLICT (call_uuid, event_type) DO NOTHING
         RETURNING webhook_id",
    )
    .bind(webhook_id)
    .bind(call_uuid)
    .bind(event_type)
    .bind(body)
    .fetch_optional(&mut *conn)
    .await?;
    match inserted {
        Some(id) => Ok(id),
        // A separate statement: its snapshot sees a row a concurrent transaction committed
        // while our insert waited on the unique index.
        None => Ok(sqlx::query_scalar(
            "SELECT webhook_id FROM webhook_outbox WHERE call_uuid = $1 AND event_type = $2",
        )
        .bind(call_uuid)
        .bind(event_type)
        .fetch_one(&mut *conn)
        .await?),
    }
}

/// A row claimed for one delivery attempt.
#[derive(Debug, Clone, FromRow)]
pub struct Claimed {
    pub id: i64,
    pub webhook_id: String,
    pub call_uuid: Uuid,
    pub body: String,
    /// The attempt number this claim is for; also the fence that makes a late finish from a
    /// worker whose lease ran out a no-op.
    pub attempts: i32,
    /// The database clock at claim time, Unix seconds: the `webhook-timestamp`.
    pub now_unix: i64,
}

/// Claims up to `limit` due rows and leases them for `lease`: they stay `pending` but are not
/// due again until the lease runs out, so a worker that dies mid-request delays its rows by
/// one lease instead of losing them. `SKIP LOCKED` lets replicas claim side by side without
/// waiting on or double-claiming each other's rows. A row is only due when no earlier event
/// of the same call is still pending, so a call's events arrive in the order they happened.
pub async fn claim_due(
    pool: &PgPool,
    limit: i64,
    lease: Duration,
    retry_for: Duration,
) -> Result<Vec<Claimed>, StoreError> {
    // A never-attempted row whose window is over belongs to `expire_unsent`, not to a sender:
    // without this condition a row committed between the two statements of a tick was sent.
    Ok(sqlx::query_as(
        "WITH due AS (
             SELECT o.id FROM webhook_outbox o
             WHERE o.status = 'pending' AND o.next_attempt_at <= now()
               AND NOT (o.attempts = 0 AND o.retry_from + make_interval(secs => $3) < now())
               AND NOT EXISTS (
                   SELECT 1 FROM webhook_outbox e
                   WHERE e.call_uuid = o.call_uuid AND e.id < o.id AND e.status = 'pending')
             ORDER BY o.next_attempt_at, o.id
             LIMIT $1
             FOR UPDATE SKIP LOCKED
         )
         UPDATE webhook_outbox o
         SET attempts = o.attempts + 1,
             next_attempt_at = now() + make_interval(secs => $2)
         FROM due WHERE o.id = due.id
         RETURNING o.id, o.webhook_id, o.call_uuid, o.body, o.attempts,
                   extract(epoch FROM now())::bigint AS now_unix",
    )
    .bind(limit)
    .bind(lease.as_secs_f64())
    .bind(retry_for.as_secs_f64())
    .fetch_all(pool)
    .await?)
}

/// What one attempt saw.
#[derive(Debug, Clone, Default)]
pub struct AttemptRecord {
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub error: Option<String>,
}

/// What happens to the row after an attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    Delivered,
    /// Try again after this long, unless the retry window or the attempt cap is used up.
    RetryAfter(Duration),
    /// Do not try again (the receiver answered 410 Gone).
    Stop,
}

/// Limits on retrying, applied with the database clock.
#[derive(Debug, Clone, Copy)]
pub struct RetryLimits {
    pub retry_for: Duration,
    /// 0 = no cap.
    pub max_attempts: i32,
}

/// Records the attempt and moves the row on, in one transaction. Returns false when the
/// lease had been lost (another claim or a redeliver changed the row meanwhile): the attempt
/// is still logged, but the row is left to whoever holds it now.
///
/// A retry is scheduled no later than the end of the retry window, so the last attempt
/// happens at the deadline rather than being skipped; after it the row is `failed`.
pub async fn finish_attempt(
    pool: &PgPool,
    claimed: &Claimed,
    attempt: &AttemptRecord,
    next: Next,
    limits: RetryLimits,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO webhook_attempts (outbox_id, status_code, latency_ms, error)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(claimed.id)
    .bind(attempt.status_code)
    .bind(attempt.latency_ms)
    .bind(&attempt.error)
    .execute(&mut *tx)
    .await?;
    let updated = match next {
        Next::Delivered => sqlx::query(
            "UPDATE webhook_outbox
             SET status = 'delivered', delivered_at = now(), last_error = NULL
             WHERE id = $1 AND attempts = $2 AND status = 'pending'",
        )
        .bind(claimed.id)
        .bind(claimed.attempts)
        .execute(&mut *tx)
        .await?
        .rows_affected(),
        Next::Stop => sqlx::query(
            "UPDATE webhook_outbox SET status = 'failed', last_error = $3
             WHERE id = $1 AND attempts = $2 AND status = 'pending'",
        )
        .bind(claimed.id)
        .bind(claimed.attempts)
        .bind(&attempt.error)
        .execute(&mut *tx)
        .await?
        .rows_affected(),
        Next::RetryAfter(delay) => sqlx::query(
            "UPDATE webhook_outbox
             SET status = CASE
                     WHEN now() >= retry_from + make_interval(secs => $4)
                          OR ($5 > 0 AND attempts >= $5) THEN 'failed'
                     ELSE 'pending' END,
                 next_attempt_at = LEAST(now() + make_interval(secs => $3),
                                         retry_from + make_interval(secs => $4)),
                 last_error = $6
             WHERE id = $1 AND attempts = $2 AND status = 'pending'",
        )
        .bind(claimed.id)
        .bind(claimed.attempts)
        .bind(delay.as_secs_f64())
        .bind(limits.retry_for.as_secs_f64())
        .bind(limits.max_attempts)
        .bind(&attempt.error)
        .execute(&mut *tx)
        .await?
        .rows_affected(),
    };
    tx.commit().await?;
    Ok(updated == 1)
}

/// Fails rows that were never attempted and whose retry window is already over, without
/// sending them: events that piled up while no webhook URL was configured, or while every
/// replica was down for longer than the window. Returns how many.
pub async fn expire_unsent(
    db: impl PgExecutor<'_>,
    retry_for: Duration,
) -> Result<u64, StoreError> {
    Ok(sqlx::query(
        "UPDATE webhook_outbox
         SET status = 'failed', last_error = 'not sent: the retry window ended before delivery'
         WHERE status = 'pending' AND attempts = 0 AND next_attempt_at <= now()
           AND retry_from + make_interval(secs => $1) < now()",
    )
    .bind(retry_for.as_secs_f64())
    .execute(db)
    .await?
    .rows_affected())
}

/// Makes an event due now with a fresh retry window, whatever its state (a console's
/// "send again"). Returns false when no event has that id.
pub async fn redeliver(db: impl PgExecutor<'_>, webhook_id: &str) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "UPDATE webhook_outbox
         SET status = 'pending', next_attempt_at = now(), retry_from = now(),
             delivered_at = NULL
         WHERE webhook_id = $1",
    )
    .bind(webhook_id)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// The delivery state of one event, for the call detail.
#[derive(Debug, Clone, PartialEq, Serialize, FromRow, utoipa::ToSchema)]
pub struct Delivery {
    pub webhook_id: String,
    /// `call.completed` or `call.recording_ready`.
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts made so far.
    pub attempts: i32,
    /// When the next attempt is due; `null` once delivered or failed.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// The call's events, oldest first.
pub async fn deliveries_for_call(
    db: impl PgExecutor<'_>,
    call_uuid: Uuid,
) -> Result<Vec<Delivery>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT webhook_id, event_type, status, attempts,
                CASE WHEN status = 'pending' THEN next_attempt_at END AS next_attempt_at,
                last_error, created_at, delivered_at
         FROM webhook_outbox WHERE call_uuid = $1 ORDER BY id",
    )
    .bind(call_uuid)
    .fetch_all(db)
    .await?)
}

/// One event's delivery state, by its `webhook-id`.
pub async fn delivery(
    db: impl PgExecutor<'_>,
    webhook_id: &str,
) -> Result<Option<Delivery>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT webhook_id, event_type, status, attempts,
                CASE WHEN status = 'pending' THEN next_attempt_at END AS next_attempt_at,
                last_error, created_at, delivered_at
         FROM webhook_outbox WHERE webhook_id = $1",
    )
    .bind(webhook_id)
    .fetch_optional(db)
    .await?)
}

/// One delivery attempt as logged.
#[derive(Debug, Clone, PartialEq, Serialize, FromRow, utoipa::ToSchema)]
pub struct Attempt {
    pub webhook_id: String,
    pub event_type: String,
    pub attempted_at: DateTime<Utc>,
    /// The receiver's HTTP status; `null` when no response came (connect error, timeout).
    pub status_code: Option<i32>,
    pub latency_ms: Option<i32>,
    pub error: Option<String>,
}

/// Every attempt for the call's events, oldest first.
pub async fn attempts_for_call(
    db: impl PgExecutor<'_>,
    call_uuid: Uuid,
) -> Result<Vec<Attempt>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT o.webhook_id, o.event_type, a.attempted_at, a.status_code, a.latency_ms, a.error
         FROM webhook_attempts a JOIN webhook_outbox o ON o.id = a.outbox_id
         WHERE o.call_uuid = $1 ORDER BY a.id",
    )
    .bind(call_uuid)
    .fetch_all(db)
    .await?)
}

/// The delivery backlog, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backlog {
    /// Events waiting for (or in) a delivery attempt.
    pub pending: i64,
    /// Seconds since the oldest pending event was enqueued; 0 when none is pending.
    pub oldest_pending_secs: f64,
    /// Events given up on (retry window over, attempt cap, or 410 Gone).
    pub failed: i64,
}

/// Counts the backlog from the partial indexes on pending and failed events (migration 0009).
pub async fn backlog(db: impl PgExecutor<'_>) -> Result<Backlog, StoreError> {
    let (pending, oldest, failed): (i64, Option<f64>, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM webhook_outbox WHERE status = 'pending'),
                (SELECT EXTRACT(EPOCH FROM now() - min(created_at))::float8
                   FROM webhook_outbox WHERE status = 'pending'),
                (SELECT count(*) FROM webhook_outbox WHERE status = 'failed')",
    )
    .fetch_one(db)
    .await?;
    Ok(Backlog {
        pending,
        oldest_pending_secs: oldest.unwrap_or(0.0).max(0.0),
        failed,
    })
}
