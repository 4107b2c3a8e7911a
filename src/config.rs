//! Typed configuration: built-in defaults, then an optional TOML file, then environment
//! variables (the names in the contract). `validate` reports the first bad key by name;
//! secrets are wrapped so that `Debug` and `print-config` never show them.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::net::Cidr;

/// A value that must never appear in logs or printed configuration.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

/// A database URL: shown everywhere with its password replaced by `<redacted>`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct DbUrl(String);

impl DbUrl {
    pub fn new(s: impl Into<String>) -> Self {
        DbUrl(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// `postgres://user:<redacted>@host/db`: safe for logs.
    pub fn redacted(&self) -> String {
        let s = &self.0;
        let Some(scheme_end) = s.find("://").map(|i| i + 3) else {
            return "<redacted>".into();
        };
        let rest = &s[scheme_end..];
        match (rest.find('@'), rest.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                format!(
                    "{}{}:<redacted>{}",
                    &s[..scheme_end],
                    &rest[..colon],
                    &rest[at..]
                )
            }
            _ => s.clone(),
        }
    }
}

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

impl Serialize for DbUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: DbUrl,
    pub public_url: Option<String>,
    pub domain: String,
    pub secret: Option<Secret>,
    pub api: ApiConfig,
    pub fsapi: FsapiConfig,
    pub esl: EslConfig,
    pub storage: StorageConfig,
    pub webhook: WebhookConfig,
    pub http: HttpConfig,
    pub database: DatabaseConfig,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    pub keys: Vec<Secret>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FsapiConfig {
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub allow: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EslConfig {
    pub nodes: Vec<String>,
    pub password: Secret,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    pub url: String,
    /// S3: path-style requests (`endpoint/bucket/key`) rather than virtual-hosted-style
    /// (`bucket.endpoint/key`, which Aliyun OSS requires).
    pub path_style: bool,
    /// S3 settings; unset ones come from the usual `AWS_*` environment variables.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
    /// Largest recording accepted, in bytes; larger uploads get 413.
    pub max_upload_bytes: u64,
    /// An upload that sends nothing for this long is abandoned (408).
    pub upload_read_timeout_secs: u64,
    /// Lifetime of the recording URLs handed out (webhook, call detail).
    pub url_ttl_secs: u64,
    /// Local spool: uploads being received, and recordings waiting for the bucket.
    pub spool_dir: String,
    /// Most bytes the spool holds waiting for the bucket; beyond it uploads get 503.
    pub spool_max_bytes: u64,
    /// How often spooled recordings are pushed (backing off while the bucket stays down).
    pub spool_retry_ms: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookConfig {
    pub url: Option<String>,
    pub secret: Option<Secret>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub body_limit_bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub max_connections: u32,
    pub acquire_timeout_ms: u64,
    pub statement_timeout_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: DbUrl::new("postgres://postgres@127.0.0.1:5432/callplane"),
            public_url: None,
            domain: "*".into(),
            secret: None,
            api: ApiConfig::default(),
            fsapi: FsapiConfig::default(),
            esl: EslConfig::default(),
            storage: StorageConfig::default(),
            webhook: WebhookConfig::default(),
            http: HttpConfig::default(),
            database: DatabaseConfig::default(),
        }
    }
}

impl Default for EslConfig {
    fn default() -> Self {
        EslConfig {
            nodes: vec!["127.0.0.1:8021".into()],
            password: Secret::new("ClueCon"),
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            url: "file://./data/recordings".into(),
            path_style: true,
            endpoint: None,
            region: None,
            access_key_id: None,
            secret_access_key: None,
            max_upload_bytes: 512 * 1024 * 1024,
            upload_read_timeout_secs: 30,
            url_ttl_secs: 3600,
            spool_dir: "./data/spool".into(),
            spool_max_bytes: 2 * 1024 * 1024 * 1024,
            spool_retry_ms: 10_000,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            body_limit_bytes: 16 * 1024,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            max_connections: 10,
            acquire_timeout_ms: 3000,
            statement_timeout_ms: 5000,
        }
    }
}

/// A configuration problem: the key (and the environment variable that sets it, if any) and
/// what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {key}: {problem}")]
pub struct ConfigError {
    pub key: String,
    pub problem: String,
}

fn bad(key: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.into(),
        problem: problem.into(),
    }
}

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl Config {
    /// Defaults, then the TOML file if given, then the environment (read through `env` so
    /// that tests need not touch the process environment).
    pub fn load(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut cfg = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| bad("--config", format!("cannot read {}: {e}", path.display())))?;
                Self::from_toml(&text).map_err(|e| ConfigError {
                    key: format!("{} {}", path.display(), e.key),
                    ..e
                })?
            }
            None => Config::default(),
        };
        cfg.apply_env(env)?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| {
            let msg = e.message().to_string();
            match e.span() {
                Some(span) => {
                    let line = text[..span.start].matches('\n').count() + 1;
                    bad(&format!("line {line}"), msg)
                }
                None => bad("file", msg),
            }
        })
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = env("CALLPLANE_LISTEN") {
            self.listen = v.parse().map_err(|_| {
                bad(
                    "listen (CALLPLANE_LISTEN)",
                    format!("'{v}' is not an address like 127.0.0.1:8080"),
                )
            })?;
        }
        if let Some(v) = env("DATABASE_URL") {
            self.database_url = DbUrl::new(v);
        }
        if let Some(v) = env("CALLPLANE_PUBLIC_URL") {
            self.public_url = Some(v);
        }
        if let Some(v) = env("CALLPLANE_ESL") {
            self.esl.nodes = list(&v);
        }
        if let Some(v) = env("CALLPLANE_ESL_PASSWORD") {
            self.esl.password = Secret::new(v);
        }
        if let Some(v) = env("CALLPLANE_API_KEYS") {
            self.api.keys = list(&v).into_iter().map(Secret::new).collect();
        }
        if let Some(v) = env("CALLPLANE_FSAPI_USER") {
            self.fsapi.user = Some(v);
        }
        if let Some(v) = env("CALLPLANE_FSAPI_PASSWORD") {
            self.fsapi.password = Some(Secret::new(v));
        }
        if let Some(v) = env("CALLPLANE_FSAPI_ALLOW") {
            self.fsapi.allow = list(&v);
        }
        if let Some(v) = env("CALLPLANE_STORAGE") {
            self.storage.url = v;
        }
        if let Some(v) = env("CALLPLANE_WEBHOOK_URL") {
            self.webhook.url = Some(v);
        }
        if let Some(v) = env("CALLPLANE_WEBHOOK_SECRET") {
            self.webhook.secret = Some(Secret::new(v));
        }
        if let Some(v) = env("CALLPLANE_DOMAIN") {
            self.domain = v;
        }
        if let Some(v) = env("CALLPLANE_SECRET") {
            self.secret = Some(Secret::new(v));
        }
        Ok(())
    }

    /// Checks every key; the error names the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let db = self.database_url.expose();
        if !(db.starts_with("postgres://") || db.starts_with("postgresql://")) {
            return Err(bad(
                "database_url (DATABASE_URL)",
                "must start with postgres:// or postgresql://",
            ));
        }
        db.parse::<sqlx::postgres::PgConnectOptions>()
            .map_err(|e| bad("database_url (DATABASE_URL)", e.to_string()))?;
        if crate::store::database_name(db).is_none() {
            return Err(bad(
                "database_url (DATABASE_URL)",
                "must name a database, e.g. .../callplane",
            ));
        }
        if let Some(u) = &self.public_url {
            check_http_url("public_url (CALLPLANE_PUBLIC_URL)", u)?;
        }
        if self.domain != "*" {
            crate::domain::text::check_host("x", &self.domain)
                .map_err(|_| bad("domain (CALLPLANE_DOMAIN)", "must be '*' or a host name"))?;
        }
        if let Some(s) = &self.secret
            && s.expose().len() < 16
        {
            return Err(bad(
                "secret (CALLPLANE_SECRET)",
                "must be at least 16 characters",
            ));
        }
        for k in &self.api.keys {
            if k.expose().len() < 16 || !k.expose().bytes().all(|b| b.is_ascii_graphic()) {
                return Err(bad(
                    "api.keys (CALLPLANE_API_KEYS)",
                    "each key must be at least 16 printable ASCII characters without spaces",
                ));
            }
        }
        if self.fsapi.user.is_some() != self.fsapi.password.is_some() {
            return Err(bad(
                "fsapi.user / fsapi.password (CALLPLANE_FSAPI_USER / CALLPLANE_FSAPI_PASSWORD)",
                "set both or neither",
            ));
        }
        for c in &self.fsapi.allow {
            c.parse::<Cidr>()
                .map_err(|e| bad("fsapi.allow (CALLPLANE_FSAPI_ALLOW)", format!("'{c}': {e}")))?;
        }
        if self.esl.nodes.is_empty() {
            return Err(bad(
                "esl.nodes (CALLPLANE_ESL)",
                "at least one host:port is required",
            ));
        }
        for n in &self.esl.nodes {
            check_host_port(n)
                .map_err(|p| bad("esl.nodes (CALLPLANE_ESL)", format!("'{n}': {p}")))?;
        }
        check_storage_url(&self.storage.url)?;
        self.storage.validate()?;
        if let Some(u) = &self.webhook.url {
            check_http_url("webhook.url (CALLPLANE_WEBHOOK_URL)", u)?;
        }
        if self.http.body_limit_bytes < 1024 {
            return Err(bad("http.body_limit_bytes", "must be at least 1024"));
        }
        if self.database.max_connections == 0 {
            return Err(bad("database.max_connections", "must be at least 1"));
        }
        Ok(())
    }

    /// What `serve` adds to `validate`: `/v1` without keys is only for loopback listeners.
    pub fn check_serve(&self) -> Result<(), ConfigError> {
        if self.api.keys.is_empty() && !self.listen.ip().is_loopback() {
            return Err(bad(
                "api.keys (CALLPLANE_API_KEYS)",
                format!(
                    "required when listening on a non-loopback address ({}); without keys /v1 would be open to the network",
                    self.listen
                ),
            ));
        }
        Ok(())
    }

    /// The base URL FreeSWITCH and users reach this service at, without a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.listen),
        }
    }

    /// The configuration as TOML with every secret replaced by `<redacted>`.
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self)
            .unwrap_or_else(|e| format!("# cannot render configuration: {e}\n"))
    }
}

fn check_http_url(key: &str, u: &str) -> Result<(), ConfigError> {
    let rest = u
        .strip_prefix("http://")
        .or_else(|| u.strip_prefix("https://"));
    match rest {
        Some(r)
            if !r.is_empty()
                && !r.starts_with('/')
                && !u.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Ok(())
        }
        _ => Err(bad(key, format!("'{u}' is not an http:// or https:// URL"))),
    }
}

fn check_host_port(s: &str) -> Result<(), String> {
    let (host, port) = s.rsplit_once(':').ok_or("expected host:port")?;
    port.parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or("port must be 1-65535")?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    crate::domain::text::check_host("host", host)
        .map_err(|_| "host must be an IP address or a host name".to_string())
}

impl StorageConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.max_upload_bytes == 0 {
            return Err(bad("storage.max_upload_bytes", "must be at least 1"));
        }
        if self.upload_read_timeout_secs == 0 {
            return Err(bad(
                "storage.upload_read_timeout_secs",
                "must be at least 1",
            ));
        }
        // S3 presigned URLs cannot outlive 7 days.
        if !(1..=7 * 24 * 3600).contains(&self.url_ttl_secs) {
            return Err(bad("storage.url_ttl_secs", "must be 1 to 604800 (7 days)"));
        }
        if self.spool_dir.is_empty() {
            return Err(bad("storage.spool_dir", "must name a directory"));
        }
        if self.spool_retry_ms < 10 {
            return Err(bad("storage.spool_retry_ms", "must be at least 10"));
        }
        if let Some(ep) = &self.endpoint {
            check_http_url("storage.endpoint", ep)?;
        }
        Ok(())
    }
}

fn check_storage_url(u: &str) -> Result<(), ConfigError> {
    const KEY: &str = "storage.url (CALLPLANE_STORAGE)";
    if let Some(path) = u.strip_prefix("file://") {
        if path.is_empty() {
            return Err(bad(
                KEY,
                "file:// needs a directory, e.g. file://./data/recordings",
            ));
        }
        return Ok(());
    }
    if let Some(rest) = u.strip_prefix("s3://") {
        let bucket = rest.split('/').next().unwrap_or("");
        let ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !ok {
            return Err(bad(
                KEY,
                format!("'{bucket}' is not a valid bucket name (3-63 of a-z 0-9 - .)"),
            ));
        }
        return Ok(());
    }
    Err(bad(
        KEY,
        format!("'{u}' must be file:///path or s3://bucket/prefix"),
    ))
}

#[cfg(test)]
mod tests;
