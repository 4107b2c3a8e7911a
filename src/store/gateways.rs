//! The `gateways` table.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, FromRow, PgExecutor};

use super::{Page, StoreError};
use crate::domain::gateway::{GatewaySpec, Transport};

#[derive(Debug, Clone, FromRow)]
pub struct GatewayRow {
    pub id: i64,
    pub name: String,
    pub realm: String,
    pub port: i32,
    pub transport: String,
    pub register: bool,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from_user: Option<String>,
    pub from_domain: Option<String>,
    pub caller_id: Option<String>,
    pub caller_id_in_from: bool,
    pub prefix: String,
    pub max_concurrent: i32,
    pub callee_daily_limit: i32,
    pub blind_areas: Vec<String>,
    pub priority: i32,
    pub enabled: bool,
    pub expire_seconds: i32,
    pub retry_seconds: i32,
    pub ping: i32,
    pub params: Json<BTreeMap<String, String>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl GatewayRow {
    /// The stored gateway as a spec; stored rows were validated on the way in.
    pub fn spec(&self) -> GatewaySpec {
        GatewaySpec {
            name: self.name.clone(),
            realm: self.realm.clone(),
            port: self.port as u16,
            transport: Transport::parse("transport", &self.transport).unwrap_or(Transport::Udp),
            register: self.register,
            username: self.username.clone(),
            password: self.password.clone(),
            from_user: self.from_user.clone(),
            from_domain: self.from_domain.clone(),
            caller_id: self.caller_id.clone(),
            caller_id_in_from: self.caller_id_in_from,
            prefix: self.prefix.clone(),
            max_concurrent: self.max_concurrent,
            callee_daily_limit: self.callee_daily_limit,
            blind_areas: self.blind_areas.clone(),
            priority: self.priority,
            enabled: self.enabled,
            expire_seconds: self.expire_seconds,
            retry_seconds: self.retry_seconds,
            ping: self.ping,
            params: self.params.0.clone(),
        }
    }
}

const COLUMNS: &str = "id, name, realm, port, transport, register, username, password, from_user, from_domain,
    caller_id, caller_id_in_from, prefix, max_concurrent, callee_daily_limit, blind_areas, priority, enabled,
    expire_seconds, retry_seconds, ping, params, created_at, updated_at";

const VALUES: &str = "realm = $2, port = $3, transport = $4, register = $5, username = $6, password = $7,
    from_user = $8, from_domain = $9, caller_id = $10, caller_id_in_from = $11, prefix = $12,
    max_concurrent = $13, callee_daily_limit = $14, blind_areas = $15, priority = $16, enabled = $17,
    expire_seconds = $18, retry_seconds = $19, ping = $20, params = $21";

fn bind_all<'q>(
    q: sqlx::query::QueryAs<'q, sqlx::Postgres, GatewayRow, sqlx::postgres::PgArguments>,
    s: &'q GatewaySpec,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, GatewayRow, sqlx::postgres::PgArguments> {
    q.bind(&s.realm)
        .bind(s.port as i32)
        .bind(s.transport.as_str())
        .bind(s.register)
        .bind(&s.username)
        .bind(&s.password)
        .bind(&s.from_user)
        .bind(&s.from_domain)
        .bind(&s.caller_id)
        .bind(s.caller_id_in_from)
        .bind(&s.prefix)
        .bind(s.max_concurrent)
        .bind(s.callee_daily_limit)
        .bind(&s.blind_areas)
        .bind(s.priority)
        .bind(s.enabled)
        .bind(s.expire_seconds)
        .bind(s.retry_seconds)
        .bind(s.ping)
        .bind(Json(&s.params))
}

pub async fn insert(db: impl PgExecutor<'_>, s: &GatewaySpec) -> Result<GatewayRow, StoreError> {
    let sql = format!(
        "INSERT INTO gateways (name, realm, port, transport, register, username, password, from_user, from_domain,
            caller_id, caller_id_in_from, prefix, max_concurrent, callee_daily_limit, blind_areas, priority,
            enabled, expire_seconds, retry_seconds, ping, params)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
         RETURNING {COLUMNS}"
    );
    bind_all(sqlx::query_as(AssertSqlSafe(sql)).bind(&s.name), s)
        .fetch_one(db)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => {
                StoreError::Conflict(format!("gateway {} already exists", s.name))
            }
            other => other,
        })
}

/// One gateway by name; `for_update` locks the row for a read-modify-write in a transaction.
pub async fn get(
    db: impl PgExecutor<'_>,
    name: &str,
    for_update: bool,
) -> Result<Option<GatewayRow>, StoreError> {
    let lock = if for_update { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {COLUMNS} FROM gateways WHERE name = $1{lock}");
    Ok(sqlx::query_as(AssertSqlSafe(sql))
        .bind(name)
        .fetch_optional(db)
        .await?)
}

pub async fn update(db: impl PgExecutor<'_>, s: &GatewaySpec) -> Result<GatewayRow, StoreError> {
    let sql = format!(
        "UPDATE gateways SET {VALUES}, updated_at = now() WHERE name = $1 RETURNING {COLUMNS}"
    );
    Ok(
        bind_all(sqlx::query_as(AssertSqlSafe(sql)).bind(&s.name), s)
            .fetch_one(db)
            .await?,
    )
}

/// Deletes one gateway; false when there was none.
pub async fn delete(db: impl PgExecutor<'_>, name: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM gateways WHERE name = $1")
        .bind(name)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Gateways in routing order (priority, then name), with the total count for paging.
pub async fn list(
    db: impl PgExecutor<'_> + Copy,
    page: Page,
    enabled: Option<bool>,
) -> Result<(Vec<GatewayRow>, i64), StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM gateways WHERE ($1::boolean IS NULL OR enabled = $1)
         ORDER BY priority, name LIMIT $2 OFFSET $3"
    );
    let rows = sqlx::query_as(AssertSqlSafe(sql))
        .bind(enabled)
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(db)
        .await?;
    let total = sqlx::query_scalar(
        "SELECT count(*) FROM gateways WHERE ($1::boolean IS NULL OR enabled = $1)",
    )
    .bind(enabled)
    .fetch_one(db)
    .await?;
    Ok((rows, total))
}

/// Every enabled gateway in routing order: the default lines.
pub async fn enabled_in_order(db: impl PgExecutor<'_>) -> Result<Vec<GatewayRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM gateways WHERE enabled ORDER BY priority, name");
    Ok(sqlx::query_as(AssertSqlSafe(sql)).fetch_all(db).await?)
}
