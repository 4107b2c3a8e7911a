//! CDRs seen from the calls callplane placed or routed: a CDR that carries
//! `callplane_call_uuid` joins that call, names its parties as the call does, and tells the
//! call's leg what it knows (a leg whose events were missed still gets its times and cause);
//! the completion reads the CDRs of a call's legs from here.

use uuid::Uuid;

use super::StoreError;
use super::cdrs::{COLUMNS, CdrRow};

/// Attaches CDR `id` to `call` when it names that call in `callplane_call_uuid` and the call
/// exists (the variable is authoritative: every leg callplane dials carries it).
pub async fn attach_named(
    tx: &mut sqlx::PgConnection,
    id: i64,
    named: Option<&str>,
) -> Result<Option<Uuid>, StoreError> {
    let Some(call) = named.and_then(|u| Uuid::parse_str(u).ok()) else {
        return Ok(None);
    };
    let done = sqlx::query(
        "UPDATE cdrs SET call_uuid = $2 WHERE id = $1 AND EXISTS (SELECT 1 FROM calls WHERE uuid = $2)",
    )
    .bind(id)
    .bind(call)
    .execute(&mut *tx)
    .await?;
    Ok((done.rows_affected() > 0).then_some(call))
}

/// What a new CDR of `call` changes beyond its own row:
/// * the CDRs of the call's legs name the call's caller and callee (the business's numbers,
///   not the caller ID a line sent or the number with the line's prefix, and not the caller
///   leg's inline-transfer callflow where the agent is both caller and destination);
/// * the leg learns its times and cause (kept when events already gave them, replacing a
///   `NOT_ATTEMPTED` mark: a CDR proves the channel existed);
/// * an answered callee leg names the line the call was carried on.
pub async fn apply_to_call(
    tx: &mut sqlx::PgConnection,
    id: i64,
    call: Uuid,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE cdrs c SET caller = k.caller, callee = k.callee FROM calls k
         WHERE k.uuid = $1 AND c.call_uuid = $1 AND c.parsed
           AND c.uuid IN (SELECT uuid::text FROM call_legs WHERE call_uuid = $1)
           AND (c.caller IS DISTINCT FROM k.caller OR c.callee IS DISTINCT FROM k.callee)",
    )
    .bind(call)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE call_legs l SET created_at = COALESCE(l.created_at, c.start_time),
             answered_at = COALESCE(l.answered_at, c.answer_time),
             ended_at = CASE WHEN l.ended_at IS NULL OR l.hangup_cause = 'NOT_ATTEMPTED'
                             THEN COALESCE(c.end_time, l.ended_at) ELSE l.ended_at END,
             hangup_cause = CASE WHEN l.hangup_cause IS NULL OR l.hangup_cause = 'NOT_ATTEMPTED'
                                 THEN COALESCE(c.hangup_cause, l.hangup_cause) ELSE l.hangup_cause END
         FROM cdrs c
         WHERE c.id = $1 AND c.parsed AND l.call_uuid = $2 AND l.uuid::text = c.uuid",
    )
    .bind(id)
    .bind(call)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE calls k SET gateway = l.gateway FROM cdrs c, call_legs l
         WHERE k.uuid = $2 AND c.id = $1 AND c.answer_time IS NOT NULL AND l.call_uuid = $2
           AND l.uuid::text = c.uuid AND l.role = 'callee' AND l.gateway IS NOT NULL
           AND k.gateway IS DISTINCT FROM l.gateway",
    )
    .bind(id)
    .bind(call)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The parsed CDRs of the call's legs (by leg uuid), oldest first.
pub async fn of_legs(db: impl sqlx::PgExecutor<'_>, call: Uuid) -> Result<Vec<CdrRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM cdrs WHERE parsed
           AND uuid IN (SELECT uuid::text FROM call_legs WHERE call_uuid = $1) ORDER BY id"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(call)
        .fetch_all(db)
        .await?)
}
