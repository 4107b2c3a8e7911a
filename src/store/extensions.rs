//! The `extensions` table.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, FromRow, PgExecutor};

use super::{Page, StoreError};
use crate::domain::extension::ExtensionSpec;

#[derive(Debug, Clone, FromRow)]
pub struct ExtensionRow {
    pub id: i64,
    pub extension: String,
    pub domain: String,
    pub password: Option<String>,
    pub display_name: String,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ExtensionRow {
    pub fn spec(&self) -> ExtensionSpec {
        ExtensionSpec {
            extension: self.extension.clone(),
            domain: self.domain.clone(),
            password: self.password.clone(),
            display_name: self.display_name.clone(),
            enabled: self.enabled,
        }
    }
}

const COLUMNS: &str =
    "id, extension, domain, password, display_name, enabled, created_at, updated_at";

pub async fn insert(
    db: impl PgExecutor<'_>,
    s: &ExtensionSpec,
) -> Result<ExtensionRow, StoreError> {
    let sql = format!(
        "INSERT INTO extensions (extension, domain, password, display_name, enabled)
         VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
    );
    sqlx::query_as(AssertSqlSafe(sql))
        .bind(&s.extension)
        .bind(&s.domain)
        .bind(&s.password)
        .bind(&s.display_name)
        .bind(s.enabled)
        .fetch_one(db)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => StoreError::Conflict(describe(&s.extension, &s.domain)),
            other => other,
        })
}

fn describe(extension: &str, domain: &str) -> String {
    if domain.is_empty() {
        format!("extension {extension} already exists")
    } else {
        format!("extension {extension}@{domain} already exists")
    }
}

/// One extension; `for_update` locks the row for a read-modify-write in a transaction.
pub async fn get(
    db: impl PgExecutor<'_>,
    extension: &str,
    domain: &str,
    for_update: bool,
) -> Result<Option<ExtensionRow>, StoreError> {
    let lock = if for_update { " FOR UPDATE" } else { "" };
    let sql =
        format!("SELECT {COLUMNS} FROM extensions WHERE extension = $1 AND domain = $2{lock}");
    Ok(sqlx::query_as(AssertSqlSafe(sql))
        .bind(extension)
        .bind(domain)
        .fetch_optional(db)
        .await?)
}

/// Updates the mutable fields; the number and domain identify the row and do not change.
pub async fn update(
    db: impl PgExecutor<'_>,
    id: i64,
    s: &ExtensionSpec,
) -> Result<ExtensionRow, StoreError> {
    let sql = format!(
        "UPDATE extensions SET password = $2, display_name = $3, enabled = $4, updated_at = now()
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as(AssertSqlSafe(sql))
        .bind(id)
        .bind(&s.password)
        .bind(&s.display_name)
        .bind(s.enabled)
        .fetch_one(db)
        .await?)
}

/// Deletes one extension; false when there was none.
pub async fn delete(
    db: impl PgExecutor<'_>,
    extension: &str,
    domain: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM extensions WHERE extension = $1 AND domain = $2")
        .bind(extension)
        .bind(domain)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Extensions ordered by number, with the total count for paging.
pub async fn list(
    db: impl PgExecutor<'_> + Copy,
    page: Page,
    enabled: Option<bool>,
) -> Result<(Vec<ExtensionRow>, i64), StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM extensions WHERE ($1::boolean IS NULL OR enabled = $1)
         ORDER BY extension, domain LIMIT $2 OFFSET $3"
    );
    let rows = sqlx::query_as(AssertSqlSafe(sql))
        .bind(enabled)
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(db)
        .await?;
    let total = sqlx::query_scalar(
        "SELECT count(*) FROM extensions WHERE ($1::boolean IS NULL OR enabled = $1)",
    )
    .bind(enabled)
    .fetch_one(db)
    .await?;
    Ok((rows, total))
}

/// The extension with this number, enabled ones first, then the one in the default domain.
pub async fn find_by_number(
    db: impl PgExecutor<'_>,
    extension: &str,
) -> Result<Option<ExtensionRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM extensions WHERE extension = $1
         ORDER BY enabled DESC, domain <> '', domain LIMIT 1"
    );
    Ok(sqlx::query_as(AssertSqlSafe(sql))
        .bind(extension)
        .fetch_optional(db)
        .await?)
}

/// The extension FreeSWITCH asks for as `extension@domain`: the one stored with exactly that
/// domain (compared case-insensitively, as SIP domains are), else, when
/// `default_domain_matches`, the one stored without a domain. `domain` must not be empty.
pub async fn find_for_domain(
    db: impl PgExecutor<'_>,
    extension: &str,
    domain: &str,
    default_domain_matches: bool,
) -> Result<Option<ExtensionRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM extensions
         WHERE extension = $1 AND (lower(domain) = lower($2) OR ($3 AND domain = ''))
         ORDER BY domain = '' LIMIT 1"
    );
    Ok(sqlx::query_as(AssertSqlSafe(sql))
        .bind(extension)
        .bind(domain)
        .bind(default_domain_matches)
        .fetch_optional(db)
        .await?)
}
