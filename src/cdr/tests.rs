//! Parsing rules on small documents; the real captures are checked field by field in the
//! integration tests (tests/api/cdr.rs).

use super::*;

const DOC: &str = r#"<?xml version="1.0"?>
<cdr core-uuid="core-1" switchname="fs1">
  <variables>
    <uuid>leg-a</uuid>
    <bridge_uuid>leg-b</bridge_uuid>
    <sip_gateway_name>gw1</sip_gateway_name>
    <effective_caller_id_number>%2B8613800000000</effective_caller_id_number>
    <start_epoch>1700000000</start_epoch>
    <answer_epoch>0</answer_epoch>
    <billsec>0</billsec>
    <execute_on_answer>record_session%20/var/rec/leg-a.wav</execute_on_answer>
    <note>a &amp; b &#x41;</note>
  </variables>
  <callflow><caller_profile><destination_number>1001</destination_number></caller_profile></callflow>
</cdr>"#;

fn xml(doc: &str) -> Prepared {
    prepare(doc.as_bytes(), Some("text/xml"), Some("a_leg-a"), false).unwrap()
}

#[test]
fn a_small_document_is_summarised() {
    let p = xml(DOC);
    let s = p.summary.clone().unwrap();
    assert_eq!((p.core_uuid.as_str(), p.uuid.as_str()), ("core-1", "leg-a"));
    assert!(!p.uuid_mismatch());
    assert_eq!(s.other_uuid.as_deref(), Some("leg-b"));
    assert_eq!(s.leg, "a");
    assert_eq!(s.caller.as_deref(), Some("+8613800000000"));
    assert_eq!(s.callee.as_deref(), Some("1001"));
    assert_eq!(s.gateway.as_deref(), Some("gw1"));
    assert_eq!(s.switch_name.as_deref(), Some("fs1"));
    assert_eq!(s.start_time.unwrap().timestamp(), 1_700_000_000);
    assert_eq!(s.answer_time, None, "answer_epoch 0 means never answered");
    assert_eq!(s.recording_path.as_deref(), Some("/var/rec/leg-a.wav"));
}

#[test]
fn a_doctype_is_refused() {
    let doc = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE cdr [<!ENTITY x \"y\">]>{}",
        DOC.trim_start_matches("<?xml version=\"1.0\"?>")
    );
    assert!(prepare(doc.as_bytes(), None, None, false).is_err());
}

#[test]
fn undeclared_entities_are_malformed_not_expanded() {
    let p = xml(&DOC.replace("a &amp; b", "&xxe;"));
    assert!(p.summary.is_none());
    assert!(p.parse_error.unwrap().contains("xxe"));
}

#[test]
fn a_hostile_element_name_keeps_what_was_read_before_it() {
    let doc = DOC.replace(
        "<billsec>0</billsec>",
        "<sip_h_X-Evil<img>1</sip_h_X-Evil<img>",
    );
    let p = xml(&doc);
    assert!(p.summary.is_none(), "{:?}", p.summary);
    assert_eq!((p.core_uuid.as_str(), p.uuid.as_str()), ("core-1", "leg-a"));
}

#[test]
fn a_truncated_document_falls_back_to_the_query_uuid() {
    let cut = DOC.find("<variables>").unwrap();
    let p = prepare(&DOC.as_bytes()[..cut], None, Some("a_from-query"), false).unwrap();
    assert!(p.parse_error.unwrap().contains("truncated"));
    assert_eq!(
        (p.core_uuid.as_str(), p.uuid.as_str()),
        ("core-1", "from-query")
    );
}

#[test]
fn unreadable_bodies_get_a_stable_digest_identity() {
    let a = prepare(b"\x01\x02", None, None, false).unwrap();
    let b = prepare(b"\x01\x02", None, None, false).unwrap();
    assert!(a.uuid.starts_with("unparsed-"));
    assert_eq!(a.uuid, b.uuid);
    assert_eq!(a.format, Format::Unknown);
}

#[test]
fn json_values_with_encode_values_are_decoded_and_b_legs_recognised() {
    let doc = r#"{"core-uuid":"c2","switchname":"fs2","variables":{"uuid":"leg-b",
        "originating_leg_uuid":"leg-a","sip_gateway_name":"gw%2D1","billsec":"7"},
        "callflow":[{"caller_profile":{"caller_id_number":"1000","destination_number":"2000",
        "originator":{"originator_caller_profiles":[{"uuid":"leg-a"}]}}}]}"#;
    let p = prepare(doc.as_bytes(), Some("application/json"), None, false).unwrap();
    let s = p.summary.unwrap();
    assert_eq!((s.leg, s.uuid.as_str()), ("b", "leg-b"));
    assert_eq!(s.other_uuid.as_deref(), Some("leg-a"));
    assert_eq!(s.gateway.as_deref(), Some("gw-1"));
    assert_eq!(s.billsec, Some(7));
}

#[test]
fn loopback_legs_link_through_other_loopback_leg_uuid() {
    let doc = DOC
        .replace(
            "<bridge_uuid>leg-b</bridge_uuid>",
            "<other_loopback_leg_uuid>loop-b</other_loopback_leg_uuid>",
        )
        .replace("<sip_gateway_name>gw1</sip_gateway_name>", "");
    let s = xml(&doc).summary.unwrap();
    assert_eq!(s.other_uuid.as_deref(), Some("loop-b"));
    assert_eq!(s.gateway, None);
}

#[test]
fn record_session_is_read_in_every_separator_form() {
    for form in [
        "record_session:/r/a.wav",
        "record_session::/r/a.wav",
        "record_session /r/a.wav",
        "  record_session:/r/a.wav ",
    ] {
        let doc = DOC.replace("record_session%20/var/rec/leg-a.wav", form);
        let s = xml(&doc).summary.unwrap();
        assert_eq!(s.recording_path.as_deref(), Some("/r/a.wav"), "{form}");
    }
}
