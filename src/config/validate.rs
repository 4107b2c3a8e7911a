//! Checking every configuration key; each error names the key (and its environment variable).

use super::{Config, ConfigError, StorageConfig, bad};
use crate::net::Cidr;

impl Config {
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
        for (key, ms) in [
            ("fsapi.xml_curl_timeout_ms", self.fsapi.xml_curl_timeout_ms),
            ("fsapi.cdr_timeout_ms", self.fsapi.cdr_timeout_ms),
        ] {
            if !(200..=120_000).contains(&ms) {
                return Err(bad(
                    key,
                    "must be 200-120000 (milliseconds), the timeout set in FreeSWITCH",
                ));
            }
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
        for (key, ms) in [
            (
                "http.header_read_timeout_ms",
                self.http.header_read_timeout_ms,
            ),
            ("http.body_read_timeout_ms", self.http.body_read_timeout_ms),
        ] {
            if !(100..=600_000).contains(&ms) {
                return Err(bad(key, "must be 100-600000 (milliseconds)"));
            }
        }
        if self.http.max_connections == 0 || self.http.max_connections_per_peer == 0 {
            return Err(bad(
                "http.max_connections",
                "max_connections and max_connections_per_peer must be at least 1",
            ));
        }
        self.validate_calls()?;
        self.validate_limits()?;
        if self.database.max_connections == 0 {
            return Err(bad("database.max_connections", "must be at least 1"));
        }
        Ok(())
    }

    fn validate_limits(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        for (key, rate) in [
            (
                "limits.callback_per_key_per_sec",
                l.callback_per_key_per_sec,
            ),
            (
                "limits.callback_per_node_per_sec",
                l.callback_per_node_per_sec,
            ),
        ] {
            if !rate.is_finite() || !(0.0..=1_000_000.0).contains(&rate) {
                return Err(bad(key, "must be between 0 (no limit) and 1000000"));
            }
        }
        if l.callback_per_key_burst == 0 {
            return Err(bad("limits.callback_per_key_burst", "must be at least 1"));
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
        if !(5..=600).contains(&c.callee_ring_timeout_secs) {
            return Err(bad(
                "calls.callee_ring_timeout_secs",
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
                "recording.dir (CALLPLANE_RECORDING_DIR)",
                "must be an absolute path of letters, digits and / . _ -",
            ));
        }
        if !matches!(r.format.as_str(), "wav" | "mp3") {
            return Err(bad("recording.format", "must be wav or mp3"));
        }
        Ok(())
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
