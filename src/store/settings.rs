//! Server-wide settings kept in the database.

use sqlx::PgExecutor;

use super::StoreError;

/// Returns the stored value for `key`, storing `candidate` first if there is none. When
/// several replicas start at once, all of them end up with the first value written.
pub async fn get_or_insert(
    db: impl PgExecutor<'_> + Copy,
    key: &str,
    candidate: &str,
) -> Result<String, StoreError> {
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
        .bind(key)
        .bind(candidate)
        .execute(db)
        .await?;
    Ok(
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_one(db)
            .await?,
    )
}
