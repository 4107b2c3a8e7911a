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
    pub calls: CallsConfig,
    pub recording: RecordingConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CallsConfig {
    /// IANA time zone whose calendar day the per-callee daily limit counts in.
    pub timezone: String,
    /// Hangup causes that end the line failover (the callee declined or is busy).
    pub stop_failover_on: Vec<String>,
    pub originate_timeout_secs: u32,
    /// A call whose originate job has not answered after this long is marked failed.
    pub job_timeout_secs: u64,
    /// How often open calls are checked for ones FreeSWITCH never reported on.
    pub sweep_interval_ms: u64,
    /// After an answered call ends, how long to wait for its recording before the webhook says
    /// `absent` (a late recording then sends `call.recording_ready`).
    pub recording_wait_secs: u64,
    /// After a call ends, how long to wait for its CDR before the webhook goes out with
    /// `"cdr": null` (FreeSWITCH not posting CDRs must not hold webhooks forever).
    pub cdr_wait_secs: u64,
    /// Numbers click-to-call refuses to dial (emergency services by default).
    pub blocked_numbers: Vec<String>,
    /// What the caller hears while the callee rings (tone_stream or file).
    pub ringback: String,
    /// Played to the caller when the callee cannot be reached, before hanging up.
    pub closing_playback: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecordingConfig {
    /// Directory on the FreeSWITCH host where calls are recorded (date folders below it).
    pub dir: String,
    /// `wav` or `mp3` (mp3 needs mod_shout on the switch).
    pub format: String,
    /// How the switch uploads a finished recording: `curl_hook`, `curl_sendfile` or `none`.
    pub upload: crate::originate::UploadMode,
}

impl Default for CallsConfig {
    fn default() -> Self {
        CallsConfig {
            timezone: "Asia/Shanghai".into(),
            stop_failover_on: vec!["USER_BUSY".into(), "CALL_REJECTED".into()],
            originate_timeout_secs: 45,
            job_timeout_secs: 90,
            sweep_interval_ms: 5000,
            recording_wait_secs: 60,
            cdr_wait_secs: 300,
            blocked_numbers: ["110", "112", "119", "120", "122", "911", "999"]
                .map(String::from)
                .to_vec(),
            ringback: "%(1000,4000,450)".into(),
            closing_playback: "tone_stream://%(350,350,450);loops=4".into(),
        }
    }
}

impl Default for RecordingConfig {
    fn default() -> Self {
        RecordingConfig {
            dir: "/var/lib/freeswitch/recordings/callplane".into(),
            format: "wav".into(),
            upload: crate::originate::UploadMode::CurlHook,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    pub keys: Vec<Secret>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FsapiConfig {
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub allow: Vec<String>,
    /// Largest CDR post accepted on `/fsapi/cdr`, in bytes; larger posts get 413.
    pub cdr_max_bytes: usize,
}

impl Default for FsapiConfig {
    fn default() -> Self {
        FsapiConfig {
            user: None,
            password: None,
            allow: Vec::new(),
            cdr_max_bytes: 10 * 1024 * 1024,
        }
    }
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookConfig {
    pub url: Option<String>,
    pub secret: Option<Secret>,
    pub previous_secret: Option<Secret>,
    pub retry_for_secs: u64,
    pub max_attempts: u32,
    pub backoff_base_ms: u64,
    pub backoff_max_secs: u64,
    pub retry_after_max_secs: u64,
    pub connect_timeout_ms: u64,
    pub timeout_ms: u64,
    pub poll_interval_ms: u64,
    pub batch_size: u16,
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
            calls: CallsConfig::default(),
            recording: RecordingConfig::default(),
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

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            url: None,
            secret: None,
            previous_secret: None,
            retry_for_secs: 24 * 3600,
            max_attempts: 0,
            backoff_base_ms: 5000,
            backoff_max_secs: 3600,
            retry_after_max_secs: 3600,
            connect_timeout_ms: 5000,
            timeout_ms: 20_000,
            poll_interval_ms: 1000,
            batch_size: 8,
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
        if self.fsapi.cdr_max_bytes < 1024 {
            return Err(bad("fsapi.cdr_max_bytes", "must be at least 1024"));
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
        crate::webhooks::check_config(&self.webhook)?;
        if self.http.body_limit_bytes < 1024 {
            return Err(bad("http.body_limit_bytes", "must be at least 1024"));
        }
        self.validate_calls()?;
        if self.database.max_connections == 0 {
            return Err(bad("database.max_connections", "must be at least 1"));
        }
        Ok(())
    }

    fn validate_calls(&self) -> Result<(), ConfigError> {
        let safe = |v: &str, extra: &str| {
            !v.is_empty()
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c) || extra.contains(c))
        };
        if let Some(u) = &self.public_url
            && !safe(u, ":/[]%")
        {
            return Err(bad(
                "public_url (CALLPLANE_PUBLIC_URL)",
                "may contain only letters, digits and : / . _ - [ ] % (it is put into FreeSWITCH commands)",
            ));
        }
        let c = &self.calls;
        if !safe(&c.timezone, "/+") {
            return Err(bad(
                "calls.timezone",
                "must be an IANA time zone name such as Asia/Shanghai",
            ));
        }
        if c.stop_failover_on
            .iter()
            .any(|x| !x.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') || x.is_empty())
        {
            return Err(bad(
                "calls.stop_failover_on",
                "must be hangup cause names such as USER_BUSY",
            ));
        }
        if !(5..=600).contains(&c.originate_timeout_secs) {
            return Err(bad(
                "calls.originate_timeout_secs",
                "must be between 5 and 600",
            ));
        }
        if !(100..=600_000).contains(&c.sweep_interval_ms) {
            return Err(bad(
                "calls.sweep_interval_ms",
                "must be between 100 and 600000",
            ));
        }
        if c.job_timeout_secs < 5 {
            return Err(bad("calls.job_timeout_secs", "must be at least 5"));
        }
        if c.blocked_numbers
            .iter()
            .any(|n| n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit() || b == b'+'))
        {
            return Err(bad(
                "calls.blocked_numbers",
                "must be numbers (digits, optional leading +)",
            ));
        }
        for (key, v) in [
            ("calls.ringback", &c.ringback),
            ("calls.closing_playback", &c.closing_playback),
        ] {
            if !safe(v, "/:%(),;=") {
                return Err(bad(
                    key,
                    "may contain only letters, digits and / : % ( ) , ; = . _ -",
                ));
            }
        }
        let r = &self.recording;
        if !r.dir.starts_with('/') || !safe(&r.dir, "/") || r.dir.contains("..") {
            return Err(bad(
                "recording.dir",
                "must be an absolute path of letters, digits and / . _ -",
            ));
        }
        if !matches!(r.format.as_str(), "wav" | "mp3") {
            return Err(bad("recording.format", "must be wav or mp3"));
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
