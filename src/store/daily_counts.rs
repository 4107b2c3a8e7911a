//! The `callee_daily_counts` table: calls per callee per line per calendar day (限制), shared
//! by every replica.

use sqlx::PgExecutor;

use super::StoreError;

/// Calls this callee already had on each line today (the configured time zone's calendar day).
pub async fn callee_counts_today(
    db: impl PgExecutor<'_>,
    callee: &str,
    tz: &str,
) -> Result<Vec<(String, i32)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT gateway, count FROM callee_daily_counts WHERE callee = $1 AND day = (now() AT TIME ZONE $2)::date",
    )
    .bind(callee)
    .bind(tz)
    .fetch_all(db)
    .await?)
}

/// Takes one of today's `limit` slots for `callee` on `gateway`; false when none is left. One
/// conditional upsert, so concurrent requests on any replica cannot both take the last slot.
pub async fn reserve_daily(
    db: impl PgExecutor<'_>,
    gateway: &str,
    callee: &str,
    tz: &str,
    limit: i32,
) -> Result<bool, StoreError> {
    let row: Option<i32> = sqlx::query_scalar(
        "INSERT INTO callee_daily_counts (gateway, callee, day, count)
         VALUES ($1, $2, (now() AT TIME ZONE $3)::date, 1)
         ON CONFLICT (gateway, callee, day) DO UPDATE SET count = callee_daily_counts.count + 1
         WHERE callee_daily_counts.count < $4
         RETURNING count",
    )
    .bind(gateway)
    .bind(callee)
    .bind(tz)
    .bind(limit)
    .fetch_optional(db)
    .await?;
    Ok(row.is_some())
}

/// Gives back a daily slot taken for a call that was never placed.
pub async fn release_daily(
    db: impl PgExecutor<'_>,
    gateway: &str,
    callee: &str,
    tz: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE callee_daily_counts SET count = count - 1
         WHERE gateway = $1 AND callee = $2 AND day = (now() AT TIME ZONE $3)::date AND count > 0",
    )
    .bind(gateway)
    .bind(callee)
    .bind(tz)
    .execute(db)
    .await?;
    Ok(())
}
