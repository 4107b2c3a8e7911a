//! Every capture in `tests/fixtures/esl/` parsed, checking named fields. The captures are real
//! FreeSWITCH bytes (see PROVENANCE.md there); where they disagree with our expectations, they win.

use bytes::BytesMut;
use callplane::esl::{Event, Frame, FrameDecoder};

const ESL_FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/esl/");

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{ESL_FIXTURES}{name}");
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read fixture {path}: {e}"))
}

/// Cuts a whole capture into frames, failing if any byte is left over.
pub fn frames(bytes: &[u8]) -> Vec<Frame> {
    let mut decoder = FrameDecoder::new();
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Some(frame) = decoder.decode(&mut buf).expect("capture frames cleanly") {
        out.push(frame);
    }
    assert!(buf.is_empty(), "{} bytes left unframed", buf.len());
    out
}

fn event_of(frame: &Frame) -> Event {
    assert_eq!(frame.content_type(), Some("text/event-plain"));
    Event::parse_plain(frame.body.as_deref().expect("event body")).expect("event parses")
}

fn content_types(frames: &[Frame]) -> Vec<&str> {
    frames.iter().map(|f| f.content_type().unwrap()).collect()
}

fn count(types: &[&str], wanted: &str) -> usize {
    types.iter().filter(|t| **t == wanted).count()
}

#[test]
fn cgrates_2014_channel_answer_body() {
    let ev =
        Event::parse_plain(&fixture("cgrates_2014_channel_answer_event_plain_body.txt")).unwrap();
    assert_eq!(ev.name(), "CHANNEL_ANSWER");
    assert_eq!(ev.unique_id(), Some("86cfd6e2-dbda-45a3-b59d-f683ec368e8b"));
    assert_eq!(ev.core_uuid(), Some("feef0b51-7fdf-4c4a-878e-aff233752de2"));
    assert_eq!(ev.hostname(), Some("CGRTest"));
    assert_eq!(ev.header("Event-Date-Local"), Some("2014-04-08 21:10:27"));
    assert_eq!(
        ev.header("Channel-Name"),
        Some("sofia/internal/1001@192.168.56.74")
    );
    assert_eq!(ev.header("answer-state"), Some("answered"));
    assert_eq!(ev.header("variable_sip_to_user"), Some("1002"));
    // URL-encoded SDP decodes to real CRLF lines.
    let sdp = ev.header("variable_switch_r_sdp").unwrap();
    assert!(
        sdp.starts_with("v=0\r\no=1001 0 0 IN IP4 192.168.56.1\r\n"),
        "{sdp}"
    );
    assert_eq!(ev.body(), None);
}

#[test]
fn cgrates_2015_channel_hangup_complete_body() {
    let ev = Event::parse_plain(&fixture(
        "cgrates_2015_channel_hangup_complete_event_plain_body.txt",
    ))
    .unwrap();
    assert_eq!(ev.name(), "CHANNEL_HANGUP_COMPLETE");
    assert_eq!(ev.unique_id(), Some("e3133bf7-dcde-4daf-9663-9a79ffcef5ad"));
    assert_eq!(ev.hostname(), Some("CgrDev1"));
    assert_eq!(ev.header("Hangup-Cause"), Some("NORMAL_CLEARING"));
    assert_eq!(
        ev.header("Channel-Name"),
        Some("sofia/cgrtest/1001@127.0.0.1")
    );
    assert_eq!(ev.header("variable_duration"), Some("66"));
    assert_eq!(ev.header("variable_billsec"), Some("66"));
    assert!(ev.header("Other-Leg-Unique-ID").is_some());
}

#[test]
fn cgrates_2018_channel_hangup_complete_body() {
    let ev = Event::parse_plain(&fixture(
        "cgrates_2018_channel_hangup_complete_event_plain_body_matching_json_cdr.txt",
    ))
    .unwrap();
    assert_eq!(ev.name(), "CHANNEL_HANGUP_COMPLETE");
    assert_eq!(ev.unique_id(), Some("5a3a1d91-90d3-4db4-af5c-cc3ae15d93a4"));
    assert_eq!(ev.hostname(), Some("teo"));
    assert_eq!(ev.header("Event-Date-Local"), Some("2018-03-14 07:09:48"));
    assert_eq!(ev.header("variable_duration"), Some("30"));
    assert_eq!(ev.header("variable_billsec"), Some("21"));
    assert_eq!(ev.header("Caller-Caller-ID-Number"), Some("1001"));
}

#[test]
fn fsdocs_2009_channel_create_body() {
    let ev =
        Event::parse_plain(&fixture("fsdocs_2009_channel_create_event_plain_body.txt")).unwrap();
    assert_eq!(ev.name(), "CHANNEL_CREATE");
    assert_eq!(ev.unique_id(), Some("89aaa4da-8a14-11de-9ab6-91a5c9f91e77"));
    assert_eq!(ev.hostname(), Some("jmesquita-dell"));
    assert_eq!(ev.header("FreeSWITCH-IPv6"), Some("::1"));
    assert_eq!(
        ev.header("Channel-Name"),
        Some("sofia/internal/1000@192.168.1.100")
    );
    assert_eq!(ev.header("Answer-State"), Some("ringing"));
    // 2009 events predate Event-Sequence.
    assert_eq!(ev.header("Event-Sequence"), None);
}

#[test]
fn fsdocs_2009_custom_sofia_register_body() {
    let ev = Event::parse_plain(&fixture(
        "fsdocs_2009_custom_sofia_register_event_plain_body.txt",
    ))
    .unwrap();
    assert_eq!(ev.name(), "CUSTOM");
    assert_eq!(ev.subclass(), Some("sofia::register"));
    // The source really carries Event-Subclass twice; both are kept, the first wins.
    assert_eq!(ev.headers().get_all("Event-Subclass").count(), 2);
    assert_eq!(ev.header("profile-name"), Some("internal"));
    assert_eq!(ev.header("User-Agent"), Some("SIPPER for PhonerLite"));
    assert_eq!(
        ev.header("contact"),
        Some(
            "\"1000\" <sip:1000@192.168.1.23:5060;fs_nat=yes;fs_path=sip%3A1000%40192.168.1.23%3A5060>"
        )
    );
    assert_eq!(ev.header("expires"), Some("900"));
}

/// PROVENANCE.md flags this docs frame as edited: its outer `Content-Length: 625` does not match
/// the 583 bytes that follow. It is used for header/body parsing only, and to show that the framer
/// waits for the announced length instead of guessing.
#[test]
fn fsdocs_background_job_frame_with_edited_content_length() {
    let bytes =
        fixture("fsdocs_background_job_event_plain_frame_originate_ok_CONTENT_LENGTH_MISMATCH.txt");
    let mut buf = BytesMut::from(&bytes[..]);
    assert_eq!(
        FrameDecoder::new().decode(&mut buf).unwrap(),
        None,
        "625 bytes announced, fewer present"
    );

    let split = bytes.windows(2).position(|w| w == b"\n\n").unwrap();
    let outer = std::str::from_utf8(&bytes[..split]).unwrap();
    assert!(outer.contains("Content-Length: 625") && outer.contains("text/event-plain"));
    let ev = Event::parse_plain(&bytes[split + 2..]).unwrap();
    assert_eq!(ev.name(), "BACKGROUND_JOB");
    assert_eq!(ev.job_uuid(), Some("7f4db78a-17d7-11dd-b7a0-db4edd065621"));
    assert_eq!(ev.header("Job-Command"), Some("originate"));
    assert_eq!(
        ev.header("Job-Command-Arg"),
        Some("sofia/default/1005 '&park'")
    );
    // The capture spells it `Event-Date-timestamp`; lookups ignore case.
    assert_eq!(ev.header("Event-Date-Timestamp"), Some("1209685023894968"));
    assert_eq!(ev.header("Content-Length"), Some("41"));
    assert_eq!(
        ev.body(),
        Some("+OK 7f4de4bc-17d7-11dd-b7a0-db4edd065621\n")
    );
}

/// A docs fragment: the reply ends at its last header line, before FreeSWITCH's terminating blank
/// line, so the framer needs that one `\n` more.
#[test]
fn fsdocs_bgapi_reply_echoes_the_client_job_uuid() {
    let mut bytes = fixture("fsdocs_bgapi_command_reply_with_custom_job_uuid.txt");
    let mut buf = BytesMut::from(&bytes[..]);
    assert_eq!(FrameDecoder::new().decode(&mut buf).unwrap(), None);
    bytes.push(b'\n');
    let f = frames(&bytes);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].content_type(), Some("command/reply"));
    assert_eq!(
        f[0].headers.get("Reply-Text"),
        Some("+OK Job-UUID: d8c7f660-37a6-4e73-9170-1a731c442148")
    );
    assert_eq!(
        f[0].headers.get("job-uuid"),
        Some("d8c7f660-37a6-4e73-9170-1a731c442148")
    );
    assert_eq!(f[0].body, None);
}

/// Transformed from a C# string literal (escapes turned into newlines, see PROVENANCE.md); both
/// Content-Lengths match, so it is a valid framing test.
#[test]
fn neventsocket_inbound_stream_frame_by_frame() {
    let f = frames(&fixture(
        "neventsocket_inbound_stream_auth_bgapi_originate_err_recovery_on_timer_expire.txt",
    ));
    assert_eq!(
        content_types(&f),
        [
            "auth/request",
            "command/reply",
            "command/reply",
            "command/reply",
            "text/event-plain"
        ]
    );
    assert_eq!(f[1].headers.get("Reply-Text"), Some("+OK accepted"));
    assert_eq!(
        f[2].headers.get("Reply-Text"),
        Some("+OK event listener enabled plain")
    );
    let job = "43e14ab9-38b1-4187-9f08-e13f35136bb2";
    assert_eq!(f[3].headers.get("Job-UUID"), Some(job));
    assert_eq!(f[4].headers.get("Content-Length"), Some("759"));
    assert_eq!(f[4].body.as_ref().unwrap().len(), 759);

    let ev = event_of(&f[4]);
    assert_eq!(ev.name(), "BACKGROUND_JOB");
    assert_eq!(ev.job_uuid(), Some(job));
    assert_eq!(ev.hostname(), Some("Dan-MacBook"));
    assert_eq!(ev.header("Event-Sequence"), Some("534"));
    assert_eq!(
        ev.header("Job-Command-Arg"),
        Some(
            "sofia/external/1000@10.10.10.108:5070 &playback(C:\\\\temp\\\\misc-freeswitch_is_state_of_the_art.wav"
        )
    );
    assert_eq!(ev.header("Content-Length"), Some("30"));
    assert_eq!(ev.body(), Some("-ERR RECOVERY_ON_TIMER_EXPIRE\n"));
}

/// Outbound-socket captures: the first frame is the `connect` reply, whose headers are the
/// channel data, URL-encoded like event headers (`Reply-Text: %2BOK%0A`).
fn check_outbound_start(f: &[Frame]) {
    assert_eq!(f[0].content_type(), Some("command/reply"));
    assert_eq!(f[0].headers.get("Reply-Text"), Some("+OK\n"));
    assert_eq!(f[0].headers.get("Event-Name"), Some("CHANNEL_DATA"));
    assert_eq!(
        f[0].headers.get("FreeSWITCH-Hostname"),
        Some("dan-win8-dev")
    );
    assert_eq!(
        f[1].headers.get("Reply-Text"),
        Some("+OK event listener enabled plain")
    );
    assert_eq!(f[2].headers.get("Reply-Text"), Some("+OK will linger"));
}

fn events(f: &[Frame]) -> Vec<Event> {
    f.iter()
        .filter(|f| f.content_type() == Some("text/event-plain"))
        .map(event_of)
        .collect()
}

#[test]
fn neventsocket_connect_bridge_hangup_linger_disconnect() {
    let f = frames(&fixture(
        "neventsocket_outbound_stream_connect_bridge_hangup_linger_disconnect.txt",
    ));
    let types = content_types(&f);
    assert_eq!(f.len(), 27);
    assert_eq!(count(&types, "command/reply"), 9);
    assert_eq!(count(&types, "text/event-plain"), 14);
    assert_eq!(count(&types, "api/response"), 2);
    check_outbound_start(&f);
    let names: Vec<_> = events(&f).iter().map(|e| e.name().to_string()).collect();
    assert!(names.contains(&"CHANNEL_BRIDGE".to_string()));
    assert_eq!(names.iter().filter(|n| *n == "CHANNEL_HANGUP").count(), 2);

    let notices: Vec<_> = f
        .iter()
        .filter(|f| f.content_type() == Some("text/disconnect-notice"))
        .collect();
    assert_eq!(notices.len(), 2);
    assert_eq!(
        notices[0].headers.get("Content-Disposition"),
        Some("linger")
    );
    assert_eq!(notices[0].body, None);
    assert_eq!(
        notices[1].headers.get("Content-Disposition"),
        Some("disconnect")
    );
    assert_eq!(
        notices[1].body_text(),
        "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
    );
    assert_eq!(f[25].headers.get("Reply-Text"), Some("+OK bye"));
}

#[test]
fn neventsocket_bridge_originator_cancel() {
    let f = frames(&fixture(
        "neventsocket_outbound_stream_bridge_originator_cancel.txt",
    ));
    assert_eq!(f.len(), 22);
    check_outbound_start(&f);
    let evs = events(&f);
    assert_eq!(evs.len(), 11);
    assert!(
        evs.iter()
            .any(|e| e.header("Hangup-Cause") == Some("ORIGINATOR_CANCEL"))
    );
    assert!(evs.iter().all(|e| e.unique_id().is_some()));
}

#[test]
fn neventsocket_call_rejected_normal_temporary_failure() {
    let f = frames(&fixture(
        "neventsocket_outbound_stream_call_rejected_normal_temporary_failure.txt",
    ));
    assert_eq!(f.len(), 25);
    check_outbound_start(&f);
    let evs = events(&f);
    assert_eq!(evs.len(), 12);
    let causes: Vec<_> = evs
        .iter()
        .filter_map(|e| e.header("Hangup-Cause"))
        .collect();
    assert!(causes.contains(&"NORMAL_TEMPORARY_FAILURE"), "{causes:?}");
    let api: Vec<_> = f
        .iter()
        .filter(|f| f.content_type() == Some("api/response"))
        .collect();
    assert_eq!(api.len(), 2);
    assert_eq!(api[0].body_text(), "+OK\n");
}

#[test]
fn neventsocket_dtmf_events_bridge() {
    let f = frames(&fixture(
        "neventsocket_outbound_stream_dtmf_events_bridge.txt",
    ));
    assert_eq!(f.len(), 59);
    check_outbound_start(&f);
    let evs = events(&f);
    let digits: String = evs
        .iter()
        .filter(|e| e.name() == "DTMF")
        .map(|e| e.header("DTMF-Digit").unwrap())
        .collect();
    assert_eq!(digits, "#7#7#8#91234");
    let api: Vec<_> = f
        .iter()
        .filter(|f| f.content_type() == Some("api/response"))
        .collect();
    assert!(
        api.iter()
            .any(|a| a.body_text() == "-ERR Cannot stop record session!\n")
    );
}
