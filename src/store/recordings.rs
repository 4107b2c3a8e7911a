//! The `recordings` table: one row per call uuid, claimed by the first upload. A stored row is
//! only ever replaced by a longer recording (`take_over`, a compare-and-set on the row), and
//! never while another upload is storing it (`uploading`), so a re-run hook, a curl retry or a
//! header-only file from another leg cannot overwrite the real recording, and two uploads never
//! write the same object key at once.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use super::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Recording {
    pub call_uuid: Uuid,
    /// Object key relative to the storage root or prefix (`2026/11/26/<uuid>.wav`).
    pub storage_key: String,
    pub size: i64,
    pub content_type: String,
    pub format: String,
    /// Lowercase hex SHA-256 of the content.
    pub sha256: String,
    /// `uploading`, `stored`, `empty` (a zero-byte upload: nothing stored) or `header_only` (a
    /// WAV header without samples: stored, but not offered as the call's recording).
    pub status: String,
    pub file_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Recording {
    /// Whether the recording can be fetched (it is stored, or waiting in the spool).
    pub fn is_available(&self) -> bool {
        self.status == "stored"
    }
}

/// What an upload wants recorded.
#[derive(Debug, Clone)]
pub struct NewRecording<'a> {
    pub call_uuid: Uuid,
    pub storage_key: &'a str,
    pub size: i64,
    pub content_type: &'a str,
    pub format: &'a str,
    pub sha256: &'a str,
    pub status: &'a str,
    pub file_name: Option<&'a str>,
}

/// Either this upload now owns the call's recording, or an earlier one does.
#[derive(Debug)]
pub enum Claim {
    New,
    Existing(Recording),
}

const COLUMNS: &str = "call_uuid, storage_key, size, content_type, format, sha256, status, \
                       file_name, created_at";

/// Inserts the row unless the call already has one, and says which happened.
pub async fn claim(
    db: impl PgExecutor<'_> + Copy,
    new: &NewRecording<'_>,
) -> Result<Claim, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO recordings \
         (call_uuid, storage_key, size, content_type, format, sha256, status, file_name) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (call_uuid) DO NOTHING",
    )
    .bind(new.call_uuid)
    .bind(new.storage_key)
    .bind(new.size)
    .bind(new.content_type)
    .bind(new.format)
    .bind(new.sha256)
    .bind(new.status)
    .bind(new.file_name)
    .execute(db)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Claim::New);
    }
    match by_call_uuid(db, new.call_uuid).await? {
        Some(existing) => Ok(Claim::Existing(existing)),
        // Released between our insert and our read: the next attempt will claim it.
        None => Err(StoreError::Conflict("recording upload in progress".into())),
    }
}

/// Marks the recording as stored with its final `status` (`stored` or `header_only`). Written
/// as an upsert: if a failed concurrent upload of the same content released the claim
/// meanwhile, the row is written again rather than lost.
pub async fn mark_stored(
    db: impl PgExecutor<'_>,
    new: &NewRecording<'_>,
    status: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO recordings \
         (call_uuid, storage_key, size, content_type, format, sha256, status, file_name) \
         VALUES ($1, $2, $3, $4, $5, $6, $8, $7) \
         ON CONFLICT (call_uuid) DO UPDATE SET status = EXCLUDED.status, updated_at = now() \
         WHERE recordings.status = 'uploading' AND recordings.sha256 = EXCLUDED.sha256",
    )
    .bind(new.call_uuid)
    .bind(new.storage_key)
    .bind(new.size)
    .bind(new.content_type)
    .bind(new.format)
    .bind(new.sha256)
    .bind(new.file_name)
    .bind(status)
    .execute(db)
    .await?;
    Ok(())
}

/// Claims a call's settled recording (`stored`, `empty` or `header_only`) for a longer
/// upload: the row takes the new values as `uploading` only if it is still exactly `previous`
/// and shorter. False when another upload changed it first (the caller answers "retry").
pub async fn take_over(
    db: impl PgExecutor<'_>,
    new: &NewRecording<'_>,
    previous: &Recording,
) -> Result<bool, StoreError> {
    let updated = sqlx::query(
        "UPDATE recordings SET storage_key = $2, size = $3, content_type = $4, format = $5, \
         sha256 = $6, status = 'uploading', file_name = $7, updated_at = now() \
         WHERE call_uuid = $1 AND sha256 = $8 AND status = $9 AND status <> 'uploading' \
         AND size < $3",
    )
    .bind(new.call_uuid)
    .bind(new.storage_key)
    .bind(new.size)
    .bind(new.content_type)
    .bind(new.format)
    .bind(new.sha256)
    .bind(new.file_name)
    .bind(&previous.sha256)
    .bind(&previous.status)
    .execute(db)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Gives up a claim whose upload could not be stored, so that a retry can claim it again: the
/// row is removed, or, when the upload was replacing an earlier recording, that one is put
/// back (its object was not touched: a failed put leaves the key as it was).
pub async fn release(
    db: impl PgExecutor<'_>,
    new: &NewRecording<'_>,
    previous: Option<&Recording>,
) -> Result<(), StoreError> {
    let Some(p) = previous else {
        sqlx::query(
            "DELETE FROM recordings WHERE call_uuid = $1 AND status = 'uploading' AND sha256 = $2",
        )
        .bind(new.call_uuid)
        .bind(new.sha256)
        .execute(db)
        .await?;
        return Ok(());
    };
    sqlx::query(
        "UPDATE recordings SET storage_key = $3, size = $4, content_type = $5, format = $6, \
         sha256 = $7, status = $8, file_name = $9, updated_at = now() \
         WHERE call_uuid = $1 AND status = 'uploading' AND sha256 = $2",
    )
    .bind(new.call_uuid)
    .bind(new.sha256)
    .bind(&p.storage_key)
    .bind(p.size)
    .bind(&p.content_type)
    .bind(&p.format)
    .bind(&p.sha256)
    .bind(&p.status)
    .bind(&p.file_name)
    .execute(db)
    .await?;
    Ok(())
}

/// The recording of a call, if one was uploaded.
pub async fn by_call_uuid(
    db: impl PgExecutor<'_>,
    call_uuid: Uuid,
) -> Result<Option<Recording>, StoreError> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM recordings WHERE call_uuid = $1"
    )))
    .bind(call_uuid)
    .fetch_optional(db)
    .await?)
}
