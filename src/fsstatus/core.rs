//! The `status` command (uptime, readiness, session counts and limits) and the key/value dump
//! of `sofia status profile NAME`.

/// What `status` says about the switch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwitchStatus {
    pub uptime_secs: Option<u64>,
    /// `1.10.12 -release-...` from `FreeSWITCH (Version ...) is ready`.
    pub version: Option<String>,
    pub ready: bool,
    pub sessions_since_startup: Option<u64>,
    pub sessions: Option<u64>,
    pub sessions_peak: Option<u64>,
    /// The `sessions-per-second` limit.
    pub max_sessions_per_sec: Option<u64>,
    /// The `max-sessions` limit.
    pub max_sessions: Option<u64>,
}

fn first_number(s: &str) -> Option<u64> {
    s.split(|c: char| !c.is_ascii_digit())
        .find(|t| !t.is_empty())?
        .parse()
        .ok()
}

/// Parses `status`. Lines it does not recognise are ignored, so banners printed before (as
/// with `api version;;status` and `console_execute`) do no harm.
pub fn parse_status(body: &str) -> SwitchStatus {
    let mut st = SwitchStatus::default();
    for line in body.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("UP ") {
            let mut secs = 0u64;
            for part in rest.split(',') {
                let mut it = part.split_whitespace();
                let (Some(n), Some(unit)) =
                    (it.next().and_then(|n| n.parse::<u64>().ok()), it.next())
                else {
                    continue;
                };
                secs += match unit.trim_end_matches('s') {
                    "year" => n * 365 * 86_400,
                    "day" => n * 86_400,
                    "hour" => n * 3_600,
                    "minute" => n * 60,
                    "second" => n,
                    _ => 0,
                };
            }
            st.uptime_secs = Some(secs);
        } else if let Some(rest) = line.strip_prefix("FreeSWITCH (Version ")
            && let Some(version) = rest.strip_suffix(") is ready")
        {
            st.version = Some(version.to_string());
            st.ready = true;
        } else if line.ends_with("session(s) since startup") {
            st.sessions_since_startup = first_number(line);
        } else if line.contains("session(s) per Sec out of max") {
            st.max_sessions_per_sec = line.split("out of max").nth(1).and_then(first_number);
        } else if line.contains("session(s) - peak") {
            st.sessions = first_number(line);
            st.sessions_peak = line.split("peak").nth(1).and_then(first_number);
        } else if line.ends_with("session(s) max") {
            st.max_sessions = first_number(line);
        }
    }
    st
}

/// Parses the key/value dump of `sofia status profile NAME`: `Key<spaces or tab>Value` lines
/// after the first `====` rule, up to the next rule or a `Registrations:` section. Keys may
/// contain single spaces (`Domain Name`, `CODECS IN`); a key with no value maps to "".
pub fn parse_profile_info(body: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in body.lines().map(|l| l.trim_end_matches('\r')) {
        let t = line.trim();
        if t.len() >= 10 && t.bytes().all(|b| b == b'=') {
            if inside {
                break;
            }
            inside = true;
            continue;
        }
        if !inside || t.is_empty() {
            continue;
        }
        if t.starts_with("Registrations:") {
            break;
        }
        // The value starts after the first run of two or more spaces, or a tab.
        let split = t.find('\t').or_else(|| t.find("  "));
        let (k, v) = match split {
            Some(i) => (&t[..i], t[i..].trim()),
            None => (t, ""),
        };
        out.push((k.trim().to_string(), v.to_string()));
    }
    out
}
