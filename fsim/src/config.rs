//! The simulator's configuration: what the simulated FreeSWITCH looks like at start (hostname,
//! password, sofia profiles, gateways, registrations), how calls end (scripted outcomes per
//! number or prefix), and where CDRs go. Read from a TOML or JSON state file; every field has a
//! default so an empty file is a valid single-box FreeSWITCH.

use serde::Deserialize;
use std::path::Path;

/// Everything `Sim::start` needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// `FreeSWITCH-Hostname`, the `hostname` API result and the `hostname` column of `show`.
    pub hostname: String,
    /// ESL password (`auth <password>`).
    pub password: String,
    /// `FreeSWITCH-IPv4` and the default SIP address of profiles.
    pub ipv4: String,
    /// Seconds between HEARTBEAT events (FreeSWITCH's default is 20). 0 disables them.
    pub heartbeat_secs: u64,
    /// Version string shown by `status` and `version`.
    pub version: String,
    /// Sofia profiles, listed by `sofia status`.
    pub profiles: Vec<ProfileConfig>,
    /// Profile aliases (`ALIASED` rows).
    pub aliases: Vec<AliasConfig>,
    /// Gateways with their registration state.
    pub gateways: Vec<GatewayConfig>,
    /// Registered extensions (`show registrations`).
    pub registrations: Vec<RegistrationConfig>,
    /// Scripted call outcomes, first match wins: exact `number`, then longest `prefix`.
    pub outcomes: Vec<OutcomeRule>,
    /// Outcome for numbers no rule matches.
    pub default_outcome: OutcomeRule,
    /// mod_xml_cdr settings.
    pub cdr: CdrConfig,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            hostname: "fsim".into(),
            password: "ClueCon".into(),
            ipv4: "127.0.0.1".into(),
            heartbeat_secs: 20,
            version: "1.10.12-release~64bit".into(),
            profiles: vec![
                ProfileConfig {
                    name: "internal".into(),
                    url: None,
                    tls: false,
                },
                ProfileConfig {
                    name: "external".into(),
                    url: None,
                    tls: false,
                },
            ],
            aliases: Vec::new(),
            gateways: Vec::new(),
            registrations: Vec::new(),
            outcomes: Vec::new(),
            default_outcome: OutcomeRule::default(),
            cdr: CdrConfig::default(),
        }
    }
}

impl SimConfig {
    /// Reads a state file: `.json` as JSON, anything else as TOML.
    pub fn load(path: &Path) -> Result<SimConfig, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
        } else {
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
        }
    }
}

/// A sofia profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    /// e.g. `internal`.
    pub name: String,
    /// `sip:mod_sofia@IP:PORT`; defaults to the box IPv4 and 5060 (internal) or 5080.
    pub url: Option<String>,
    /// A TLS-only profile: its row's state reads `RUNNING (n) (TLS)`.
    #[serde(default)]
    pub tls: bool,
}

/// An alias row of `sofia status`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliasConfig {
    /// The alias name.
    pub name: String,
    /// The profile it points at.
    pub profile: String,
}

/// A sofia gateway.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// Gateway name as used in `sofia/gateway/<name>/<number>`.
    pub name: String,
    /// Owning profile (default `external`).
    pub profile: String,
    /// Registration state name: UNREGED, TRYING, REGISTER, REGED, UNREGISTER, FAILED,
    /// FAIL_WAIT, EXPIRED, NOREG, DOWN, TIMEOUT.
    pub state: String,
    /// `UP` or `DOWN` (the ping status). Calls through a DOWN gateway fail with GATEWAY_DOWN.
    pub status: String,
    /// Registrar host / realm.
    pub realm: String,
    /// Auth username.
    pub username: String,
    /// Whether a password is configured (printed as yes/no, never the password).
    pub password: bool,
    /// Proxy; defaults to the realm.
    pub proxy: Option<String>,
    /// Registration expiry in seconds.
    pub expires: u32,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            name: String::new(),
            profile: "external".into(),
            state: "REGED".into(),
            status: "UP".into(),
            realm: "sip.example.com".into(),
            username: "fsim".into(),
            password: true,
            proxy: None,
            expires: 3600,
        }
    }
}

/// A registered extension.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistrationConfig {
    /// Extension, e.g. `1001`.
    pub user: String,
    /// Domain / realm; defaults to the box IPv4.
    pub realm: Option<String>,
    /// Profile the phone registered to.
    pub profile: String,
    /// Phone IP address.
    pub network_ip: String,
    /// Phone port.
    pub network_port: u16,
    /// `udp`, `tcp`, `tls`, `wss`.
    pub network_proto: String,
    /// Seconds until expiry, counted from when the registration is added.
    pub expires_in: u64,
    /// User-Agent string.
    pub user_agent: String,
}

impl Default for RegistrationConfig {
    fn default() -> Self {
        RegistrationConfig {
            user: String::new(),
            realm: None,
            profile: "internal".into(),
            network_ip: "192.0.2.10".into(),
            network_port: 5060,
            network_proto: "udp".into(),
            expires_in: 3600,
            user_agent: "fsim-phone".into(),
        }
    }
}

/// How a dialled number behaves.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OutcomeRule {
    /// Exact destination number this rule applies to.
    pub number: Option<String>,
    /// Destination prefix this rule applies to.
    pub prefix: Option<String>,
    /// `answer`, `busy`, `no_answer`, `reject` (CALL_REJECTED) or `fail` (uses `cause`).
    pub outcome: String,
    /// Milliseconds of ringing before the answer or failure.
    pub ring_ms: u64,
    /// Milliseconds from answer to the callee hanging up; 0 keeps the call up until killed.
    pub talk_ms: u64,
    /// Hangup cause for `fail`, e.g. `NORMAL_TEMPORARY_FAILURE`.
    pub cause: Option<String>,
    /// Whether the far end signals ringing (180/183, CHANNEL_PROGRESS) before it answers or
    /// fails. Unset: a phone (`user/`) does when `ring_ms` > 0, a carrier when `ring_ms` is a
    /// second or more (a carrier that answers or refuses at once sends no 180).
    pub progress: Option<bool>,
}

impl Default for OutcomeRule {
    fn default() -> Self {
        OutcomeRule {
            number: None,
            prefix: None,
            outcome: "answer".into(),
            ring_ms: 100,
            talk_ms: 1000,
            cause: None,
            progress: None,
        }
    }
}

impl OutcomeRule {
    /// The hangup cause when this outcome fails the call, or None if it answers.
    pub fn failure_cause(&self) -> Option<String> {
        match self.outcome.to_ascii_lowercase().as_str() {
            "answer" => None,
            "busy" => Some("USER_BUSY".into()),
            "no_answer" => Some("NO_ANSWER".into()),
            "reject" => Some("CALL_REJECTED".into()),
            _ => Some(
                self.cause
                    .clone()
                    .unwrap_or_else(|| "NORMAL_TEMPORARY_FAILURE".into()),
            ),
        }
    }
}

/// mod_xml_cdr settings (xml_cdr.conf.xml).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CdrConfig {
    /// `url`: where CDRs are posted; none disables posting.
    pub url: Option<String>,
    /// `cred`: `user:pass` for HTTP Basic.
    pub cred: Option<String>,
    /// `retries`: retries after the first try.
    pub retries: u32,
    /// `delay`: seconds between tries; mod_xml_cdr uses 5 when retries are set and this is 0.
    pub delay_secs: u64,
    /// `log-b-leg`: also post CDRs of bridged B-legs.
    pub log_b_leg: bool,
    /// `prefix-a-leg`: the `uuid` query parameter gets an `a_` prefix for A-legs.
    pub prefix_a_leg: bool,
}

impl Default for CdrConfig {
    fn default() -> Self {
        // The vanilla xml_cdr.conf.xml sets prefix-a-leg=true and log-b-leg=false.
        CdrConfig {
            url: None,
            cred: None,
            retries: 0,
            delay_secs: 5,
            log_b_leg: false,
            prefix_a_leg: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_state_file_fills_defaults() {
        let cfg: SimConfig = serde_json::from_str(
            r#"{"hostname":"j1","gateways":[{"name":"gw","state":"NOREG"}],"outcomes":[{"number":"1","outcome":"reject"}]}"#,
        )
        .unwrap();
        assert_eq!(cfg.hostname, "j1");
        assert_eq!(cfg.password, "ClueCon");
        assert_eq!(cfg.gateways[0].profile, "external");
        assert_eq!(
            cfg.outcomes[0].failure_cause().as_deref(),
            Some("CALL_REJECTED")
        );
        assert_eq!(cfg.outcomes[0].ring_ms, 100);
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(toml::from_str::<SimConfig>("hostnme = \"typo\"").is_err());
    }

    #[test]
    fn outcomes_map_to_freeswitch_causes() {
        let r = |o: &str| OutcomeRule {
            outcome: o.into(),
            ..OutcomeRule::default()
        };
        assert_eq!(r("answer").failure_cause(), None);
        assert_eq!(r("busy").failure_cause().as_deref(), Some("USER_BUSY"));
        assert_eq!(r("no_answer").failure_cause().as_deref(), Some("NO_ANSWER"));
        assert_eq!(
            r("fail").failure_cause().as_deref(),
            Some("NORMAL_TEMPORARY_FAILURE")
        );
    }
}
