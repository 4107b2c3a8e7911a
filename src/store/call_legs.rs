//! The `call_legs` and `call_events` tables: every channel callplane asked for, and what
//! FreeSWITCH reported, in order.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgExecutor};
use utoipa::ToSchema;
use uuid::Uuid;

use super::StoreError;

/// One channel callplane asked for.
#[derive(Debug, Clone)]
pub struct NewLeg {
    pub uuid: Uuid,
    pub role: &'static str,
    pub position: i32,
    pub gateway: Option<String>,
}

/// The hangup cause given to a leg for which no channel was ever created by the time its call
/// ended: a later line of a failover chain after the customer was busy, or the customer leg
/// when the agent was not registered or declined.
pub const NOT_ATTEMPTED: &str = "NOT_ATTEMPTED";

#[derive(Debug, Clone, FromRow, Serialize, ToSchema)]
pub struct LegRow {
    pub uuid: Uuid,
    /// `caller` (rung first) or `callee`.
    pub role: String,
    pub position: i32,
    pub gateway: Option<String>,
    pub node: Option<String>,
    /// Where the leg is: `planned` (not dialled yet), `ringing` (its channel exists),
    /// `answered`, `ended` (was answered, has hung up), `refused` (ended without being
    /// answered: busy, declined, no answer or a failed line; `hangup_cause` says which) or
    /// `not_attempted` (the call ended before a channel was created for it).
    pub state: String,
    pub created_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    /// When the leg ended; for a `not_attempted` leg, when its call ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// FreeSWITCH's cause, or `NOT_ATTEMPTED`.
    pub hangup_cause: Option<String>,
}

/// The columns of `LegRow`, `state` derived from the milestones.
const LEG_COLUMNS: &str = "uuid, role, position, gateway, node,
    CASE WHEN hangup_cause = 'NOT_ATTEMPTED' THEN 'not_attempted'
         WHEN ended_at IS NOT NULL AND answered_at IS NOT NULL THEN 'ended'
         WHEN ended_at IS NOT NULL THEN 'refused'
         WHEN answered_at IS NOT NULL THEN 'answered'
         WHEN created_at IS NOT NULL THEN 'ringing'
         ELSE 'planned' END AS state,
    created_at, answered_at, ended_at, hangup_cause";

#[derive(Debug, Clone, FromRow, Serialize, ToSchema)]
pub struct EventRow {
    pub at: DateTime<Utc>,
    pub name: String,
    pub leg_uuid: Option<Uuid>,
    pub detail: Option<String>,
}

/// Inserts all of a call's legs in one statement.
pub async fn insert_legs(
    db: impl PgExecutor<'_>,
    call: Uuid,
    node: Option<&str>,
    legs: &[NewLeg],
) -> Result<(), StoreError> {
    let uuids: Vec<Uuid> = legs.iter().map(|l| l.uuid).collect();
    let roles: Vec<&str> = legs.iter().map(|l| l.role).collect();
    let positions: Vec<i32> = legs.iter().map(|l| l.position).collect();
    let gateways: Vec<Option<String>> = legs.iter().map(|l| l.gateway.clone()).collect();
    sqlx::query(
        "INSERT INTO call_legs (uuid, call_uuid, role, position, gateway, node)
         SELECT u, $2, r, p, g, $3 FROM UNNEST($1::uuid[], $4::text[], $5::int[], $6::text[]) AS t(u, r, p, g)",
    )
    .bind(&uuids)
    .bind(call)
    .bind(node)
    .bind(&roles)
    .bind(&positions)
    .bind(&gateways)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn legs(db: impl PgExecutor<'_>, call: Uuid) -> Result<Vec<LegRow>, StoreError> {
    let sql = format!(
        "SELECT {LEG_COLUMNS} FROM call_legs WHERE call_uuid = $1 ORDER BY role DESC, position"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(call)
        .fetch_all(db)
        .await?)
}

/// The leg's call and role, if callplane placed it.
pub async fn leg(db: impl PgExecutor<'_>, leg: Uuid) -> Result<Option<LegRow>, StoreError> {
    let sql = format!("SELECT {LEG_COLUMNS} FROM call_legs WHERE uuid = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(leg)
        .fetch_optional(db)
        .await?)
}

pub async fn events(db: impl PgExecutor<'_>, call: Uuid) -> Result<Vec<EventRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT at, name, leg_uuid, detail FROM call_events WHERE call_uuid = $1 ORDER BY id",
    )
    .bind(call)
    .fetch_all(db)
    .await?)
}

pub async fn record_event(
    db: impl PgExecutor<'_>,
    call: Uuid,
    name: &str,
    leg: Option<Uuid>,
    detail: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO call_events (call_uuid, name, leg_uuid, detail) VALUES ($1, $2, $3, $4)",
    )
    .bind(call)
    .bind(name)
    .bind(leg)
    .bind(detail)
    .execute(db)
    .await?;
    Ok(())
}

/// Leg milestones; each timestamp is set once. An event for a leg marked not attempted (it
/// arrived after its call ended) shows the leg did exist: the mark gives way to what the
/// event says.
pub async fn leg_event(
    db: impl PgExecutor<'_>,
    leg: Uuid,
    created: Option<DateTime<Utc>>,
    answered: Option<DateTime<Utc>>,
    ended: Option<(DateTime<Utc>, &str)>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE call_legs SET created_at = COALESCE(created_at, $2, $3, $4), answered_at = COALESCE(answered_at, $3),
            ended_at = CASE WHEN hangup_cause = 'NOT_ATTEMPTED' THEN COALESCE($4, ended_at)
                            ELSE COALESCE(ended_at, $4) END,
            hangup_cause = CASE WHEN hangup_cause = 'NOT_ATTEMPTED' THEN $5
                                ELSE COALESCE(hangup_cause, $5) END
         WHERE uuid = $1",
    )
    .bind(leg)
    .bind(created)
    .bind(answered)
    .bind(ended.map(|e| e.0))
    .bind(ended.map(|e| e.1))
    .execute(db)
    .await?;
    Ok(())
}

/// Serialises routing over capped lines across every replica until the caller's transaction
/// ends: each replica sees its own reservations at once but another replica's only when the
/// switch reports the channel, so without this two replicas could both take a last channel.
pub async fn lock_capped_routing(tx: &mut sqlx::PgConnection) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('callplane:capped-routing', 0))")
        .execute(tx)
        .await?;
    Ok(())
}

/// Channels each of `gateways` holds according to the calls every replica has committed: legs
/// of open calls that have not ended and are either up (created) or the first of their chain
/// (reserved, about to be dialled). Later legs of a chain count once the switch creates them.
pub async fn open_legs_per_gateway(
    db: impl PgExecutor<'_>,
    gateways: &[String],
) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT l.gateway, count(*) FROM calls c JOIN call_legs l ON l.call_uuid = c.uuid
         WHERE c.state NOT IN ('completed', 'failed') AND l.gateway = ANY($1)
           AND l.ended_at IS NULL AND (l.created_at IS NOT NULL OR l.position = 0)
         GROUP BY l.gateway",
    )
    .bind(gateways)
    .fetch_all(db)
    .await?)
}
