//! `sofia status` (the profile/gateway/alias table) and the `Registrations:` block of
//! `sofia status profile NAME reg`.

/// What a `sofia status` row describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SofiaKind {
    Profile,
    Gateway,
    Alias,
    Other(String),
}

/// One row of `sofia status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SofiaEntry {
    /// As printed: `internal`, `external::carrier` (FreeSWITCH 1.6+) or `carrier` (older).
    pub name: String,
    pub kind: SofiaKind,
    pub data: String,
    /// `RUNNING (0)`, `REGED`, `NOREG`, `ALIASED`, `RUNNING (0) (TLS)`, ...
    pub state: String,
}

impl SofiaEntry {
    /// For a gateway row: (profile if printed, gateway name).
    pub fn gateway_name(&self) -> (Option<&str>, &str) {
        match self.name.split_once("::") {
            Some((profile, gw)) => (Some(profile), gw),
            None => (None, self.name.as_str()),
        }
    }
}

fn is_rule(line: &str) -> bool {
    line.len() >= 10 && line.bytes().all(|b| b == b'=')
}

/// Parses `sofia status`: the rows between the two `====` rules. Columns are aligned with
/// spaces (and sometimes tabs) and a long name can push the others right, so each row is read
/// as whitespace-separated name, type, data, then the rest as state.
pub fn parse_sofia_status(body: &str) -> Vec<SofiaEntry> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in body.lines().map(|l| l.trim_end_matches('\r')) {
        if is_rule(line.trim()) {
            if inside {
                break;
            }
            inside = true;
            continue;
        }
        if !inside {
            continue;
        }
        let mut parts = line.split_whitespace();
        let (Some(name), Some(kind), Some(data)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let state = parts.collect::<Vec<_>>().join(" ");
        let kind = match kind {
            "profile" => SofiaKind::Profile,
            "gateway" => SofiaKind::Gateway,
            "alias" => SofiaKind::Alias,
            other => SofiaKind::Other(other.to_string()),
        };
        out.push(SofiaEntry {
            name: name.to_string(),
            kind,
            data: data.to_string(),
            state,
        });
    }
    out
}

/// One registration from `sofia status profile NAME reg`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileRegistration {
    pub call_id: String,
    /// `user@realm`.
    pub user: String,
    pub contact: String,
    pub agent: String,
    /// e.g. `Registered(UDP)(unknown) EXP(2010-06-20 15:52:16)`.
    pub status: String,
    pub host: String,
    pub ip: String,
    pub port: String,
    pub auth_user: String,
    pub auth_realm: String,
}

impl ProfileRegistration {
    /// The expiry printed in `status`, `EXP(...)`, as FreeSWITCH's local time text.
    pub fn expires(&self) -> Option<&str> {
        let start = self.status.find("EXP(")? + 4;
        let end = self.status[start..].find(')')? + start;
        Some(&self.status[start..end])
    }
}

/// Parses the `Registrations:` section: blocks of `Key:<spaces>value` lines separated by blank
/// lines. Keys it does not know are ignored.
pub fn parse_profile_registrations(body: &str) -> Vec<ProfileRegistration> {
    let mut out = Vec::new();
    let mut cur = ProfileRegistration::default();
    let mut seen = false;
    let mut in_section = false;
    for line in body.lines().map(|l| l.trim_end_matches('\r')) {
        if line.trim_start().starts_with("Registrations:") {
            in_section = true;
            continue;
        }
        if !in_section || is_rule(line.trim()) {
            continue;
        }
        if line.trim().is_empty() {
            if seen {
                out.push(std::mem::take(&mut cur));
                seen = false;
            }
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim().to_string();
        let slot = match key.trim() {
            "Call-ID" => &mut cur.call_id,
            "User" => &mut cur.user,
            "Contact" => &mut cur.contact,
            "Agent" => &mut cur.agent,
            "Status" => &mut cur.status,
            "Host" => &mut cur.host,
            "IP" => &mut cur.ip,
            "Port" => &mut cur.port,
            "Auth-User" => &mut cur.auth_user,
            "Auth-Realm" => &mut cur.auth_realm,
            _ => continue,
        };
        *slot = value;
        seen = true;
    }
    if seen {
        out.push(cur);
    }
    out
}

/// Every `<gateway>` of `sofia xmlstatus gateway`, as child-element name -> text (`name`,
/// `profile`, `state`, `status` UP/DOWN, `pingtime`, `calls-in`, `calls-out`, ...). Read
/// generically so that added or reordered elements across FreeSWITCH versions do not matter;
/// DTDs are not processed.
pub fn parse_xml_gateways(body: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(body);
    let mut out = Vec::new();
    let mut current: Option<std::collections::BTreeMap<String, String>> = None;
    let mut field: Option<String> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let name = e.name().0.to_string();
                if name == "gateway" {
                    current = Some(Default::default());
                } else if current.is_some() {
                    field = Some(name);
                }
            }
            Ok(Event::Text(t)) => {
                if let (Some(gw), Some(f)) = (current.as_mut(), field.as_ref()) {
                    let text = t.xml_content(quick_xml::XmlVersion::Implicit1_0);
                    gw.entry(f.clone()).or_default().push_str(&text);
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let (Some(gw), Some(f)) = (current.as_mut(), field.as_ref()) {
                    let text = quick_xml::escape::resolve_predefined_entity(&r).unwrap_or("");
                    gw.entry(f.clone()).or_default().push_str(text);
                }
            }
            Ok(Event::End(e)) => {
                if e.name().0 == "gateway" {
                    out.extend(current.take());
                }
                field = None;
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    out
}
