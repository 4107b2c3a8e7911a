use super::*;

fn u(n: u8) -> Uuid {
    Uuid::from_bytes([n; 16])
}

fn line(gw: &str, cid: Option<&str>, prefix: &str, n: u8) -> LineLeg {
    LineLeg {
        gateway: gw.into(),
        caller_id: cid.map(str::to_string),
        prefix: prefix.into(),
        leg_uuid: u(n),
    }
}

fn number(s: &str) -> PhoneNumber {
    PhoneNumber::parse("callee", s).unwrap()
}

const FILE: &str =
    "/var/lib/freeswitch/recordings/callplane/2026/11/26/01010101-0101-0101-0101-010101010101.wav";
const URL: &str = "http://10.0.0.9:8080/fsapi/upload_audio?uuid=01010101-0101-0101-0101-010101010101&token=abcdef0123";

fn base<'a>(
    caller: &'a Target,
    callee: &'a Target,
    shown: &'a str,
    fallback: &'a str,
    stop: &'a [String],
) -> ClickToCall<'a> {
    ClickToCall {
        call_uuid: u(1),
        caller,
        callee,
        caller_display_number: shown,
        fallback_caller_id: fallback,
        recording_file: FILE,
        upload_url: URL,
        upload: UploadMode::CurlHook,
        originate_timeout_secs: 45,
        callee_ring_timeout_secs: 20,
        stop_failover_on: stop,
        closing_playback: "tone_stream://%(350,350,450);loops=4",
        ringback: "%(1000,4000,450)",
    }
}

fn stop() -> Vec<String> {
    [
        "USER_BUSY",
        "CALL_REJECTED",
        "NO_ANSWER",
        "ALLOTTED_TIMEOUT",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn extension_to_external_through_two_lines() {
    let caller = Target::Extension {
        number: "1001".into(),
        domain: None,
        leg_uuid: u(1),
    };
    let callee = Target::External {
        number: number("13800138000"),
        lines: vec![
            line("carrier-a", Some("057188880000"), "9", 2),
            line("carrier-b", None, "", 3),
        ],
    };
    let stop = stop();
    let got = click_to_call(&base(&caller, &callee, "13800138000", "1001", &stop)).unwrap();
    let want = concat!(
        "originate {callplane_call_uuid=01010101-0101-0101-0101-010101010101,callplane_leg=caller,",
        "origination_caller_id_name=13800138000,originate_timeout=45,hangup_after_bridge=true,continue_on_fail=true}",
        "[origination_uuid=01010101-0101-0101-0101-010101010101,origination_caller_id_number=13800138000]user/1001",
        " 'm:^:set:ringback=%(1000,4000,450)^set:call_timeout=22",
        "^set:fail_on_single_reject=USER_BUSY,CALL_REJECTED,NO_ANSWER,ALLOTTED_TIMEOUT",
        "^export:nolocal:media_bug_answer_req=true^export:nolocal:record_sample_rate=8000",
        "^export:nolocal:RECORD_STEREO=true",
        "^export:nolocal:execute_on_answer=record_session:/var/lib/freeswitch/recordings/callplane/2026/11/26/01010101-0101-0101-0101-010101010101.wav",
        "^export:nolocal:session_in_hangup_hook=true",
        "^export:nolocal:execute_on_answer_upload=set:api_hangup_hook=system curl -s --retry 5 --retry-delay 2 --retry-connrefused -XPOST -F \"files=@/var/lib/freeswitch/recordings/callplane/2026/11/26/01010101-0101-0101-0101-010101010101.wav\" ",
        "\"http://10.0.0.9:8080/fsapi/upload_audio?uuid=01010101-0101-0101-0101-010101010101&token=abcdef0123\"",
        "^bridge:{callplane_call_uuid=01010101-0101-0101-0101-010101010101,callplane_leg=callee}",
        "[origination_uuid=02020202-0202-0202-0202-020202020202,origination_caller_id_number=057188880000,callplane_gateway=carrier-a,leg_timeout=20]sofia/gateway/carrier-a/913800138000",
        "|[origination_uuid=03030303-0303-0303-0303-030303030303,origination_caller_id_number=1001,callplane_gateway=carrier-b,leg_timeout=20]sofia/gateway/carrier-b/13800138000",
        "^playback:tone_stream://%(350,350,450);loops=4^hangup' inline",
    );
    assert_eq!(got, want);
}

#[test]
fn extension_to_extension_with_domain() {
    let caller = Target::Extension {
        number: "1001".into(),
        domain: Some("pbx.example.com".into()),
        leg_uuid: u(1),
    };
    let callee = Target::Extension {
        number: "1002".into(),
        domain: Some("pbx.example.com".into()),
        leg_uuid: u(4),
    };
    let got = click_to_call(&base(&caller, &callee, "1002", "1001", &[])).unwrap();
    assert!(got.contains("[origination_uuid=01010101-0101-0101-0101-010101010101,origination_caller_id_number=1002]user/1001@pbx.example.com 'm:^:"));
    assert!(got.contains("^bridge:{callplane_call_uuid=01010101-0101-0101-0101-010101010101,callplane_leg=callee}[origination_uuid=04040404-0404-0404-0404-040404040404,origination_caller_id_number=1001,leg_timeout=20]user/1002@pbx.example.com^playback:"));
    assert!(
        !got.contains("fail_on_single_reject"),
        "no cause list given"
    );
}

#[test]
fn external_to_external_both_legs_through_lines() {
    let caller = Target::External {
        number: number("13900139000"),
        lines: vec![line("carrier-a", Some("057188880000"), "", 1)],
    };
    let callee = Target::External {
        number: number("+8613800138000"),
        lines: vec![line("carrier-b", Some("02166660000"), "", 5)],
    };
    let stop = stop();
    let mut c = base(&caller, &callee, "13800138000", "13900139000", &stop);
    c.upload = UploadMode::CurlSendfile;
    let got = click_to_call(&c).unwrap();
    assert!(got.contains("}[origination_uuid=01010101-0101-0101-0101-010101010101,origination_caller_id_number=057188880000,callplane_gateway=carrier-a]sofia/gateway/carrier-a/13900139000 'm:^:"), "the caller's leg has no leg_timeout: {got}");
    assert!(got.contains("[origination_uuid=05050505-0505-0505-0505-050505050505,origination_caller_id_number=02166660000,callplane_gateway=carrier-b,leg_timeout=20]sofia/gateway/carrier-b/+8613800138000^"));
    assert!(got.contains("^export:nolocal:execute_on_answer_upload=set:record_post_process_exec_api=curl_sendfile:http://10.0.0.9:8080/fsapi/upload_audio?uuid=01010101-0101-0101-0101-010101010101&token=abcdef0123 files=/var/lib/freeswitch/recordings/callplane/2026/11/26/01010101-0101-0101-0101-010101010101.wav^"));
    assert!(
        !got.contains("system curl"),
        "the sendfile variant runs no shell"
    );
}

#[test]
fn a_caller_over_lines_who_is_busy_or_declines_is_not_rung_on_the_next_line() {
    let caller = Target::External {
        number: number("13900139000"),
        lines: vec![
            line("carrier-a", None, "", 1),
            line("carrier-b", None, "", 6),
        ],
    };
    let callee = Target::External {
        number: number("13800138000"),
        lines: vec![line("carrier-c", None, "", 5)],
    };
    let stop = stop();
    let c = base(&caller, &callee, "13800138000", "13900139000", &stop);
    let got = click_to_call(&c).unwrap();
    let head = &got[..got.find('}').unwrap()];
    assert!(
        head.ends_with(&format!(",fail_on_single_reject={}", stop.join(":"))),
        "{head}"
    );
    // An extension caller is one target: the list would change nothing.
    let agent = Target::Extension {
        number: "1001".into(),
        domain: None,
        leg_uuid: u(1),
    };
    let c = base(&agent, &callee, "13800138000", "1001", &stop);
    let got = click_to_call(&c).unwrap();
    let head = &got[..got.find('}').unwrap()];
    assert!(!head.contains("fail_on_single_reject"), "{head}");
}

#[test]
fn the_builder_refuses_unsafe_values_even_if_upstream_let_them_through() {
    let ok_caller = Target::Extension {
        number: "1001".into(),
        domain: None,
        leg_uuid: u(1),
    };
    let bad_ext = Target::Extension {
        number: "1001,user/9".into(),
        domain: None,
        leg_uuid: u(1),
    };
    let bad_gw = Target::External {
        number: number("13800138000"),
        lines: vec![line("gw|x", None, "", 2)],
    };
    let bad_cid = Target::External {
        number: number("13800138000"),
        lines: vec![line("gw", Some("${x}"), "", 2)],
    };
    let bad_prefix = Target::External {
        number: number("13800138000"),
        lines: vec![line("gw", None, "9}", 2)],
    };
    let no_lines = Target::External {
        number: number("13800138000"),
        lines: vec![],
    };
    for callee in [&bad_ext, &bad_gw, &bad_cid, &bad_prefix, &no_lines] {
        assert!(
            click_to_call(&base(&ok_caller, callee, "1", "1001", &[])).is_err(),
            "{callee:?}"
        );
    }
    let callee = Target::Extension {
        number: "1002".into(),
        domain: None,
        leg_uuid: u(2),
    };
    let mut c = base(&ok_caller, &callee, "1002", "1001", &[]);
    c.upload_url = "http://x/\"; rm -rf /";
    assert!(click_to_call(&c).is_err());
    let mut c = base(&ok_caller, &callee, "1002", "1001", &[]);
    c.recording_file = "/srv/rec/$(id).wav";
    assert!(click_to_call(&c).is_err());
    let bad_causes = vec!["USER_BUSY^hangup".to_string()];
    let c = base(&ok_caller, &callee, "1002", "1001", &bad_causes);
    assert!(click_to_call(&c).is_err());
}

#[test]
fn no_line_breaks_or_shell_metacharacters_beyond_the_template() {
    let caller = Target::Extension {
        number: "1001".into(),
        domain: None,
        leg_uuid: u(1),
    };
    let callee = Target::External {
        number: number("13800138000"),
        lines: vec![line("carrier-a", None, "", 2)],
    };
    let got = click_to_call(&base(&caller, &callee, "13800138000", "1001", &[])).unwrap();
    assert!(!got.contains('\n') && !got.contains('\r'));
    for c in ['`', '$', ';', '|'] {
        let count = got.matches(c).count();
        let expected = match c {
            ';' => 1, // the closing tone's loop count only
            _ => 0,
        };
        assert_eq!(count, expected, "{c} in {got}");
    }
}

#[test]
fn every_callee_leg_has_the_ring_limit_and_the_caller_leg_none() {
    let caller = Target::External {
        number: number("13900139000"),
        lines: vec![
            line("carrier-a", None, "", 1),
            line("carrier-c", None, "", 6),
        ],
    };
    let callee = Target::External {
        number: number("13800138000"),
        lines: vec![
            line("carrier-a", None, "", 2),
            line("carrier-b", None, "", 3),
            line("carrier-c", None, "", 4),
        ],
    };
    let stop = stop();
    let got = click_to_call(&base(&caller, &callee, "13800138000", "13900139000", &stop)).unwrap();
    let (head, inline) = got.split_once(" 'm:^:").unwrap();
    assert!(!head.contains("leg_timeout"), "{head}");
    let bridge = inline
        .split('^')
        .find(|a| a.starts_with("bridge:"))
        .unwrap();
    let legs: Vec<&str> = bridge.split('|').collect();
    assert_eq!(legs.len(), 3);
    for leg in legs {
        let block = &leg[leg.find('[').unwrap()..leg.find(']').unwrap()];
        assert!(block.ends_with(",leg_timeout=20"), "{leg}");
    }
    assert!(inline.starts_with("set:ringback=%(1000,4000,450)^set:call_timeout=22^"));
}

#[test]
fn the_upload_is_armed_at_answer_and_never_exported_to_every_leg() {
    let caller = Target::Extension {
        number: "1001".into(),
        domain: None,
        leg_uuid: u(1),
    };
    let callee = Target::External {
        number: number("13800138000"),
        lines: vec![
            line("carrier-a", None, "", 2),
            line("carrier-b", None, "", 3),
        ],
    };
    let stop = stop();
    for mode in [UploadMode::CurlHook, UploadMode::CurlSendfile] {
        let mut c = base(&caller, &callee, "13800138000", "1001", &stop);
        c.upload = mode;
        let got = click_to_call(&c).unwrap();
        assert!(!got.contains("export:nolocal:api_hangup_hook"), "{got}");
        assert!(
            !got.contains("export:nolocal:record_post_process_exec_api"),
            "{got}"
        );
        let armed = got
            .split('^')
            .filter(|a| a.starts_with("export:nolocal:execute_on_answer_upload=set:"))
            .count();
        assert_eq!(armed, 1, "{mode:?}: {got}");
        // The hook text holds nothing the inline dialplan or `set` would rewrite.
        let hook = got
            .split('^')
            .find(|a| a.contains("execute_on_answer_upload"))
            .unwrap();
        for special in ['\'', '\\', '$', '^'] {
            assert!(!hook.contains(special), "{special} in {hook}");
        }
    }
    let mut c = base(&caller, &callee, "13800138000", "1001", &stop);
    c.upload = UploadMode::None;
    assert!(!click_to_call(&c).unwrap().contains("upload"));
}

#[test]
fn dialplan_actions_use_the_callee_ring_limit() {
    let caller = Target::Extension {
        number: "1001".into(),
        domain: None,
        leg_uuid: u(1),
    };
    let callee = Target::External {
        number: number("13800138000"),
        lines: vec![
            line("carrier-a", None, "", 2),
            line("carrier-b", None, "", 3),
        ],
    };
    let stop = stop();
    let actions = dialplan_actions(&base(&caller, &callee, "13800138000", "1001", &stop)).unwrap();
    let timeouts: Vec<&str> = actions
        .iter()
        .filter(|(app, arg)| *app == "set" && arg.starts_with("call_timeout="))
        .map(|(_, arg)| arg.as_str())
        .collect();
    assert_eq!(timeouts, vec!["call_timeout=22"]);
    let (_, bridge) = actions.iter().find(|(app, _)| *app == "bridge").unwrap();
    assert_eq!(bridge.matches(",leg_timeout=20]").count(), 2, "{bridge}");
    assert!(actions.iter().any(|(app, arg)| *app == "export"
        && arg.starts_with("nolocal:execute_on_answer_upload=set:api_hangup_hook=system curl")));
}

#[test]
fn a_zero_ring_limit_is_refused() {
    let caller = Target::Extension {
        number: "1001".into(),
        domain: None,
        leg_uuid: u(1),
    };
    let callee = Target::Extension {
        number: "1002".into(),
        domain: None,
        leg_uuid: u(2),
    };
    let mut c = base(&caller, &callee, "1002", "1001", &[]);
    c.callee_ring_timeout_secs = 0;
    assert!(click_to_call(&c).is_err());
}
