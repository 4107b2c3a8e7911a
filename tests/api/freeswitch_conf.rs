//! The files in freeswitch-conf/: well-formed, inert to FreeSWITCH's pre-processor, pointing at
//! callplane's routes, and using only setting names FreeSWITCH knows.

use std::path::{Path, PathBuf};

use crate::fsdoc::{Node, assert_preprocessor_inert};

fn conf_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("freeswitch-conf")
}

fn xml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            xml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "xml") {
            out.push(path);
        }
    }
}

/// Parses a configuration file strictly (any root element).
fn parse_any(text: &str) -> Node {
    // The answer parser insists on <document>; wrap the file to reuse it.
    let wrapped = format!("<document type=\"freeswitch/xml\">\n{text}</document>\n");
    let doc = crate::fsdoc::parse(&wrapped);
    assert_eq!(doc.children.len(), 1, "one root element");
    doc.children[0].clone()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(conf_dir().join(rel)).unwrap()
}

/// Every `<param name=...>` name of a file.
fn param_names(root: &Node) -> Vec<String> {
    root.all("param")
        .iter()
        .map(|p| p.attr("name").unwrap().to_string())
        .collect()
}

fn vanilla(name: &str) -> String {
    let path = format!("{}/tests/fixtures/conf/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Checks that every param name of `ours` appears in FreeSWITCH's vanilla file (where most
/// are commented out), or in `from_source`: names read from the module's C source.
fn assert_known_names(ours: &str, vanilla_file: &str, from_source: &[&str]) {
    let reference = vanilla(vanilla_file);
    let root = parse_any(&read(ours));
    let names = param_names(&root);
    assert!(!names.is_empty(), "{ours}");
    for name in names {
        assert!(
            reference.contains(&format!("name=\"{name}\"")) || from_source.contains(&name.as_str()),
            "{ours}: unknown setting {name}"
        );
    }
}

#[test]
fn every_file_is_well_formed_and_inert_to_the_preprocessor() {
    let mut files = Vec::new();
    xml_files(&conf_dir(), &mut files);
    assert!(files.len() >= 5, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        parse_any(&text);
        if file.parent().unwrap().ends_with("autoload_configs") {
            // Loaded whole (not through an include), so not even a dropped line is expected.
            assert_preprocessor_inert(&text);
        }
        // The external profile exists to include the gateway files written from
        // detail_xml, and takes the host's address from the core's own `local_ip_v4`.
        let profile = file.ends_with("sip_profiles/external.xml");
        for line in text.lines() {
            assert!(!line.starts_with("<?"), "{}: no <?xml line", file.display());
            let allowed = profile
                && (line.trim() == r#"<X-PRE-PROCESS cmd="include" data="external/*.xml"/>"#
                    || line.contains(r#"value="$${local_ip_v4}""#));
            if allowed {
                continue;
            }
            assert!(!line.contains("$${"), "{}: {line}", file.display());
            assert!(
                !line.to_ascii_lowercase().contains("x-pre-process"),
                "{line}"
            );
        }
    }
}

#[test]
fn setting_names_match_freeswitch() {
    // disable-100-continue: mod_xml_curl.c `do_config` reads it (default on).
    assert_known_names(
        "autoload_configs/xml_curl.conf.xml",
        "vanilla_xml_curl.conf.xml",
        &["disable-100-continue"],
    );
    // timeout: mod_xml_cdr.c `load_config` reads it (seconds, CURLOPT_TIMEOUT; default none).
    assert_known_names(
        "autoload_configs/xml_cdr.conf.xml",
        "vanilla_xml_cdr.conf.xml",
        &["timeout"],
    );
    assert_known_names(
        "autoload_configs/event_socket.conf.xml",
        "vanilla_event_socket.conf.xml",
        &[],
    );
    for (file, name) in [
        ("autoload_configs/xml_curl.conf.xml", "xml_curl.conf"),
        ("autoload_configs/xml_cdr.conf.xml", "xml_cdr.conf"),
        (
            "autoload_configs/event_socket.conf.xml",
            "event_socket.conf",
        ),
    ] {
        let root = parse_any(&read(file));
        assert_eq!(root.name, "configuration");
        assert_eq!(root.attr("name"), Some(name));
    }
}

#[test]
fn the_modules_point_at_callplane_routes() {
    let curl = parse_any(&read("autoload_configs/xml_curl.conf.xml"));
    let url = curl
        .all("param")
        .into_iter()
        .find(|p| p.attr("name") == Some("gateway-url"))
        .unwrap();
    assert!(url.attr("value").unwrap().ends_with("/fsapi/xml_curl"));
    // Configuration stays on disk so FreeSWITCH can boot before callplane.
    assert_eq!(url.attr("bindings"), Some("directory|dialplan"));
    let timeout: u32 = curl.named("param", "timeout").unwrap().parse().unwrap();
    assert!((1..=10).contains(&timeout));
    let cdr = parse_any(&read("autoload_configs/xml_cdr.conf.xml"));
    assert!(cdr.named("param", "url").unwrap().ends_with("/fsapi/cdr"));
    assert!(cdr.named("param", "err-log-dir").is_some());
    assert!(["true", "base64"].contains(&cdr.named("param", "encode").unwrap().as_str()));
    let esl = parse_any(&read("autoload_configs/event_socket.conf.xml"));
    assert_ne!(esl.named("param", "password").as_deref(), Some("ClueCon"));
    assert!(esl.named("param", "apply-inbound-acl").is_some());
}

#[test]
fn the_static_fallbacks_admit_nothing() {
    let directory = parse_any(&read("directory/default.xml"));
    assert!(directory.all("user").is_empty() && directory.all("domain").is_empty());
    let dialplan = parse_any(&read("dialplan/callplane.xml"));
    let contexts = dialplan.all("context");
    assert!(contexts.len() >= 2);
    for action in dialplan.all("action") {
        assert_eq!(action.attr("application"), Some("hangup"));
    }
    assert!(dialplan.all("action").len() >= contexts.len());
}

#[test]
fn the_external_profile_loads_the_gateway_files_detail_xml_writes() {
    let profile = parse_any(&read("sip_profiles/external.xml"));
    assert_eq!(profile.name, "profile");
    assert_eq!(profile.attr("name"), Some("external"));
    let text = read("sip_profiles/external.xml");
    assert!(
        text.contains(
            r#"<gateways>
    <X-PRE-PROCESS cmd="include" data="external/*.xml"/>
  </gateways>"#
        ),
        "{text}"
    );
    let settings = profile.all("param");
    let value = |name: &str| {
        settings
            .iter()
            .find(|p| p.attr("name") == Some(name))
            .and_then(|p| p.attr("value"))
            .map(str::to_string)
    };
    assert_eq!(value("auth-calls").as_deref(), Some("false"));
    assert_eq!(value("context").as_deref(), Some("public"));
}
