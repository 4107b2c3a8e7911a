//! Call statistics over a recent window, read from the `calls` table: calls started per
//! minute (with how many were answered and how many ended otherwise), outcome counts and the
//! most frequent hangup causes of calls that were not answered. Minutes are the database
//! clock's, so replicas with skewed clocks draw the same chart.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgExecutor};

use super::StoreError;

/// Calls created in one minute.
#[derive(Debug, Clone, PartialEq, Serialize, FromRow, utoipa::ToSchema)]
pub struct MinuteCount {
    /// The start of the minute.
    pub minute: DateTime<Utc>,
    pub total: i64,
    pub answered: i64,
    /// Ended without being answered (no_answer, busy, failed, canceled).
    pub unanswered: i64,
}

/// How many calls share a value (a status or a hangup cause).
#[derive(Debug, Clone, PartialEq, Serialize, FromRow, utoipa::ToSchema)]
pub struct Count {
    pub key: String,
    pub count: i64,
}

/// One entry per minute of the window, oldest first, the current minute last; minutes
/// without calls are present with zeros so a chart needs no gap filling.
pub async fn per_minute(
    db: impl PgExecutor<'_>,
    minutes: i32,
) -> Result<Vec<MinuteCount>, StoreError> {
    Ok(sqlx::query_as(
        "WITH m AS (
             SELECT generate_series(date_trunc('minute', now()) - make_interval(mins => $1 - 1),
                                    date_trunc('minute', now()), interval '1 minute') AS minute
         )
         SELECT m.minute,
                count(c.uuid) AS total,
                count(c.uuid) FILTER (WHERE c.status = 'answered') AS answered,
                count(c.uuid) FILTER (WHERE c.status <> 'answered') AS unanswered
         FROM m LEFT JOIN calls c
              ON c.created_at >= m.minute AND c.created_at < m.minute + interval '1 minute'
         GROUP BY m.minute ORDER BY m.minute",
    )
    .bind(minutes)
    .fetch_all(db)
    .await?)
}

/// Calls of the window by status; calls still in progress count as `in_progress`.
pub async fn by_status(db: impl PgExecutor<'_>, minutes: i32) -> Result<Vec<Count>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT coalesce(status, 'in_progress') AS key, count(*) AS count
         FROM calls
         WHERE created_at >= date_trunc('minute', now()) - make_interval(mins => $1 - 1)
         GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    .bind(minutes)
    .fetch_all(db)
    .await?)
}

/// The ten most frequent hangup causes of the window's calls that ended unanswered.
pub async fn failure_causes(
    db: impl PgExecutor<'_>,
    minutes: i32,
) -> Result<Vec<Count>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT coalesce(hangup_cause, 'UNKNOWN') AS key, count(*) AS count
         FROM calls
         WHERE created_at >= date_trunc('minute', now()) - make_interval(mins => $1 - 1)
           AND status IS NOT NULL AND status <> 'answered'
         GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
    )
    .bind(minutes)
    .fetch_all(db)
    .await?)
}
