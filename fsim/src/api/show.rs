//! `show registrations|channels|calls [as json|as xml]` in mod_commands' formats: CSV with a
//! header row, a blank line and `N total.`; compact JSON `{"row_count":N,"rows":[...]}` with
//! every value a string (`{"row_count":0}` when empty); `<result row_count>` XML.

use crate::call::leg::Leg;
use crate::state::Shared;
use crate::text::{local_stamp, xml_escape};

const REG_COLS: [&str; 10] = [
    "reg_user",
    "realm",
    "token",
    "url",
    "expires",
    "network_ip",
    "network_port",
    "network_proto",
    "hostname",
    "metadata",
];

const CHAN_COLS: [&str; 38] = [
    "uuid",
    "direction",
    "created",
    "created_epoch",
    "name",
    "state",
    "cid_name",
    "cid_num",
    "ip_addr",
    "dest",
    "application",
    "application_data",
    "dialplan",
    "context",
    "read_codec",
    "read_rate",
    "read_bit_rate",
    "write_codec",
    "write_rate",
    "write_bit_rate",
    "secure",
    "hostname",
    "presence_id",
    "presence_data",
    "accountcode",
    "callstate",
    "callee_name",
    "callee_num",
    "callee_direction",
    "call_uuid",
    "sent_callee_name",
    "sent_callee_num",
    "initial_cid_name",
    "initial_cid_num",
    "initial_ip_addr",
    "initial_dest",
    "initial_dialplan",
    "initial_context",
];

/// The `basic_calls` view: the A-leg's columns, then its bridged B-leg's prefixed `b_`.
const CALL_A_COLS: [&str; 21] = [
    "uuid",
    "direction",
    "created",
    "created_epoch",
    "name",
    "state",
    "cid_name",
    "cid_num",
    "ip_addr",
    "dest",
    "presence_id",
    "presence_data",
    "accountcode",
    "callstate",
    "callee_name",
    "callee_num",
    "callee_direction",
    "call_uuid",
    "hostname",
    "sent_callee_name",
    "sent_callee_num",
];

/// `show <what> [as json|xml]`.
pub fn show(shared: &Shared, arg: &str) -> String {
    let argv: Vec<&str> = arg.split_whitespace().collect();
    let format = match argv.iter().position(|a| a.eq_ignore_ascii_case("as")) {
        Some(i) => argv
            .get(i + 1)
            .map(|f| f.to_ascii_lowercase())
            .unwrap_or_default(),
        None => String::new(),
    };
    let host = shared.world().cfg.hostname.clone();
    let (cols, rows): (Vec<String>, Vec<Vec<String>>) = match argv.first().copied() {
        Some("registrations") => {
            let w = shared.world();
            let rows = w
                .registrations
                .iter()
                .map(|r| {
                    let c = &r.cfg;
                    let realm = c.realm.clone().unwrap_or_else(|| w.cfg.ipv4.clone());
                    let transport = if c.network_proto == "udp" { String::new() } else { format!(";transport={}", c.network_proto.to_ascii_uppercase()) };
                    vec![
                        c.user.clone(),
                        realm,
                        r.call_id.clone(),
                        format!("sofia/{}/sip:{}@{}:{}{transport}", c.profile, c.user, c.network_ip, c.network_port),
                        r.expires_epoch.to_string(),
                        c.network_ip.clone(),
                        c.network_port.to_string(),
                        c.network_proto.clone(),
                        host.clone(),
                        String::new(),
                    ]
                })
                .collect();
            (REG_COLS.iter().map(|s| s.to_string()).collect(), rows)
        }
        Some("channels") => {
            let legs: Vec<Leg> = shared.channels().iter().map(|c| c.leg.clone()).collect();
            let rows = legs.iter().map(|l| channel_row(l, &host)).collect();
            (CHAN_COLS.iter().map(|s| s.to_string()).collect(), rows)
        }
        Some("calls") => {
            let legs: Vec<Leg> = shared.channels().iter().map(|c| c.leg.clone()).collect();
            let mut cols: Vec<String> = CALL_A_COLS.iter().map(|s| s.to_string()).collect();
            cols.extend(CALL_A_COLS.iter().filter(|c| !matches!(**c, "call_uuid" | "hostname")).map(|c| format!("b_{c}")));
            cols.push("call_created_epoch".into());
            let rows = legs
                .iter()
                .filter(|l| !l.is_b_leg)
                .map(|a| {
                    let mut row = call_cols(a, &host);
                    let b = a.other.as_ref().and_then(|o| legs.iter().find(|l| l.uuid == o.uuid));
                    let b_row = b.map(|b| call_cols(b, &host)).unwrap_or_else(|| vec![String::new(); CALL_A_COLS.len()]);
                    row.extend(b_row.into_iter().enumerate().filter(|(i, _)| !matches!(CALL_A_COLS[*i], "call_uuid" | "hostname")).map(|(_, v)| v));
                    row.push((a.created_us / 1_000_000).to_string());
                    row
                })
                .collect();
            (cols, rows)
        }
        _ => return "-USAGE: codec|endpoint|application|api|dialplan|file|timer|calls [count]|channels [count|like <match string>]|calls|detailed_calls|bridged_calls|detailed_bridged_calls|aliases|complete|chat|management|modules|nat_map|say|interfaces|interface_types|tasks|limits|status\n".into(),
    };
    match format.as_str() {
        "json" => json(&cols, &rows),
        "xml" => xml(&cols, &rows),
        _ => csv(&cols, &rows),
    }
}

fn channel_row(l: &Leg, host: &str) -> Vec<String> {
    let media = l.answered_us > 0 || l.progress_media_us > 0;
    let codec = |v: &str| if media { v.to_string() } else { String::new() };
    vec![
        l.uuid.clone(),
        l.direction.clone(),
        local_stamp(l.created_us),
        (l.created_us / 1_000_000).to_string(),
        l.name.clone(),
        l.state.to_string(),
        l.cid_name.clone(),
        l.cid_num.clone(),
        String::new(),
        l.dest.clone(),
        l.application.clone(),
        l.application_data.clone(),
        "XML".into(),
        l.context.clone(),
        codec("PCMA"),
        codec("8000"),
        codec("64000"),
        codec("PCMA"),
        codec("8000"),
        codec("64000"),
        String::new(),
        host.to_string(),
        String::new(),
        String::new(),
        String::new(),
        l.call_state.to_string(),
        l.callee_name.clone(),
        l.dest.clone(),
        "SEND".into(),
        l.other
            .as_ref()
            .map(|o| {
                if l.is_b_leg {
                    o.uuid.clone()
                } else {
                    l.uuid.clone()
                }
            })
            .unwrap_or_default(),
        String::new(),
        String::new(),
        l.cid_name.clone(),
        l.cid_num.clone(),
        String::new(),
        l.dest.clone(),
        "XML".into(),
        l.context.clone(),
    ]
}

fn call_cols(l: &Leg, host: &str) -> Vec<String> {
    let full = channel_row(l, host);
    let pick = |name: &str| {
        CHAN_COLS
            .iter()
            .position(|c| *c == name)
            .map(|i| full[i].clone())
            .unwrap_or_default()
    };
    CALL_A_COLS
        .iter()
        .map(|c| match *c {
            "call_uuid" => l.uuid.clone(),
            other => pick(other),
        })
        .collect()
}

fn csv(cols: &[String], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    if !rows.is_empty() {
        out.push_str(&cols.join(","));
        out.push('\n');
        for r in rows {
            out.push_str(&r.join(","));
            out.push('\n');
        }
    }
    out.push_str(&format!("\n{} total.\n", rows.len()));
    out
}

fn json(cols: &[String], rows: &[Vec<String>]) -> String {
    if rows.is_empty() {
        return "{\"row_count\":0}".into();
    }
    let mut out = format!("{{\"row_count\":{},\"rows\":[", rows.len());
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('{');
        for (j, (c, v)) in cols.iter().zip(r).enumerate() {
            if j > 0 {
                out.push(',');
            }
            out.push_str(&serde_json::to_string(c).unwrap_or_default());
            out.push(':');
            out.push_str(&serde_json::to_string(v).unwrap_or_default());
        }
        out.push('}');
    }
    out.push_str("]}");
    out
}

fn xml(cols: &[String], rows: &[Vec<String>]) -> String {
    let mut out = format!("<result row_count=\"{}\">\n", rows.len());
    for (i, r) in rows.iter().enumerate() {
        out.push_str(&format!("  <row row_id=\"{}\">\n", i + 1));
        for (c, v) in cols.iter().zip(r) {
            out.push_str(&format!("    <{c}>{}</{c}>\n", xml_escape(v)));
        }
        out.push_str("  </row>\n");
    }
    out.push_str("</result>\n");
    out
}
