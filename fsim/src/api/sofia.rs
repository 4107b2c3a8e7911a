//! `sofia status` / `sofia xmlstatus` in mod_sofia's exact layouts (cmd_status and
//! cmd_xml_status in mod_sofia.c): `%25s\t%s\t  %40s\t%s` rows between 97-character `=` rules,
//! the single-gateway key/tab/value dump, and the ISO-8859-1 XML documents.

use crate::state::{Gateway, Shared, World};
use crate::text::{local_stamp, now_micros, xml_escape};

const LINE: &str = "=================================================================================================";
const XML_HEADER: &str = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>";

/// `sofia <args>`.
pub fn sofia(shared: &Shared, arg: &str) -> String {
    let argv: Vec<&str> = arg.split_whitespace().collect();
    match argv.first().copied() {
        Some("status") => status(shared, &argv[1..]),
        Some("xmlstatus") => xmlstatus(shared, &argv[1..]),
        _ => "-ERR Usage: sofia status|xmlstatus [profile|gateway] [<name>]\n".into(),
    }
}

fn profile_url(w: &World, name: &str, url: &Option<String>) -> String {
    url.clone().unwrap_or_else(|| {
        let port = if name == "external" { 5080 } else { 5060 };
        format!("sip:mod_sofia@{}:{port}", w.cfg.ipv4)
    })
}

fn inuse(shared: &Shared, profile: &str) -> usize {
    let prefix = format!("sofia/{profile}/");
    shared
        .channels()
        .iter()
        .filter(|c| c.leg.name.starts_with(&prefix))
        .count()
}

fn register_to(g: &Gateway) -> String {
    format!("sip:{}@{}", g.cfg.username, g.cfg.realm)
}

fn status(shared: &Shared, argv: &[&str]) -> String {
    if argv.len() == 1 {
        return gateway_summary(shared);
    }
    if argv.len() > 1 {
        return match argv[0] {
            "gateway" => gateway_detail(shared, argv[1]),
            "profile" if argv.get(2) == Some(&"reg") => {
                let mut out = profile_detail(shared, argv[1]);
                out.push_str(&registrations_block(shared, argv[1]));
                out
            }
            "profile" => profile_detail(shared, argv[1]),
            _ => "Invalid Syntax!\n".into(),
        };
    }
    let profiles: Vec<_> = shared.world().cfg.profiles.clone();
    let inuse: Vec<usize> = profiles.iter().map(|p| inuse(shared, &p.name)).collect();
    let w = shared.world();
    let mut out = format!(
        "{:>25}\t{}\t  {:>40}\t{}\n{LINE}\n",
        "Name", "   Type", "Data", "State"
    );
    for (p, n) in profiles.iter().zip(inuse) {
        // mod_sofia prints a TLS-only profile once, with its TLS URL and a (TLS) marker.
        let tls = if p.tls { " (TLS)" } else { "" };
        out.push_str(&format!(
            "{:>25}\t{}\t  {:>40}\t{} ({n}){tls}\n",
            p.name,
            "profile",
            profile_url(&w, &p.name, &p.url),
            "RUNNING"
        ));
        for g in w.gateways.iter().filter(|g| g.cfg.profile == p.name) {
            let key = format!("{}::{}", p.name, g.cfg.name);
            out.push_str(&format!(
                "{key:>25}\t{}\t  {:>40}\t{}{}\n",
                "gateway",
                register_to(g),
                g.cfg.state,
                retry(g)
            ));
        }
    }
    for a in &w.cfg.aliases {
        out.push_str(&format!(
            "{:>25}\t{}\t  {:>40}\t{}\n",
            a.name, "  alias", a.profile, "ALIASED"
        ));
    }
    let (c, ac) = (profiles.len(), w.cfg.aliases.len());
    out.push_str(&format!(
        "{LINE}\n{c} profile{} {ac} alias{}\n",
        if c == 1 { "" } else { "s" },
        if ac == 1 { "" } else { "es" }
    ));
    out
}

/// FAILED and TRYING gateways show when they retry.
fn retry(g: &Gateway) -> &'static str {
    if matches!(g.cfg.state.as_str(), "FAILED" | "TRYING") {
        " (retry: 30s)"
    } else {
        ""
    }
}

fn gateway_summary(shared: &Shared) -> String {
    let w = shared.world();
    let mut out = format!(
        "{:>25}\t{:>32}\t{}\t{:>9}\t{}\t{}\n{LINE}\n",
        "Profile::Gateway-Name",
        "    Data    ",
        "State",
        "Ping Time",
        "IB Calls(F/T)",
        "OB Calls(F/T)"
    );
    let (mut obf, mut ob) = (0, 0);
    for g in &w.gateways {
        obf += g.failed_out;
        ob += g.calls_out;
        let key = format!("{}::{}", g.cfg.profile, g.cfg.name);
        out.push_str(&format!(
            "{key:>25}\t{:>32}\t{}\t{:>6.2}\t{}/{}\t{}/{}{}\n",
            register_to(g),
            g.cfg.state,
            0.0,
            0,
            0,
            g.failed_out,
            g.calls_out,
            retry(g)
        ));
    }
    let c = w.gateways.len();
    out.push_str(&format!(
        "{LINE}\n{c} gateway{}: Inbound(Failed/Total): 0/0,Outbound(Failed/Total):{obf}/{ob}\n",
        if c == 1 { "" } else { "s" }
    ));
    out
}

fn gateway_detail(shared: &Shared, name: &str) -> String {
    let w = shared.world();
    let Some(g) = w.gateways.iter().find(|g| g.cfg.name == name) else {
        return "Invalid Gateway!\n".into();
    };
    let c = &g.cfg;
    let up = c.status.eq_ignore_ascii_case("UP");
    let uptime = if up {
        now_micros().saturating_sub(g.up_since_us) / 1_000_000
    } else {
        0
    };
    let rows = [
        ("Name    ", c.name.clone()),
        ("Profile ", c.profile.clone()),
        ("Scheme  ", "Digest".into()),
        ("Realm   ", c.realm.clone()),
        ("Username", c.username.clone()),
        ("Password", if c.password { "yes" } else { "no" }.into()),
        ("From    ", format!("<sip:{}@{}>", c.username, c.realm)),
        (
            "Contact ",
            format!(
                "<sip:gw+{}@{}:5080;transport=udp;gw={}>",
                c.name, w.cfg.ipv4, c.name
            ),
        ),
        ("Exten   ", c.username.clone()),
        ("To      ", register_to(g)),
        (
            "Proxy   ",
            format!("sip:{}", c.proxy.clone().unwrap_or_else(|| c.realm.clone())),
        ),
        ("Context ", "public".into()),
        ("Expires ", c.expires.to_string()),
        ("Freq    ", c.expires.to_string()),
        ("Ping    ", "0".into()),
        ("PingFreq", "0".into()),
        ("PingTime", "0.00".into()),
        ("PingState", "0/0/0".into()),
        ("State   ", c.state.clone()),
        ("Status  ", if up { "UP" } else { "DOWN" }.into()),
        ("Uptime  ", format!("{uptime}s")),
        ("CallsIN ", "0".into()),
        ("CallsOUT", g.calls_out.to_string()),
        ("FailedCallsIN", "0".into()),
        ("FailedCallsOUT", g.failed_out.to_string()),
    ];
    let mut out = format!("{LINE}\n");
    for (k, v) in rows {
        out.push_str(&format!("{k}\t{v}\n"));
    }
    out.push_str(&format!("{LINE}\n"));
    out
}

fn profile_detail(shared: &Shared, name: &str) -> String {
    let regs = shared
        .world()
        .registrations
        .iter()
        .filter(|r| r.cfg.profile == name)
        .count();
    let n = inuse(shared, name);
    let w = shared.world();
    let Some(p) = w.cfg.profiles.iter().find(|p| p.name == name) else {
        return "Invalid Profile!\n".into();
    };
    let url = profile_url(&w, &p.name, &p.url);
    let _ = n;
    let ip = w.cfg.ipv4.clone();
    let rows = [
        ("Name             ", p.name.clone()),
        ("Domain Name      ", "N/A".into()),
        ("Auto-NAT         ", "false".into()),
        ("DBName           ", format!("sofia_reg_{}", p.name)),
        ("Pres Hosts       ", ip.clone()),
        ("Dialplan         ", "XML".into()),
        ("Context          ", "public".into()),
        ("Challenge Realm  ", "auto_from".into()),
        ("RTP-IP           ", ip.clone()),
        ("SIP-IP           ", ip),
        ("URL              ", url.clone()),
        (
            "BIND-URL         ",
            format!("{url};maddr={};transport=udp,tcp", w.cfg.ipv4),
        ),
        ("HOLD-MUSIC       ", "local_stream://moh".into()),
        ("OUTBOUND-PROXY   ", "N/A".into()),
        ("CODECS IN        ", "PCMU,PCMA".into()),
        ("CODECS OUT       ", "PCMU,PCMA".into()),
        ("TEL-EVENT        ", "101".into()),
        ("DTMF-MODE        ", "rfc2833".into()),
        ("CNG              ", "13".into()),
        ("SESSION-TO       ", "0".into()),
        ("MAX-DIALOG       ", "0".into()),
        ("NOMEDIA          ", "false".into()),
        ("LATE-NEG         ", "true".into()),
        ("PROXY-MEDIA      ", "false".into()),
        ("ZRTP-PASSTHRU    ", "true".into()),
        ("AGGRESSIVENAT    ", "false".into()),
        ("CALLS-IN         ", "0".into()),
        ("FAILED-CALLS-IN  ", "0".into()),
        ("CALLS-OUT        ", "0".into()),
        ("FAILED-CALLS-OUT ", "0".into()),
        ("REGISTRATIONS    ", regs.to_string()),
    ];
    let mut out = format!("{LINE}\n");
    for (k, v) in rows {
        out.push_str(&format!("{k}\t{v}\n"));
    }
    out
}

/// The `Registrations:` section `sofia status profile NAME reg` appends, one block of
/// `Key:<pad>value` lines per registration, laid out like the pbxmate capture
/// (fixtures/api/fsdocs_pbxmate_sofia_status_profile_registrations_block.txt), then the item
/// count as mod_sofia prints it.
fn registrations_block(shared: &Shared, profile: &str) -> String {
    let w = shared.world();
    let mut out = format!("Registrations:\n{LINE}\n");
    let mut n = 0;
    for r in w.registrations.iter().filter(|r| r.cfg.profile == profile) {
        let c = &r.cfg;
        let realm = c.realm.clone().unwrap_or_else(|| w.cfg.ipv4.clone());
        let proto = c.network_proto.to_ascii_uppercase();
        let rows = [
            ("Call-ID:", r.call_id.clone()),
            ("User:", format!("{}@{realm}", c.user)),
            (
                "Contact:",
                format!(
                    "\"{}\" <sip:{}@{}:{}>",
                    c.user, c.user, c.network_ip, c.network_port
                ),
            ),
            ("Agent:", c.user_agent.clone()),
            (
                "Status:",
                format!(
                    "Registered({proto})(unknown) EXP({})",
                    local_stamp(r.expires_epoch * 1_000_000)
                ),
            ),
            ("Host:", w.cfg.hostname.clone()),
            ("IP:", c.network_ip.clone()),
            ("Port:", c.network_port.to_string()),
            ("Auth-User:", c.user.clone()),
            ("Auth-Realm:", realm.clone()),
            ("MWI-Account:", format!("{}@{realm}", c.user)),
        ];
        for (k, v) in rows {
            out.push_str(&format!("{k:<16}{v}\n"));
        }
        out.push('\n');
        n += 1;
    }
    out.push_str(&format!("Total items returned: {n}\n{LINE}\n"));
    out
}

fn xml_gateway(g: &Gateway, out: &mut String) {
    let c = &g.cfg;
    let up = c.status.eq_ignore_ascii_case("UP");
    let uptime = if up {
        now_micros().saturating_sub(g.up_since_us)
    } else {
        0
    };
    let from = xml_escape(&format!("<sip:{}@{}>", c.username, c.realm));
    let rows: [(&str, String); 28] = [
        ("name", c.name.clone()),
        ("profile", c.profile.clone()),
        ("scheme", "Digest".into()),
        ("realm", c.realm.clone()),
        ("username", c.username.clone()),
        ("password", if c.password { "yes" } else { "no" }.into()),
        ("from", from),
        (
            "contact",
            xml_escape(&format!(
                "<sip:gw+{}@127.0.0.1:5080;transport=udp;gw={}>",
                c.name, c.name
            )),
        ),
        ("exten", c.username.clone()),
        ("to", register_to(g)),
        (
            "proxy",
            format!("sip:{}", c.proxy.clone().unwrap_or_else(|| c.realm.clone())),
        ),
        ("context", "public".into()),
        ("expires", c.expires.to_string()),
        ("freq", c.expires.to_string()),
        ("ping", "0".into()),
        ("pingfreq", "0".into()),
        ("pingmin", "0".into()),
        ("pingcount", "0".into()),
        ("pingmax", "0".into()),
        ("pingtime", "0.00".into()),
        ("pinging", "0".into()),
        ("state", c.state.clone()),
        ("status", if up { "UP" } else { "DOWN" }.into()),
        ("uptime-usec", uptime.to_string()),
        ("calls-in", "0".into()),
        ("calls-out", g.calls_out.to_string()),
        ("failed-calls-in", "0".into()),
        ("failed-calls-out", g.failed_out.to_string()),
    ];
    out.push_str("  <gateway>\n");
    for (k, v) in rows {
        out.push_str(&format!("    <{k}>{v}</{k}>\n"));
    }
    if !retry(g).is_empty() {
        out.push_str("    <retry>30s</retry>\n");
    }
    out.push_str("  </gateway>\n");
}

fn xmlstatus(shared: &Shared, argv: &[&str]) -> String {
    let w = shared.world();
    match argv {
        [_] => {
            let mut out = format!("{XML_HEADER}\n<gateways>\n");
            w.gateways.iter().for_each(|g| xml_gateway(g, &mut out));
            out.push_str("</gateways>\n");
            out
        }
        ["gateway", name, ..] => match w.gateways.iter().find(|g| g.cfg.name == *name) {
            Some(g) => {
                let mut out = format!("{XML_HEADER}\n");
                xml_gateway(g, &mut out);
                out
            }
            None => "Invalid Gateway!\n".into(),
        },
        [] => {
            let mut out = format!("{XML_HEADER}\n<profiles>\n");
            for p in &w.cfg.profiles {
                let url = profile_url(&w, &p.name, &p.url);
                out.push_str(&format!(
                    "<profile>\n<name>{}</name>\n<type>profile</type>\n<data>{url}</data>\n<state>RUNNING (0)</state>\n</profile>\n",
                    p.name
                ));
                for g in w.gateways.iter().filter(|g| g.cfg.profile == p.name) {
                    out.push_str(&format!(
                        "<gateway>\n<name>{}::{}</name>\n<type>gateway</type>\n<data>{}</data>\n<state>{}</state>\n</gateway>\n",
                        p.name,
                        g.cfg.name,
                        register_to(g),
                        g.cfg.state
                    ));
                }
            }
            for a in &w.cfg.aliases {
                out.push_str(&format!(
                    "<alias>\n<name>{}</name>\n<type>alias</type>\n<data>{}</data>\n<state>ALIASED</state>\n</alias>\n",
                    a.name, a.profile
                ));
            }
            out.push_str("</profiles>\n");
            out
        }
        _ => "Invalid Syntax!\n".into(),
    }
}
