//! The configuration's sections, one struct each, with their defaults (documented key by key
//! in config/default.toml).

use serde::{Deserialize, Serialize};

use super::Secret;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CallsConfig {
    /// IANA time zone whose calendar day the per-callee daily limit counts in.
    pub timezone: String,
    /// Hangup causes that end the line failover (the callee declined, is busy or did not
    /// answer in time).
    pub stop_failover_on: Vec<String>,
    /// How long the first leg (the agent, or the caller's phone) rings.
    pub originate_timeout_secs: u32,
    /// How long the callee (the customer) rings on a line before the call gives up
    /// (`leg_timeout` on each callee leg, `call_timeout` on the bridge).
    pub callee_ring_timeout_secs: u32,
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
    /// (`CALLPLANE_RECORDING_DIR`)
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
            stop_failover_on: [
                "USER_BUSY",
                "CALL_REJECTED",
                "NO_ANSWER",
                "ALLOTTED_TIMEOUT",
            ]
            .map(String::from)
            .to_vec(),
            originate_timeout_secs: 45,
            callee_ring_timeout_secs: 45,
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
    /// The `timeout` set in mod_xml_curl's configuration (xml_curl.conf.xml), in milliseconds.
    /// callplane answers every `/fsapi/xml_curl` request before it: see
    /// [`FsapiConfig::xml_curl_deadline`].
    pub xml_curl_timeout_ms: u64,
    /// The `timeout` set in mod_xml_cdr's configuration (xml_cdr.conf.xml), in milliseconds;
    /// `/fsapi/cdr` answers before it (503 when it cannot store the CDR in time, so the
    /// switch posts it again).
    pub cdr_timeout_ms: u64,
}

impl FsapiConfig {
    /// How long callplane may take over an xml_curl answer: the switch's timeout less a margin
    /// for the network and the switch's own parsing (a quarter of it, at most 500 ms).
    pub fn xml_curl_deadline(&self) -> std::time::Duration {
        margin_below(self.xml_curl_timeout_ms)
    }

    /// How long callplane may take over a CDR post, by the same rule.
    pub fn cdr_deadline(&self) -> std::time::Duration {
        margin_below(self.cdr_timeout_ms)
    }
}

fn margin_below(timeout_ms: u64) -> std::time::Duration {
    std::time::Duration::from_millis(timeout_ms - (timeout_ms / 4).min(500))
}

impl Default for FsapiConfig {
    fn default() -> Self {
        FsapiConfig {
            user: None,
            password: None,
            allow: Vec::new(),
            cdr_max_bytes: 10 * 1024 * 1024,
            xml_curl_timeout_ms: 3000,
            cdr_timeout_ms: 10_000,
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
    /// A request's headers must arrive within this; it also closes a keep-alive connection
    /// that sends nothing for as long.
    pub header_read_timeout_ms: u64,
    /// A request's body must arrive within this from its first byte (all routes but the
    /// recording upload, which has `storage.upload_read_timeout_secs` per chunk).
    pub body_read_timeout_ms: u64,
    /// Open connections at most; more are closed on accept. Keep it under the process's file
    /// descriptor limit (`ulimit -n`) minus what the database pool and ESL need.
    pub max_connections: usize,
    /// Open connections from one peer address at most, so one client cannot take them all.
    pub max_connections_per_peer: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub max_connections: u32,
    pub acquire_timeout_ms: u64,
    pub statement_timeout_ms: u64,
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
            batch_size: 32,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            body_limit_bytes: 16 * 1024,
            header_read_timeout_ms: 5000,
            body_read_timeout_ms: 10_000,
            max_connections: 768,
            max_connections_per_peer: 256,
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

/// Admission limits on click-to-call (`http::ratelimit`); 0 turns a limit off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Click-to-call requests per second per API key (a token bucket refill rate).
    pub callback_per_key_per_sec: f64,
    /// Requests a key may send at once before the rate applies (the bucket size).
    pub callback_per_key_burst: u32,
    /// Click-to-calls per second per connected FreeSWITCH node, all callers together.
    pub callback_per_node_per_sec: f64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            callback_per_key_per_sec: 0.0,
            callback_per_key_burst: 20,
            callback_per_node_per_sec: 0.0,
        }
    }
}
