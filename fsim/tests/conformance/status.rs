//! Status command formats compared with captured `sofia status`, `show`, and `status` output.

use crate::client::{Client, start_sim};
use crate::fixture;
use fsim::{AliasConfig, GatewayConfig, ProfileConfig, RegistrationConfig, SimConfig};

/// Expands tabs to 8-column stops, as the terminals the captures were copied from did.
fn expand_tabs(s: &str) -> String {
    let mut out = String::new();
    for line in s.split_inclusive('\n') {
        let mut col = 0;
        for ch in line.chars() {
            if ch == '\t' {
                let n = 8 - col % 8;
                out.extend(std::iter::repeat_n(' ', n));
                col += n;
            } else {
                out.push(ch);
                col = if ch == '\n' { 0 } else { col + 1 };
            }
        }
    }
    out
}

fn profile(name: &str, url: &str, tls: bool) -> ProfileConfig {
    ProfileConfig {
        name: name.into(),
        url: Some(url.into()),
        tls,
    }
}

/// The box of jkozik's 2024 README: a TLS signalwire profile with a REGED gateway, an
/// external profile with a NOREG gateway, an internal profile and one alias.
fn jkozik_2024() -> SimConfig {
    SimConfig {
        profiles: vec![
            profile("signalwire", "sip:mod_sofia@69.243.158.102:6051", true),
            profile("external", "sip:mod_sofia@69.243.158.102:5080", false),
            profile("internal", "sip:mod_sofia@192.168.100.128:5060", false),
        ],
        aliases: vec![AliasConfig {
            name: "192.168.100.128".into(),
            profile: "internal".into(),
        }],
        gateways: vec![
            GatewayConfig {
                name: "signalwire".into(),
                profile: "signalwire".into(),
                state: "REGED".into(),
                username: "4dc289a674caa985be7f3f8cc029040b".into(),
                realm: "jkozik-63eecb1e59a343e4b71567f323a71d52.sip.signalwire.com".into(),
                ..GatewayConfig::default()
            },
            GatewayConfig {
                name: "example.com".into(),
                profile: "external".into(),
                state: "NOREG".into(),
                username: "joeuser".into(),
                realm: "example.com".into(),
                ..GatewayConfig::default()
            },
        ],
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn sofia_status_reproduces_the_captured_table() {
    let capture = fixture!("api/jkozik_2024_sofia_status_signalwire_gateway_REGED.txt");
    let sim = start_sim(jkozik_2024()).await;
    let mut c = Client::authed(&sim).await;
    let ours = expand_tabs(&c.api("sofia status").await);
    let ours: Vec<&str> = ours.lines().collect();
    let theirs: Vec<&str> = capture.lines().collect();
    assert_eq!(ours.len(), theirs.len());
    // Header, rules and the count line are fixed; rows follow FreeSWITCH's hash order, so they
    // are compared as a set.
    for i in [0, 1, theirs.len() - 2, theirs.len() - 1] {
        assert_eq!(ours[i], theirs[i], "line {i}");
    }
    let mut our_rows = ours[2..ours.len() - 2].to_vec();
    let mut their_rows = theirs[2..theirs.len() - 2].to_vec();
    our_rows.sort();
    their_rows.sort();
    assert_eq!(our_rows, their_rows);
}

#[tokio::test]
async fn sofia_status_gateway_prints_the_key_value_dump() {
    let sim = start_sim(jkozik_2024()).await;
    let mut c = Client::authed(&sim).await;
    let out = c.api("sofia status gateway example.com").await;
    let lines: Vec<&str> = out.lines().collect();
    let rule = "=".repeat(97);
    assert_eq!(lines.first(), Some(&rule.as_str()));
    assert_eq!(lines.last(), Some(&rule.as_str()));
    let keys: Vec<&str> = lines[1..lines.len() - 1]
        .iter()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    // Key order and padding from cmd_status in mod_sofia.c.
    assert_eq!(
        keys,
        [
            "Name    ",
            "Profile ",
            "Scheme  ",
            "Realm   ",
            "Username",
            "Password",
            "From    ",
            "Contact ",
            "Exten   ",
            "To      ",
            "Proxy   ",
            "Context ",
            "Expires ",
            "Freq    ",
            "Ping    ",
            "PingFreq",
            "PingTime",
            "PingState",
            "State   ",
            "Status  ",
            "Uptime  ",
            "CallsIN ",
            "CallsOUT",
            "FailedCallsIN",
            "FailedCallsOUT"
        ]
    );
    assert!(out.contains("\nState   \tNOREG\n"));
    assert!(out.contains("\nTo      \tsip:joeuser@example.com\n"));
    assert_eq!(
        c.api("sofia status gateway nope").await,
        "Invalid Gateway!\n"
    );
}

#[tokio::test]
async fn gateway_state_changes_show_in_status_and_xmlstatus() {
    let sim = start_sim(jkozik_2024()).await;
    let mut c = Client::authed(&sim).await;
    assert!(sim.set_gateway_state("example.com", "FAIL_WAIT"));
    let table = c.api("sofia status").await;
    assert!(table.contains("\tgateway\t  "));
    assert!(
        table
            .lines()
            .any(|l| l.contains("external::example.com") && l.ends_with("\tFAIL_WAIT"))
    );
    let xml = c.api("sofia xmlstatus gateway").await;
    assert!(
        xml.starts_with(
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<gateways>\n  <gateway>\n"
        )
    );
    assert!(xml.contains("    <name>example.com</name>\n"));
    assert!(xml.contains("    <state>FAIL_WAIT</state>\n"));
    assert!(xml.ends_with("</gateways>\n"));
    let summary = c.api("sofia status gateway").await;
    let lines: Vec<&str> = summary.lines().collect();
    // "%25s\t%32s\t%s\t%9s\t%s\t%s" in mod_sofia.c's gateway summary.
    let header = format!(
        "    Profile::Gateway-Name\t{}    Data    \tState\tPing Time\tIB Calls(F/T)\tOB Calls(F/T)",
        " ".repeat(20)
    );
    assert_eq!(lines[0], header);
    assert_eq!(
        lines.last(),
        Some(&"2 gateways: Inbound(Failed/Total): 0/0,Outbound(Failed/Total):0/0")
    );
    let one = c.api("sofia xmlstatus gateway signalwire").await;
    assert!(one.contains("<state>REGED</state>") && !one.contains("<gateways>"));
}

#[tokio::test]
async fn show_registrations_plain_has_the_captured_layout() {
    let capture = fixture!("api/jkozik_2024_show_registrations_plain_2_total.txt");
    let cap: Vec<&str> = capture.lines().collect();
    let sim = start_sim(SimConfig {
        hostname: "u2004.kozik.net".into(),
        ..SimConfig::default()
    })
    .await;
    for (user, proto) in [("1002", "tcp"), ("1001", "tcp")] {
        sim.register(RegistrationConfig {
            user: user.into(),
            realm: Some("192.168.100.128".into()),
            network_proto: proto.into(),
            ..RegistrationConfig::default()
        });
    }
    let mut c = Client::authed(&sim).await;
    let out = c.api("show registrations").await;
    let ours: Vec<&str> = out.lines().collect();
    assert_eq!(ours.len(), cap.len());
    assert_eq!(ours[0], cap[0]);
    assert_eq!(ours[3], "");
    assert_eq!(ours[4], cap[4]);
    for (row, cap_row) in ours[1..3].iter().zip(&cap[1..3]) {
        let f: Vec<&str> = row.split(',').collect();
        assert_eq!(f.len(), cap_row.split(',').count());
        assert_eq!(f[1], "192.168.100.128");
        assert!(
            f[3].starts_with(&format!("sofia/internal/sip:{}@", f[0]))
                && f[3].ends_with(";transport=TCP")
        );
        assert!(f[4].parse::<u64>().is_ok());
        assert_eq!((f[7], f[8], f[9]), ("tcp", "u2004.kozik.net", ""));
    }
}

#[tokio::test]
async fn show_registrations_as_json_is_compact_with_string_values() {
    let sim = start_sim(SimConfig::default()).await;
    sim.register_extension("1001");
    let mut c = Client::authed(&sim).await;
    let out = c.api("show registrations as json").await;
    assert!(
        out.starts_with("{\"row_count\":1,\"rows\":[{\"reg_user\":\"1001\",\"realm\":"),
        "{out}"
    );
    assert!(!out.contains('\n'));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["rows"][0]["network_port"], "5060");
    assert!(sim.unregister_extension("1001"));
    assert_eq!(
        c.api("show registrations as json").await,
        "{\"row_count\":0}"
    );
    assert_eq!(c.api("show registrations").await, "\n0 total.\n");
}

#[tokio::test]
async fn status_has_the_captured_line_shapes() {
    let capture =
        fixture!("api/fsdocs_api_version_status_console_execute_transcript_status_output.txt");
    // The body after the version line is the `status` output (verbatim, trailing spaces kept).
    let body = capture
        .split_once("\n\n")
        .unwrap()
        .1
        .split_once("\n\n")
        .unwrap()
        .1;
    let theirs: Vec<&str> = body.lines().skip(1).collect();
    let sim = start_sim(SimConfig::default()).await;
    let mut c = Client::authed(&sim).await;
    let out = c.api("status").await;
    let ours: Vec<&str> = out.lines().collect();
    let mask = |s: &str| {
        s.chars()
            .map(|c| if c.is_ascii_digit() { '#' } else { c })
            .collect::<String>()
    };
    let squash = |s: String| {
        let mut out = s.clone();
        while out.contains("##") {
            out = out.replace("##", "#");
        }
        out
    };
    assert_eq!(ours.len(), theirs.len());
    for (i, (o, t)) in ours.iter().zip(&theirs).enumerate() {
        if i == 1 {
            assert!(o.starts_with("FreeSWITCH (Version ") && o.ends_with(") is ready"));
            continue;
        }
        assert_eq!(squash(mask(o)), squash(mask(t)), "line {i}");
    }
}

#[tokio::test]
async fn hostname_and_uuid_exists_answer_bare_values() {
    let sim = start_sim(SimConfig {
        hostname: "fs-a".into(),
        ..SimConfig::default()
    })
    .await;
    let mut c = Client::authed(&sim).await;
    assert_eq!(c.api("hostname").await, "fs-a");
    assert_eq!(
        c.api("uuid_exists 00000000-0000-0000-0000-000000000000")
            .await,
        "false"
    );
    assert_eq!(
        c.api("uuid_kill 00000000-0000-0000-0000-000000000000")
            .await,
        "-ERR No such channel!\n"
    );
}

#[tokio::test]
async fn state_file_in_toml_configures_the_box() {
    let path = std::env::temp_dir().join(format!("fsim-state-{}.toml", uuid::Uuid::new_v4()));
    std::fs::write(
        &path,
        r#"
hostname = "toml-box"
[[gateways]]
name = "carrier"
state = "NOREG"
username = "acct"
realm = "carrier.example"
[[registrations]]
user = "2001"
[[outcomes]]
prefix = "139"
outcome = "busy"
"#,
    )
    .unwrap();
    let cfg = SimConfig::load(&path).unwrap();
    std::fs::remove_file(&path).ok();
    let sim = start_sim(cfg).await;
    let mut c = Client::authed(&sim).await;
    assert_eq!(c.api("hostname").await, "toml-box");
    assert!(c.api("sofia status").await.contains("external::carrier"));
    assert!(c.api("show registrations").await.starts_with("reg_user,"));
    let r = c
        .api("originate sofia/gateway/carrier/13900000000 &park()")
        .await;
    assert_eq!(r, "-ERR USER_BUSY\n");
}

#[tokio::test]
async fn sofia_status_profile_uses_the_captured_keys_and_value_column() {
    // altanai's capture is a modern profile dump (IPs masked, alignment re-spaced by the
    // author); the pbxmate one keeps FreeSWITCH's tab alignment (values at column 24).
    let modern = fixture!("api/altanai_sofia_status_profile_internal_masked_ips.txt");
    let aligned = fixture!("api/fsdocs_pbxmate_sofia_status_profile_pbxmate.txt");
    let key = |l: &str| l.split("  ").next().unwrap().trim().to_string();
    let modern_keys: Vec<String> = modern.lines().skip(1).map(key).collect();
    let sim = start_sim(SimConfig::default()).await;
    sim.register_extension("1001");
    let mut c = Client::authed(&sim).await;
    let out = c.api("sofia status profile internal").await;
    let ours: Vec<&str> = out.lines().collect();
    assert_eq!(ours[0], "=".repeat(97));
    let our_keys: Vec<String> = ours[1..]
        .iter()
        .map(|l| l.split('\t').next().unwrap().trim().to_string())
        .collect();
    // We print no external or WebSocket addresses; every other captured key, in order.
    let expected: Vec<String> = modern_keys
        .into_iter()
        .filter(|k| {
            !matches!(
                k.as_str(),
                "Ext-RTP-IP" | "Ext-SIP-IP" | "WS-BIND-URL" | "WSS-BIND-URL"
            )
        })
        .collect();
    assert_eq!(our_keys, expected);
    assert!(out.ends_with("REGISTRATIONS    \t1\n"));
    let name_line = expand_tabs(ours[1]);
    let their_name = aligned.lines().find(|l| l.starts_with("Name ")).unwrap();
    assert_eq!(name_line.find("internal"), their_name.find("pbxmate"));
    assert_eq!(
        c.api("sofia status profile nope").await,
        "Invalid Profile!\n"
    );
}

#[tokio::test]
async fn the_readme_state_file_example_loads() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let toml_block = readme
        .split("```toml\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let path = std::env::temp_dir().join(format!("fsim-readme-{}.toml", uuid::Uuid::new_v4()));
    std::fs::write(&path, toml_block).unwrap();
    let cfg = SimConfig::load(&path);
    std::fs::remove_file(&path).ok();
    let cfg = cfg.expect("README example parses");
    assert_eq!(cfg.hostname, "fs1");
    assert_eq!(cfg.outcomes.len(), 2);
    assert!(cfg.profiles.iter().any(|p| p.tls));
    assert_eq!(cfg.cdr.retries, 2);
}

#[tokio::test]
async fn profile_reg_lists_registrations_like_the_capture() {
    let fixture = fixture!("api/fsdocs_pbxmate_sofia_status_profile_registrations_block.txt");
    let want_keys: Vec<&str> = fixture
        .lines()
        .filter_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| !k.contains(' '))
                .map(|(k, _)| k)
        })
        .collect();
    let sim = start_sim(SimConfig::default()).await;
    let mut c = Client::authed(&sim).await;
    sim.register(RegistrationConfig {
        user: "1001".into(),
        user_agent: "Zoiper rv2.10".into(),
        ..Default::default()
    });
    let body = c.api("sofia status profile internal reg").await;
    let block = &body[body
        .find("Registrations:")
        .expect("a Registrations section")..];
    let got_keys: Vec<&str> = block
        .lines()
        .filter_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| !k.contains(' '))
                .map(|(k, _)| k)
        })
        .collect();
    assert_eq!(
        got_keys[..want_keys.len()],
        want_keys[..],
        "same keys in the same order"
    );
    assert!(block.contains("Agent:          Zoiper rv2.10"), "{block}");
    assert!(block.contains("Total items returned: 1"));
    // The Call-ID matches the token `show registrations` prints.
    let regs = c.api("show registrations").await;
    let token = regs.lines().nth(1).unwrap().split(',').nth(2).unwrap();
    assert!(
        block.contains(&format!("Call-ID:        {token}")),
        "{block}\n{regs}"
    );
}
