//! The real FreeSWITCH 1.10.12 captures (tests/fixtures/freeswitch-1.10.12): every CDR of every
//! leg, read field by field. The parties are as the document alone tells them; the store then
//! names the legs of a known call by the call's own caller and callee.

use super::*;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/freeswitch-1.10.12"
);
const REC: &str = "/srv/fsv/fsrec/callplane/2026/12/05/";

/// (file, caller, callee, recording file name under REC, billsec, role)
type Expected = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    i32,
    Option<&'static str>,
);

const EXPECTED: &[Expected] = &[
    // The carrier simulator's own inbound leg: not a callplane leg, read as dialled.
    (
        "cdr/00019-success-clicktocall-carrier-sim-inbound-leg.cdr.xml",
        "057188880000",
        "913800138000",
        None,
        6,
        None,
    ),
    (
        "cdr/00021-success-clicktocall-A-agent-leg.cdr.xml",
        "1001",
        "13800138000",
        Some("080151ee-04a9-4e93-ac6f-9d4d84ac7322.wav"),
        6,
        Some("caller"),
    ),
    (
        "cdr/00022-success-clicktocall-B-carrier-leg.cdr.xml",
        "057188880000",
        "913800138000",
        Some("080151ee-04a9-4e93-ac6f-9d4d84ac7322.wav"),
        6,
        Some("callee"),
    ),
    (
        "cdr/00037-busy486-B-leg.cdr.xml",
        "057188880001",
        "13800138001",
        Some("dae46516-7b33-45d1-b347-ccfcd495ed6d.wav"),
        0,
        Some("callee"),
    ),
    (
        "cdr/00038-busy486-A-agent-leg.cdr.xml",
        "1001",
        "13800138001",
        Some("dae46516-7b33-45d1-b347-ccfcd495ed6d.wav"),
        3,
        Some("caller"),
    ),
    (
        "cdr/00044-failover503-B1-carrier-dead-leg.cdr.xml",
        "057188880001",
        "13800138002",
        Some("55469306-c262-4dcf-be70-9928148c54bf.wav"),
        0,
        Some("callee"),
    ),
    (
        "cdr/00046-failover503-A-agent-leg.cdr.xml",
        "1001",
        "13800138002",
        Some("55469306-c262-4dcf-be70-9928148c54bf.wav"),
        6,
        Some("caller"),
    ),
    (
        "cdr/00048-failover503-B2-carrier-a-leg.cdr.xml",
        "057188880000",
        "913800138002",
        Some("55469306-c262-4dcf-be70-9928148c54bf.wav"),
        6,
        Some("callee"),
    ),
    (
        "cdr/00065-dialout-A-phone-leg.cdr.xml",
        "1001",
        "13800138000",
        Some("361486e1-4ec2-4a62-9ab4-068c2cc2beca.wav"),
        4,
        Some("caller"),
    ),
    (
        "cdr/00068-dialout-B-carrier-leg.cdr.xml",
        "057188880000",
        "913800138000",
        Some("361486e1-4ec2-4a62-9ab4-068c2cc2beca.wav"),
        4,
        Some("callee"),
    ),
    (
        "cdr/fsim-a-60a89aee.cdr.xml",
        "1001",
        "13800138000",
        Some("60a89aee-bf7b-4f9e-a045-2eabf5a33971.wav"),
        6,
        Some("caller"),
    ),
    (
        "cdr/fsim-b-bc9da4b7.cdr.xml",
        "057188880000",
        "913800138000",
        Some("60a89aee-bf7b-4f9e-a045-2eabf5a33971.wav"),
        6,
        Some("callee"),
    ),
    (
        "json_cdr-success-clicktocall-A-agent-leg.cdr.json",
        "1001",
        "13800138000",
        Some("080151ee-04a9-4e93-ac6f-9d4d84ac7322.wav"),
        6,
        Some("caller"),
    ),
    (
        "json_cdr-busy486-A-agent-leg.cdr.json",
        "1001",
        "13800138001",
        Some("dae46516-7b33-45d1-b347-ccfcd495ed6d.wav"),
        3,
        Some("caller"),
    ),
];

fn summary(file: &str) -> CdrSummary {
    let path = format!("{DIR}/{file}");
    let doc = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let p = prepare(&doc, None, None, false).unwrap();
    p.summary
        .unwrap_or_else(|| panic!("{file}: {:?}", p.parse_error))
}

#[test]
fn every_real_cdr_names_its_parties_recording_and_billsec() {
    let mut wrong = Vec::new();
    for (file, caller, callee, rec, billsec, role) in EXPECTED {
        let s = summary(file);
        let got = (
            s.caller.as_deref(),
            s.callee.as_deref(),
            s.recording_path.clone(),
            s.billsec,
            s.role.as_deref(),
        );
        let want = (
            Some(*caller),
            Some(*callee),
            rec.map(|r| format!("{REC}{r}")),
            Some(*billsec),
            *role,
        );
        if got != want {
            wrong.push(format!("{file}:\n  got  {got:?}\n  want {want:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_real_cdr_fixture_is_checked() {
    let mut files: Vec<String> = std::fs::read_dir(format!("{DIR}/cdr"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".cdr.xml"))
        .map(|n| format!("cdr/{n}"))
        .collect();
    files.sort();
    for f in files {
        assert!(EXPECTED.iter().any(|e| e.0 == f), "{f} has no expectations");
    }
}

#[test]
fn a_recording_path_never_keeps_the_application_separator() {
    for (f, _, _, _, _, _) in EXPECTED {
        if let Some(p) = summary(f).recording_path {
            assert!(p.starts_with('/'), "{f}: {p}");
        }
    }
}

#[test]
fn callplane_legs_name_their_call_and_role() {
    let a = summary("cdr/00046-failover503-A-agent-leg.cdr.xml");
    let b1 = summary("cdr/00044-failover503-B1-carrier-dead-leg.cdr.xml");
    let b2 = summary("cdr/00048-failover503-B2-carrier-a-leg.cdr.xml");
    let call = Some("55469306-c262-4dcf-be70-9928148c54bf");
    for s in [&a, &b1, &b2] {
        assert_eq!(s.call_uuid.as_deref(), call);
    }
    assert_eq!(b1.hangup_cause.as_deref(), Some("NORMAL_TEMPORARY_FAILURE"));
    assert_eq!(b1.gateway.as_deref(), Some("carrier-dead"));
    assert_eq!(b2.gateway.as_deref(), Some("carrier-a"));
    assert!(b1.answer_time.is_none() && b2.answer_time.is_some());
}
