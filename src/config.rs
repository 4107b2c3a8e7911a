//! Typed configuration: built-in defaults, then an optional TOML file, then environment
//! variables (the names in the contract). `validate` reports the first bad key by name;
//! secrets are wrapped so that `Debug` and `print-config` never show them.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

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
    pub calls: CallsConfig,
    pub recording: RecordingConfig,
    pub limits: LimitsConfig,
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
            calls: CallsConfig::default(),
            recording: RecordingConfig::default(),
            limits: LimitsConfig::default(),
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
        if let Some(v) = env("CALLPLANE_RECORDING_DIR") {
            self.recording.dir = v;
        }
        if let Some(v) = env("CALLPLANE_SECRET") {
            self.secret = Some(Secret::new(v));
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

mod sections;
mod validate;

pub use sections::*;

#[cfg(test)]
mod tests;
