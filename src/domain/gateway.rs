//! Lines (SIP trunks, FreeSWITCH gateways): the fields a caller may set and the rules that make
//! them safe in `sofia/gateway/NAME/...`, in `sip_profiles/external/NAME.xml` and in routing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::text::{
    check_digits, check_host, check_len_and_controls, check_secret, check_token, reject_dollar,
};
use super::{FieldError, flex, province};

/// SIP transport towards the carrier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        match s {
            "udp" => Ok(Transport::Udp),
            "tcp" => Ok(Transport::Tcp),
            "tls" => Ok(Transport::Tls),
            _ => Err(FieldError::new(field, "must be one of udp, tcp, tls")),
        }
    }
}

/// Gateway params that callplane writes itself; `params` may not override them.
const MANAGED_PARAMS: &[&str] = &[
    "username",
    "password",
    "realm",
    "proxy",
    "register-proxy",
    "register",
    "register-transport",
    "from-user",
    "from-domain",
    "caller-id-in-from",
    "expire-seconds",
    "retry-seconds",
    "ping",
];

/// Fields of a gateway as a caller sends them; all optional so that one type serves create
/// (where `name` and `realm` are required) and partial update. An empty string clears an
/// optional text field.
#[derive(Debug, Default, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewayFields {
    /// 1-64 of A-Z a-z 0-9 `_ . -`, starting with a letter or digit; fixed after create.
    pub name: Option<String>,
    /// Carrier address: IP or host name.
    pub realm: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_i64")]
    #[schema(value_type = Option<u16>)]
    pub port: Option<i64>,
    /// `udp` (default), `tcp` or `tls`.
    pub transport: Option<String>,
    /// Register with the carrier (needs `username` and `password`); false for IP-authenticated trunks.
    #[serde(default, deserialize_with = "flex::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub register: Option<bool>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from_user: Option<String>,
    pub from_domain: Option<String>,
    /// 主叫送: the caller number this line must send.
    pub caller_id: Option<String>,
    /// Put the caller ID in the From header (FreeSWITCH `caller-id-in-from`); default true.
    #[serde(default, deserialize_with = "flex::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub caller_id_in_from: Option<bool>,
    /// 被叫加前缀: digits put before every callee number.
    pub prefix: Option<String>,
    /// 并发: live calls allowed at once; 0 = no cap.
    #[serde(default, deserialize_with = "flex::opt_i64")]
    #[schema(value_type = Option<i32>)]
    pub max_concurrent: Option<i64>,
    /// 限制: calls per callee per day; 0 = no cap.
    #[serde(default, deserialize_with = "flex::opt_i64")]
    #[schema(value_type = Option<i32>)]
    pub callee_daily_limit: Option<i64>,
    /// 盲区: provinces this line cannot reach (names, full names, abbreviations or pinyin).
    #[serde(default, deserialize_with = "flex::opt_list")]
    #[schema(value_type = Option<Vec<String>>)]
    pub blind_areas: Option<Vec<String>>,
    /// Lower is tried first among default lines; default 100.
    #[serde(default, deserialize_with = "flex::opt_i64")]
    #[schema(value_type = Option<i32>)]
    pub priority: Option<i64>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_i64")]
    #[schema(value_type = Option<i32>)]
    pub expire_seconds: Option<i64>,
    #[serde(default, deserialize_with = "flex::opt_i64")]
    #[schema(value_type = Option<i32>)]
    pub retry_seconds: Option<i64>,
    /// SIP OPTIONS ping interval in seconds; 0 = no ping. Default 30, so a dead line shows as down.
    #[serde(default, deserialize_with = "flex::opt_i64")]
    #[schema(value_type = Option<i32>)]
    pub ping: Option<i64>,
    /// Extra gateway params written as-is (escaped) into the gateway XML, e.g. `{"dtmf-type": "rfc2833"}`.
    pub params: Option<BTreeMap<String, String>>,
}

/// A validated gateway, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewaySpec {
    pub name: String,
    pub realm: String,
    pub port: u16,
    pub transport: Transport,
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
    pub params: BTreeMap<String, String>,
}

fn required<T>(field: &str, v: Option<T>) -> Result<T, FieldError> {
    v.ok_or_else(|| FieldError::new(field, "is required"))
}

fn in_range(field: &str, v: i64, lo: i64, hi: i64) -> Result<i32, FieldError> {
    if (lo..=hi).contains(&v) {
        Ok(v as i32)
    } else {
        Err(FieldError::new(
            field,
            format!("must be between {lo} and {hi}"),
        ))
    }
}

fn opt_text(v: String) -> Option<String> {
    (!v.is_empty()).then_some(v)
}

impl GatewaySpec {
    /// Builds a new gateway from create fields, with defaults for what is left out.
    pub fn create(mut f: GatewayFields) -> Result<Self, FieldError> {
        let name = required("name", f.name.take())?;
        let realm = required("realm", f.realm.clone())?;
        let base = GatewaySpec {
            name,
            realm,
            port: 5060,
            transport: Transport::Udp,
            register: false,
            username: None,
            password: None,
            from_user: None,
            from_domain: None,
            caller_id: None,
            caller_id_in_from: true,
            prefix: String::new(),
            max_concurrent: 0,
            callee_daily_limit: 0,
            blind_areas: Vec::new(),
            priority: 100,
            enabled: true,
            expire_seconds: 3600,
            retry_seconds: 30,
            ping: 30,
            params: BTreeMap::new(),
        };
        base.patched(f)
    }

    /// Applies an update: given fields replace stored ones and the whole is validated again
    /// (so turning `register` on without credentials is refused).
    pub fn patched(mut self, f: GatewayFields) -> Result<Self, FieldError> {
        if let Some(n) = f.name
            && n != self.name
        {
            return Err(FieldError::new(
                "name",
                "cannot be changed; delete and create the gateway instead",
            ));
        }
        if let Some(v) = f.realm {
            self.realm = v;
        }
        if let Some(v) = f.port {
            self.port = in_range("port", v, 1, 65535)? as u16;
        }
        if let Some(v) = f.transport {
            self.transport = Transport::parse("transport", &v)?;
        }
        if let Some(v) = f.register {
            self.register = v;
        }
        if let Some(v) = f.username {
            self.username = opt_text(v);
        }
        if let Some(v) = f.password {
            self.password = opt_text(v);
        }
        if let Some(v) = f.from_user {
            self.from_user = opt_text(v);
        }
        if let Some(v) = f.from_domain {
            self.from_domain = opt_text(v);
        }
        if let Some(v) = f.caller_id {
            self.caller_id = opt_text(v);
        }
        if let Some(v) = f.caller_id_in_from {
            self.caller_id_in_from = v;
        }
        if let Some(v) = f.prefix {
            self.prefix = v;
        }
        if let Some(v) = f.max_concurrent {
            self.max_concurrent = in_range("max_concurrent", v, 0, 100_000)?;
        }
        if let Some(v) = f.callee_daily_limit {
            self.callee_daily_limit = in_range("callee_daily_limit", v, 0, 10_000)?;
        }
        if let Some(v) = f.blind_areas {
            self.blind_areas = province::normalize_list("blind_areas", &v)?;
        }
        if let Some(v) = f.priority {
            self.priority = in_range("priority", v, 0, 10_000)?;
        }
        if let Some(v) = f.enabled {
            self.enabled = v;
        }
        if let Some(v) = f.expire_seconds {
            self.expire_seconds = in_range("expire_seconds", v, 60, 86_400)?;
        }
        if let Some(v) = f.retry_seconds {
            self.retry_seconds = in_range("retry_seconds", v, 5, 86_400)?;
        }
        if let Some(v) = f.ping {
            self.ping = in_range("ping", v, 0, 3_600)?;
        }
        if let Some(v) = f.params {
            self.params = v;
        }
        self.validate()?;
        Ok(self)
    }

    fn validate(&self) -> Result<(), FieldError> {
        check_token("name", &self.name, 64)?;
        check_host("realm", &self.realm)?;
        if let Some(u) = &self.username {
            check_sip_user("username", u)?;
        }
        if let Some(p) = &self.password {
            check_secret("password", p, 128)?;
        }
        if let Some(u) = &self.from_user {
            check_sip_user("from_user", u)?;
        }
        if let Some(d) = &self.from_domain {
            check_host("from_domain", d)?;
        }
        if let Some(c) = &self.caller_id {
            check_digits("caller_id", c, 3, 20)?;
        }
        if !self.prefix.is_empty() {
            check_digits("prefix", &self.prefix, 1, 16)?;
        }
        if self.register {
            if self.username.is_none() {
                return Err(FieldError::new(
                    "username",
                    "is required when register is true",
                ));
            }
            if self.password.is_none() {
                return Err(FieldError::new(
                    "password",
                    "is required when register is true",
                ));
            }
        }
        self.params.iter().try_for_each(|(k, v)| check_param(k, v))
    }
}

/// The user part of a SIP URI as carriers hand them out: letters, digits, `_ . - +`.
fn check_sip_user(field: &str, v: &str) -> Result<(), FieldError> {
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'+'));
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "must be 1-64 characters from A-Z, a-z, 0-9, '_', '.', '-', '+'",
        ))
    }
}

fn check_param(name: &str, value: &str) -> Result<(), FieldError> {
    let field = format!("params.{name}");
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !name_ok {
        return Err(FieldError::new(
            field,
            "param names are 1-64 characters from a-z, 0-9, '-', '_'",
        ));
    }
    if MANAGED_PARAMS.contains(&name) {
        return Err(FieldError::new(
            field,
            "is set through its own field, not through params",
        ));
    }
    check_len_and_controls(&field, value, 0, 256)?;
    reject_dollar(&field, value)
}

#[cfg(test)]
mod tests;
