//! Every API capture in the fixtures in tests/fixtures, parsed and checked field by field.

use super::*;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/api/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn show_registrations_plain_with_four_rows() {
    let (rows, total) =
        parse_show_csv(&fixture("jkozik_2025_show_registrations_plain_4_total.txt"));
    assert_eq!(total, Some(4));
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0]["reg_user"], "1002");
    assert_eq!(rows[0]["realm"], "192.168.100.128");
    assert_eq!(
        rows[0]["url"],
        "sofia/internal/sip:1002@192.168.100.94:5060"
    );
    assert_eq!(rows[0]["expires"], "1755830164");
    assert_eq!(rows[0]["network_proto"], "udp");
    assert_eq!(rows[0]["hostname"], "u2004.kozik.net");
    assert!(rows[1]["url"].starts_with("sofia/ext-phones-5070/sip:1005@10.65.11.3:29431;"));
    assert!(rows[1]["url"].contains("fs_path=sip%3A1005%40167.99.119.203"));
    assert_eq!(
        (
            rows[1]["network_ip"].as_str(),
            rows[1]["network_port"].as_str()
        ),
        ("167.99.119.203", "29431")
    );
    assert_eq!(rows[3]["metadata"], "");
}

#[test]
fn show_registrations_plain_with_two_tcp_rows() {
    let (rows, total) =
        parse_show_csv(&fixture("jkozik_2024_show_registrations_plain_2_total.txt"));
    assert_eq!((rows.len(), total), (2, Some(2)));
    assert_eq!(rows[1]["reg_user"], "1001");
    assert_eq!(rows[1]["token"], "3KBvk-7T-uLuwrJLb0FIjg..");
    assert!(rows.iter().all(|r| r["network_proto"] == "tcp"));
}

#[test]
fn show_channels_plain_csv() {
    let (rows, total) = parse_show_csv(&fixture("fsdocs_xmlapi_show_channels_plain_csv.txt"));
    assert_eq!((rows.len(), total), (1, Some(1)));
    let ch = &rows[0];
    assert_eq!(ch["uuid"], "5d2ae508-ab6b-11ea-88cb-311ce82e049e");
    assert_eq!(ch["direction"], "inbound");
    assert_eq!(ch["name"], "sofia/internal/1019@192.0.2.10");
    assert_eq!(ch["state"], "CS_EXECUTE");
    assert_eq!(ch["callstate"], "ACTIVE");
    assert_eq!(ch["application"], "echo");
    assert_eq!(ch["initial_context"], "default");
}

#[test]
fn show_channels_as_json_both_captures() {
    // Both captures were pretty-printed by jq (PROVENANCE.md); FreeSWITCH sends compact JSON,
    // which parses the same.
    let rows =
        parse_show_json(&fixture("fsdocs_xmlapi_show_channels_as_json_via_jq.json")).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["uuid"], "5d2ae508-ab6b-11ea-88cb-311ce82e049e");
    assert_eq!(rows[0]["cid_num"], "1019");
    let rows =
        parse_show_json(&fixture("fsdocs_fs_cli_show_channels_as_json_via_jq.json")).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["uuid"], "aa47bc9c-ab5e-11ea-85f1-311ce82e049e");
    assert_eq!(rows[0]["created_epoch"], "1591823366");
    assert_eq!(rows[0]["application"], "echo");
    let compact: serde_json::Value =
        serde_json::from_str(&fixture("fsdocs_xmlapi_show_channels_as_json_via_jq.json")).unwrap();
    assert_eq!(
        parse_show_json(&compact.to_string()).unwrap(),
        parse_show_json(&fixture("fsdocs_xmlapi_show_channels_as_json_via_jq.json")).unwrap()
    );
}

#[test]
fn show_json_empty_and_broken() {
    assert_eq!(parse_show_json("{\"row_count\":0}\n").unwrap().len(), 0);
    assert!(parse_show_json("-ERR no reply").is_err());
    assert!(parse_show_json("{}").is_err());
}

#[test]
fn sofia_status_with_signalwire_and_example_gateways() {
    let rows = parse_sofia_status(&fixture(
        "jkozik_2025_sofia_status_signalwire_gateway_REGED_example_gateway_NOREG_tls_profile.txt",
    ));
    assert_eq!(rows.len(), 7);
    let gws: Vec<&SofiaEntry> = rows
        .iter()
        .filter(|r| r.kind == SofiaKind::Gateway)
        .collect();
    assert_eq!(gws.len(), 2);
    assert_eq!(gws[0].gateway_name(), (Some("signalwire"), "signalwire"));
    assert_eq!(gws[0].state, "REGED");
    assert_eq!(gws[1].gateway_name(), (Some("external"), "example.com"));
    assert_eq!(gws[1].data, "sip:joeuser@example.com");
    assert_eq!(gws[1].state, "NOREG");
    let tls = rows
        .iter()
        .find(|r| r.name == "signalwire" && r.kind == SofiaKind::Profile)
        .unwrap();
    assert_eq!(tls.state, "RUNNING (0) (TLS)");
    assert_eq!(
        rows.iter().filter(|r| r.kind == SofiaKind::Alias).count(),
        1
    );
}

#[test]
fn sofia_status_older_and_edited_layouts() {
    // Prompt line, tab-aligned columns, gateway name without profile (older FreeSWITCH).
    let rows = parse_sofia_status(&fixture(
        "fsdocs_sofia_status_profile_gateway_alias_NOREG.txt",
    ));
    assert_eq!(rows.len(), 3);
    assert_eq!(
        (rows[1].gateway_name(), rows[1].state.as_str()),
        ((None, "mygateway"), "NOREG")
    );
    assert_eq!(rows[0].state, "RUNNING (2)");
    // Names wider than their column (no leading spaces).
    let rows = parse_sofia_status(&fixture(
        "fsdocs_pbxmate_sofia_status_4_profiles_2_gateways_NOREG.txt",
    ));
    let gws: Vec<_> = rows
        .iter()
        .filter(|r| r.kind == SofiaKind::Gateway)
        .map(|r| r.gateway_name().1)
        .collect();
    assert_eq!(gws, ["korusconsulting.ru", "sip.siptraffic.com"]);
    assert_eq!(
        rows.iter()
            .find(|r| r.name == "internal-ipv6")
            .unwrap()
            .data,
        "sip:mod_sofia@[::1]:5060"
    );
    // IPs masked by the author (PROVENANCE.md); the banner line comes before the table.
    let rows = parse_sofia_status(&fixture(
        "fsdocs_multihome_sofia_status_gateway_REGED_masked.txt",
    ));
    let gw = rows.iter().find(|r| r.kind == SofiaKind::Gateway).unwrap();
    assert_eq!(
        (gw.name.as_str(), gw.state.as_str()),
        ("xxx.xxx.xxx.xxx", "REGED")
    );
    assert_eq!(rows.len(), 5);
}

#[test]
fn sofia_status_on_other_hosts() {
    for (file, profiles, gateways) in [
        (
            "jkozik_2024_sofia_status_signalwire_gateway_REGED.txt",
            3,
            2,
        ),
        (
            "jkozik_2025_sofia_status_5_profiles_after_signalwire_adoption.txt",
            5,
            2,
        ),
    ] {
        let rows = parse_sofia_status(&fixture(file));
        assert_eq!(
            rows.iter().filter(|r| r.kind == SofiaKind::Profile).count(),
            profiles,
            "{file}"
        );
        let gws: Vec<_> = rows
            .iter()
            .filter(|r| r.kind == SofiaKind::Gateway)
            .collect();
        assert_eq!(gws.len(), gateways, "{file}");
        assert_eq!(gws[0].state, "REGED", "{file}");
    }
}

#[test]
fn profile_registrations_block() {
    let regs = parse_profile_registrations(&fixture(
        "fsdocs_pbxmate_sofia_status_profile_registrations_block.txt",
    ));
    assert_eq!(regs.len(), 1);
    let r = &regs[0];
    assert_eq!(r.user, "SoliCallPBXTrunk@pbxmate.network-engineer.ru");
    assert_eq!(
        r.contact,
        "\"SoliCallPBXTrunk\" <sip:SoliCallPBXTrunk@188.162.112.168:41750;rinstance=a579e27a4c7c209c>"
    );
    assert_eq!(r.agent, "X-Lite release 1104o stamp 56125");
    assert_eq!(r.expires(), Some("2010-06-20 15:52:16"));
    assert_eq!(
        (r.ip.as_str(), r.port.as_str()),
        ("188.162.112.168", "41750")
    );
    assert_eq!(r.auth_realm, "pbxmate.network-engineer.ru");
    assert_eq!(r.call_id, "MWVhNzM2YmJjM2FiNDM2MGY3NWQ1ZDg2MTdiMzIyNDc.");
}

#[test]
fn profile_dump_without_registrations_yields_none() {
    assert!(
        parse_profile_registrations(&fixture("fsdocs_pbxmate_sofia_status_profile_pbxmate.txt"))
            .is_empty()
    );
    assert!(
        parse_profile_registrations(&fixture(
            "altanai_sofia_status_profile_internal_masked_ips.txt"
        ))
        .is_empty()
    );
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut seed = 0x9e3779b97f4a7c15u64;
    let alphabet = b"=:,\n\r \t|abcREGED0123456789{}\"[]total.Registrations";
    for _ in 0..2000 {
        let len = (seed % 300) as usize;
        let text: String = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                alphabet[(seed % alphabet.len() as u64) as usize] as char
            })
            .collect();
        let _ = parse_show_csv(&text);
        let _ = parse_show_json(&text);
        let _ = parse_sofia_status(&text);
        let _ = parse_profile_registrations(&text);
    }
}

#[test]
fn xmlstatus_gateways_are_read_by_element_name() {
    // No capture of `sofia xmlstatus gateway` exists in the fixtures; this document follows the
    // element names mod_sofia.c writes (name, profile, state, status, pingtime, calls-*).
    let doc = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<gateways>\n  <gateway>\n    <name>carrier-a</name>\n    <profile>external</profile>\n    <from>&lt;sip:u@h&gt;</from>\n    <state>NOREG</state>\n    <status>UP</status>\n    <pingtime>12.50</pingtime>\n    <calls-out>3</calls-out>\n  </gateway>\n  <gateway>\n    <name>b</name>\n    <status>DOWN</status>\n  </gateway>\n</gateways>\n";
    let gws = parse_xml_gateways(doc);
    assert_eq!(gws.len(), 2);
    assert_eq!(gws[0]["name"], "carrier-a");
    assert_eq!(gws[0]["status"], "UP");
    assert_eq!(gws[0]["pingtime"], "12.50");
    assert_eq!(gws[0]["from"], "<sip:u@h>");
    assert_eq!(gws[1]["status"], "DOWN");
    assert!(parse_xml_gateways("Invalid Gateway!\n").is_empty());
    assert!(
        parse_xml_gateways("<gateways><gateway><name>x").is_empty(),
        "a truncated document yields nothing half-read"
    );
}

/// The `api/response` frames of an ESL transcript (client lines mixed in, as published),
/// cut with the service's own framer.
fn response_bodies(transcript: &str) -> Vec<String> {
    let start = transcript
        .find("Content-Type: api/response")
        .expect("a server frame");
    let mut buf = bytes::BytesMut::from(&transcript.as_bytes()[start..]);
    let mut dec = crate::esl::FrameDecoder::default();
    let mut out = Vec::new();
    while let Ok(Some(frame)) = dec.decode(&mut buf) {
        out.push(frame.body_text());
    }
    out
}

#[test]
fn status_from_fs_cli_on_1_10_12() {
    // Copied from a terminal: trailing spaces are gone (PROVENANCE.md); parsing does not need them.
    let st = parse_status(&fixture("jkozik_2024_status_fs_cli_1_10_12.txt"));
    assert_eq!(st.uptime_secs, Some(17 * 3600 + 57 * 60 + 36));
    assert!(st.ready);
    assert!(
        st.version
            .as_deref()
            .unwrap()
            .starts_with("1.10.12 -release-10222002881-a88d069d6f")
    );
    assert_eq!(
        (st.sessions_since_startup, st.sessions, st.sessions_peak),
        (Some(0), Some(0), Some(0))
    );
    assert_eq!(
        (st.max_sessions_per_sec, st.max_sessions),
        (Some(30), Some(1000))
    );
}

#[test]
fn status_inside_an_esl_transcript_with_console_execute() {
    let bodies = response_bodies(&fixture(
        "fsdocs_api_version_status_console_execute_transcript_status_output.txt",
    ));
    assert_eq!(bodies.len(), 1);
    assert_eq!(
        bodies[0].len(),
        464,
        "the body is exactly its Content-Length"
    );
    assert!(bodies[0].starts_with("FreeSWITCH Version 1.7.0+git~20160321T203641Z"));
    let st = parse_status(&bodies[0]);
    assert_eq!(st.uptime_secs, Some(5 * 60 + 39));
    assert_eq!(
        st.version.as_deref(),
        Some("1.7.0 git 9e6593a 2016-03-21 20:36:41Z 64bit")
    );
    assert_eq!(
        (st.max_sessions_per_sec, st.max_sessions),
        (Some(30), Some(1000))
    );
}

#[test]
fn command_not_found_transcript() {
    let bodies = response_bodies(&fixture(
        "fsdocs_api_version_status_command_not_found_transcript.txt",
    ));
    assert_eq!(bodies, ["-ERR version;;status Command not found!\n"]);
    assert!(!parse_status(&bodies[0]).ready);
}

#[test]
fn show_channels_as_xml() {
    let rows = parse_show_xml(&fixture("fsdocs_xmlapi_show_channels_as_xml.xml"));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["uuid"], "5d2ae508-ab6b-11ea-88cb-311ce82e049e");
    assert_eq!(rows[0]["name"], "sofia/internal/1019@192.0.2.10");
    assert_eq!(rows[0]["application_data"], "");
    assert_eq!(rows[0]["callstate"], "ACTIVE");
    // The same channel as the CSV capture of the same page.
    let (csv, _) = parse_show_csv(&fixture("fsdocs_xmlapi_show_channels_plain_csv.txt"));
    assert_eq!(rows[0], csv[0]);
}

#[test]
fn sofia_profile_dumps() {
    let info = parse_profile_info(&fixture("fsdocs_pbxmate_sofia_status_profile_pbxmate.txt"));
    let get = |k: &str| {
        info.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("Name"), Some("pbxmate"));
    assert_eq!(get("Domain Name"), Some("N/A"));
    assert_eq!(get("Pres Hosts"), Some(""));
    assert_eq!(get("Challenge Realm"), Some("auto_from"));
    assert_eq!(get("SIP-IP"), Some("78.46.120.13"));
    // IPs masked by the author (PROVENANCE.md).
    let info = parse_profile_info(&fixture(
        "altanai_sofia_status_profile_internal_masked_ips.txt",
    ));
    let get = |k: &str| {
        info.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("REGISTRATIONS"), Some("0"));
    assert_eq!(get("ZRTP-PASSTHRU"), Some("true"));
    assert!(get("WSS-BIND-URL").is_some());
}
