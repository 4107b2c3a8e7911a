//! All SQL lives here: one file per table group, free functions over `impl PgExecutor`.
//! This module also owns connecting, creating the database and running the embedded migrations.

pub mod call_cdrs;
pub mod call_legs;
pub mod calls;
pub mod cdrs;
pub mod daily_counts;
pub mod extensions;
pub mod gateways;
pub mod recordings;
pub mod settings;
pub mod stats;
pub mod webhooks;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, PgPool};

use crate::config::DatabaseConfig;

/// Why a store call failed, in the terms callers act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write; the text names what already exists.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached or did not answer in time: retryable.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    #[error("database error: {0}")]
    Other(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            // A protocol error is a conversation with the server that broke off: a server or
            // proxy that accepts and closes while Postgres restarts fails the SSLRequest this
            // way. Retryable, like the socket errors beside it.
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_) => StoreError::Unavailable(e),
            sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => {
                StoreError::Conflict(db.constraint().unwrap_or("unique").to_string())
            }
            sqlx::Error::Database(db) if db.code().as_deref().is_some_and(unavailable_code) => {
                StoreError::Unavailable(e)
            }
            _ => StoreError::Other(e),
        }
    }
}

/// SQLSTATEs that mean "the database is not there right now" rather than "this request is
/// wrong": connection exceptions (08), insufficient resources (53, e.g. too many connections),
/// operator intervention (57: statement timeout, shutdown, restart) and a missing database.
fn unavailable_code(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("53") || code.starts_with("57") || code == "3D000"
}

/// The database name in a Postgres URL, if it names one.
pub fn database_name(url: &str) -> Option<String> {
    let opts = PgConnectOptions::from_str(url).ok()?;
    opts.get_database()
        .filter(|d| !d.is_empty())
        .map(str::to_string)
}

/// The connection options for `url`. A server on the loopback interface (or a Unix socket) is
/// reached without TLS unless the URL asks for it with `sslmode`: the bytes never leave the
/// host, and each TLS handshake cost about 100 ms of CPU here (measured: `serve` ready in
/// 244 ms with TLS, 16 ms without), paid again for every pooled connection. Remote servers keep
/// the driver's default (`prefer`); set `sslmode=verify-full` for them.
pub fn connect_options(url: &str) -> Result<PgConnectOptions, sqlx::Error> {
    let opts = PgConnectOptions::from_str(url)?;
    let asks_for_tls = url.contains("sslmode=");
    let host = opts.get_host();
    let local = host.starts_with('/')
        || host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    Ok(if local && !asks_for_tls {
        opts.ssl_mode(sqlx::postgres::PgSslMode::Disable)
    } else {
        opts
    })
}

/// Whether connecting failed because the database does not exist (SQLSTATE 3D000).
pub fn is_missing_database(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("3D000"))
}

/// Creates the database named in `url` if it does not exist yet, connecting to the `postgres`
/// maintenance database with the same credentials. Safe when several replicas start at once.
pub async fn create_database_if_missing(url: &str) -> anyhow::Result<bool> {
    let opts = connect_options(url)?;
    let name =
        database_name(url).ok_or_else(|| anyhow::anyhow!("the database URL names no database"))?;
    let mut conn = opts
        .clone()
        .database("postgres")
        .log_statements(tracing::log::LevelFilter::Debug)
        .connect()
        .await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut conn)
            .await?;
    if exists {
        conn.close().await?;
        return Ok(false);
    }
    // Identifiers cannot be bound as parameters; quote it, doubling embedded quotes.
    let sql = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
    let created = match sqlx::query(AssertSqlSafe(sql)).execute(&mut conn).await {
        Ok(_) => true,
        // 42P04 duplicate_database: another replica created it between our check and now.
        Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("42P04") => false,
        Err(e) => return Err(e.into()),
    };
    conn.close().await?;
    Ok(created)
}

/// Opens the pool with the configured limits; every connection gets the statement timeout.
pub async fn connect(url: &str, cfg: &DatabaseConfig) -> Result<PgPool, sqlx::Error> {
    let timeout = cfg.statement_timeout_ms.to_string();
    let opts = connect_options(url)?
        .application_name("callplane")
        .options([("statement_timeout", timeout.as_str())])
        .log_statements(tracing::log::LevelFilter::Trace);
    PgPoolOptions::new()
        .max_connections(cfg.max_connections)
        .acquire_timeout(Duration::from_millis(cfg.acquire_timeout_ms))
        .connect_with(opts)
        .await
}

/// Applies the embedded migrations (append-only files under `migrations/`).
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sqlx::migrate!("./migrations").run(pool).await
}

/// Page arguments already checked at the edge: `page` from 1, `size` 1..=500.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub page: u32,
    pub size: u32,
}

impl Page {
    pub fn limit(self) -> i64 {
        self.size as i64
    }
    pub fn offset(self) -> i64 {
        (self.page as i64 - 1) * self.size as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_conversation_with_the_server_is_retryable() {
        for e in [
            sqlx::Error::Protocol("unexpected response from SSLRequest: 0x00".into()),
            sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into()),
            sqlx::Error::PoolTimedOut,
            sqlx::Error::WorkerCrashed,
        ] {
            assert!(matches!(StoreError::from(e), StoreError::Unavailable(_)));
        }
        assert!(matches!(
            StoreError::from(sqlx::Error::RowNotFound),
            StoreError::Other(_)
        ));
    }

    #[test]
    fn loopback_servers_are_reached_without_tls_unless_the_url_asks() {
        use sqlx::postgres::PgSslMode;
        let mode = |url: &str| format!("{:?}", connect_options(url).unwrap().get_ssl_mode());
        for url in [
            "postgres://u@127.0.0.1:5432/db",
            "postgres://u@localhost/db",
            "postgres://u@[::1]:5432/db",
        ] {
            assert_eq!(mode(url), format!("{:?}", PgSslMode::Disable), "{url}");
        }
        assert_eq!(
            mode("postgres://u@127.0.0.1/db?sslmode=require"),
            format!("{:?}", PgSslMode::Require)
        );
        assert_eq!(
            mode("postgres://u@db.example.com/db"),
            format!("{:?}", PgSslMode::Prefer)
        );
    }
}
