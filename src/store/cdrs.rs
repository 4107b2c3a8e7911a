//! The `cdrs` table: every CDR FreeSWITCH posted or left in its err-log-dir, stored once per
//! `(core_uuid, uuid)`, with the A- and B-leg of a call linked and API calls attached.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use super::{Page, StoreError};
use crate::cdr::Prepared;

/// The listed columns (the raw document is only in the detail).
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct CdrRow {
    pub id: i64,
    pub core_uuid: String,
    pub uuid: String,
    pub call_uuid: Option<Uuid>,
    pub other_uuid: Option<String>,
    pub leg: Option<String>,
    pub caller: Option<String>,
    pub callee: Option<String>,
    pub gateway: Option<String>,
    pub start_time: Option<DateTime<Utc>>,
    pub answer_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
    pub duration: Option<i32>,
    pub billsec: Option<i32>,
    pub hangup_cause: Option<String>,
    pub sip_disposition: Option<String>,
    pub switch_name: Option<String>,
    pub recording_path: Option<String>,
    pub format: String,
    pub encoding: String,
    pub parsed: bool,
    pub parse_error: Option<String>,
    pub late: bool,
    pub query_uuid: Option<String>,
    pub raw_size: i32,
    pub received_at: DateTime<Utc>,
}

pub(super) const COLUMNS: &str = "id, core_uuid, uuid, call_uuid, other_uuid, leg, caller, callee, gateway, \
    start_time, answer_time, end_time, duration, billsec, hangup_cause, sip_disposition, \
    switch_name, recording_path, format, encoding, parsed, parse_error, late, query_uuid, \
    raw_size, received_at";

/// A CDR row just written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub id: i64,
    /// The API call it belongs to, once linked.
    pub call_uuid: Option<Uuid>,
}

/// Stores a CDR unless one with the same `(core_uuid, uuid)` is there; true when stored.
/// Once this returns the row is committed: mod_xml_cdr only stops retrying on a 2xx.
pub async fn insert(pool: &PgPool, c: &Prepared) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let stored = insert_in(&mut tx, c).await?;
    tx.commit().await?;
    Ok(stored.is_some())
}

/// As `insert`, inside the caller's transaction, so that work caused by a new CDR (a call's
/// completion, its webhook outbox row) commits with it. None when the CDR was already stored.
/// A stored copy that could not be parsed is replaced by a parsed one of the same identity
/// (a truncated post followed by the complete retry).
pub async fn insert_in(
    tx: &mut sqlx::PgConnection,
    c: &Prepared,
) -> Result<Option<Stored>, StoreError> {
    let s = c.summary.as_ref();
    // Two legs of one call may arrive at once; serialise on the pair so each sees the other.
    let pair = match s.and_then(|s| s.other_uuid.as_deref()) {
        Some(o) if o < c.uuid.as_str() => o,
        _ => c.uuid.as_str(),
    };
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("cdr:{}:{pair}", c.core_uuid))
        .execute(&mut *tx)
        .await?;
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO cdrs (core_uuid, uuid, other_uuid, leg, caller, callee, gateway, start_time,
             answer_time, end_time, duration, billsec, hangup_cause, sip_disposition, switch_name,
             recording_path, format, encoding, parsed, parse_error, raw, raw_size, query_uuid, late)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
             $19, $20, $21, $22, $23, $24)
         ON CONFLICT (core_uuid, uuid) DO UPDATE SET other_uuid = EXCLUDED.other_uuid,
             leg = EXCLUDED.leg, caller = EXCLUDED.caller, callee = EXCLUDED.callee,
             gateway = EXCLUDED.gateway, start_time = EXCLUDED.start_time,
             answer_time = EXCLUDED.answer_time, end_time = EXCLUDED.end_time,
             duration = EXCLUDED.duration, billsec = EXCLUDED.billsec,
             hangup_cause = EXCLUDED.hangup_cause, sip_disposition = EXCLUDED.sip_disposition,
             switch_name = EXCLUDED.switch_name, recording_path = EXCLUDED.recording_path,
             format = EXCLUDED.format, encoding = EXCLUDED.encoding, parsed = true,
             parse_error = NULL, raw = EXCLUDED.raw, raw_size = EXCLUDED.raw_size,
             query_uuid = EXCLUDED.query_uuid, late = EXCLUDED.late, received_at = now()
           WHERE NOT cdrs.parsed AND EXCLUDED.parsed
         RETURNING id",
    )
    .bind(&c.core_uuid)
    .bind(&c.uuid)
    .bind(s.and_then(|s| s.other_uuid.clone()))
    .bind(s.map(|s| s.leg))
    .bind(s.and_then(|s| s.caller.clone()))
    .bind(s.and_then(|s| s.callee.clone()))
    .bind(s.and_then(|s| s.gateway.clone()))
    .bind(s.and_then(|s| s.start_time))
    .bind(s.and_then(|s| s.answer_time))
    .bind(s.and_then(|s| s.end_time))
    .bind(s.and_then(|s| s.duration))
    .bind(s.and_then(|s| s.billsec))
    .bind(s.and_then(|s| s.hangup_cause.clone()))
    .bind(s.and_then(|s| s.sip_hangup_disposition.clone()))
    .bind(s.and_then(|s| s.switch_name.clone()))
    .bind(s.and_then(|s| s.recording_path.clone()))
    .bind(c.format.as_str())
    .bind(c.encoding.as_str())
    .bind(s.is_some())
    .bind(&c.parse_error)
    .bind(&c.document)
    .bind(i32::try_from(c.document.len()).unwrap_or(i32::MAX))
    .bind(&c.query_uuid)
    .bind(c.late)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else {
        return Ok(None);
    };
    let call_uuid = match s {
        Some(s) => {
            let linked = link(&mut *tx, id).await?;
            let named =
                super::call_cdrs::attach_named(&mut *tx, id, s.call_uuid.as_deref()).await?;
            let call = named.or(linked);
            if let Some(call) = call {
                super::call_cdrs::apply_to_call(&mut *tx, id, call).await?;
            }
            call
        }
        None => None,
    };
    Ok(Some(Stored { id, call_uuid }))
}

/// Links the new row with its other leg, whichever arrived first, and attaches both to the
/// API call whose A-leg uuid is one of theirs.
async fn link(tx: &mut sqlx::PgConnection, id: i64) -> Result<Option<Uuid>, StoreError> {
    // A leg that does not name its peer (an unanswered A-leg has no bridge_uuid) learns it
    // from a stored leg that names it (the B-leg's originating_leg_uuid).
    sqlx::query(
        "UPDATE cdrs n SET other_uuid = (SELECT o.uuid FROM cdrs o
             WHERE o.core_uuid = n.core_uuid AND o.other_uuid = n.uuid AND o.id <> n.id
             ORDER BY o.id LIMIT 1)
         WHERE n.id = $1 AND n.other_uuid IS NULL",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    // ... and the stored peer learns about the new leg.
    sqlx::query(
        "UPDATE cdrs o SET other_uuid = n.uuid FROM cdrs n
         WHERE n.id = $1 AND o.core_uuid = n.core_uuid AND o.uuid = n.other_uuid
           AND o.other_uuid IS NULL",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    // The API call: our uuid, the peer's uuid, or the call the stored peer already has.
    let (uuid, other): (String, Option<String>) =
        sqlx::query_as("SELECT uuid, other_uuid FROM cdrs WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    let candidates: Vec<Uuid> = [Some(uuid.as_str()), other.as_deref()]
        .into_iter()
        .flatten()
        .filter_map(|u| Uuid::parse_str(u).ok())
        .collect();
    let call: Option<Uuid> = sqlx::query_scalar(
        "SELECT uuid FROM calls WHERE uuid = ANY($1) ORDER BY uuid = $2 DESC LIMIT 1",
    )
    .bind(&candidates)
    .bind(candidates.first().copied())
    .fetch_optional(&mut *tx)
    .await?;
    let call = match call {
        Some(c) => Some(c),
        None => {
            sqlx::query_scalar(
                "SELECT o.call_uuid FROM cdrs o JOIN cdrs n ON o.core_uuid = n.core_uuid
                 AND o.uuid = n.other_uuid WHERE n.id = $1 AND o.call_uuid IS NOT NULL LIMIT 1",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
        }
    };
    if let Some(call) = call {
        sqlx::query(
            "UPDATE cdrs SET call_uuid = $2 WHERE id = $1
                OR (call_uuid IS NULL AND (core_uuid, uuid) IN
                    (SELECT core_uuid, other_uuid FROM cdrs WHERE id = $1))",
        )
        .bind(id)
        .bind(call)
        .execute(&mut *tx)
        .await?;
    }
    Ok(call)
}

/// Filters of `GET /v1/cdr/list`, already checked.
#[derive(Debug, Clone, Default)]
pub struct CdrFilter {
    pub caller: Option<String>,
    pub callee: Option<String>,
    pub gateway: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub call_uuid: Option<Uuid>,
}

/// A page of CDRs, newest call first (CDRs without a start time by arrival), and the total.
pub async fn list(
    pool: &PgPool,
    f: &CdrFilter,
    page: Page,
) -> Result<(Vec<CdrRow>, i64), StoreError> {
    const WHERE: &str = "($1::text IS NULL OR caller = $1) AND ($2::text IS NULL OR callee = $2)
        AND ($3::text IS NULL OR gateway = $3)
        AND ($4::timestamptz IS NULL OR coalesce(start_time, received_at) >= $4)
        AND ($5::timestamptz IS NULL OR coalesce(start_time, received_at) < $5)
        AND ($6::uuid IS NULL OR call_uuid = $6)";
    let sql = format!(
        "SELECT {COLUMNS} FROM cdrs WHERE {WHERE}
         ORDER BY coalesce(start_time, received_at) DESC, id DESC LIMIT $7 OFFSET $8"
    );
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&f.caller)
        .bind(&f.callee)
        .bind(&f.gateway)
        .bind(f.from)
        .bind(f.to)
        .bind(f.call_uuid)
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(pool)
        .await?;
    let total = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM cdrs WHERE {WHERE}"
    )))
    .bind(&f.caller)
    .bind(&f.callee)
    .bind(&f.gateway)
    .bind(f.from)
    .bind(f.to)
    .bind(f.call_uuid)
    .fetch_one(pool)
    .await?;
    Ok((rows, total))
}

/// The CDR of leg `uuid` and its raw document. Should two switches have reported the same
/// uuid, the one received last.
pub async fn get(pool: &PgPool, uuid: &str) -> Result<Option<(CdrRow, Vec<u8>)>, StoreError> {
    #[derive(FromRow)]
    struct WithRaw {
        #[sqlx(flatten)]
        row: CdrRow,
        raw: Vec<u8>,
    }
    let sql = format!("SELECT {COLUMNS}, raw FROM cdrs WHERE uuid = $1 ORDER BY id DESC LIMIT 1");
    let r: Option<WithRaw> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(uuid)
        .fetch_optional(pool)
        .await?;
    Ok(r.map(|r| (r.row, r.raw)))
}

/// The caller leg's CDR of an API call (its uuid is the call's), else any CDR linked to it.
pub async fn for_call(
    db: impl sqlx::PgExecutor<'_>,
    call: Uuid,
) -> Result<Option<CdrRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM cdrs WHERE call_uuid = $1 AND parsed ORDER BY (uuid = $1::text) DESC, id LIMIT 1"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(call)
        .fetch_optional(db)
        .await?)
}
