//! Property-style tests: random, truncated, split and corrupted bytes into the framer and the
//! event parsers. A fixed-seed generator keeps failures reproducible without a proptest
//! dependency. Properties: never panic; splitting a stream anywhere yields the same frames;
//! a truncated stream yields a prefix of the frames and no error.

use bytes::BytesMut;
use callplane::esl::{Event, Frame, FrameDecoder};

use crate::fixtures::{fixture, frames};

#[path = "../common/rng.rs"]
mod rng;
use rng::Rng;

const STREAMS: &[&str] = &[
    "neventsocket_inbound_stream_auth_bgapi_originate_err_recovery_on_timer_expire.txt",
    "neventsocket_outbound_stream_bridge_originator_cancel.txt",
    "neventsocket_outbound_stream_connect_bridge_hangup_linger_disconnect.txt",
];

/// Feeds `bytes` in the given chunk sizes; returns the frames and whether an error stopped it.
fn feed(bytes: &[u8], mut chunk: impl FnMut() -> usize) -> (Vec<Frame>, bool) {
    let mut decoder = FrameDecoder::new();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let end = (pos + chunk().max(1)).min(bytes.len());
        buf.extend_from_slice(&bytes[pos..end]);
        pos = end;
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => out.push(frame),
                Ok(None) => break,
                Err(_) => return (out, true),
            }
        }
    }
    (out, false)
}

#[test]
fn splitting_a_stream_anywhere_yields_the_same_frames() {
    let mut rng = Rng(0x5EED_0001);
    for name in STREAMS {
        let bytes = fixture(name);
        let whole = frames(&bytes);
        for round in 0..20 {
            let max = [1, 7, 64, 1500, 70_000][round % 5];
            let (split, failed) = feed(&bytes, || 1 + rng.below(max));
            assert!(!failed, "{name}: split stream failed");
            assert_eq!(split, whole, "{name}: chunks up to {max} bytes");
        }
    }
}

#[test]
fn a_truncated_stream_yields_a_prefix_of_the_frames_and_no_error() {
    let mut rng = Rng(0x5EED_0002);
    for name in STREAMS {
        let bytes = fixture(name);
        let whole = frames(&bytes);
        for _ in 0..200 {
            let cut = rng.below(bytes.len());
            let (got, failed) = feed(&bytes[..cut], || 4096);
            assert!(!failed, "{name}: error on a clean prefix of {cut} bytes");
            assert!(got.len() <= whole.len());
            assert_eq!(got[..], whole[..got.len()], "{name}: cut at {cut}");
        }
    }
}

/// Bytes drawn mostly from the ESL alphabet, so the generator reaches deep into the parser
/// (header lines, Content-Length values, blank lines) instead of failing on the first byte.
fn esl_ish(rng: &mut Rng, len: usize) -> Vec<u8> {
    const PIECES: &[&[u8]] = &[
        b"Content-Length: ",
        b"Content-Type: text/event-plain",
        b"Content-Type: command/reply",
        b"Event-Name: BACKGROUND_JOB",
        b"\n",
        b"\n\n",
        b"\r\n",
        b": ",
        b"%",
        b"%2",
        b"%zz",
        b"0",
        b"9",
        b"18446744073709551616",
        b"-1",
        b"{\"Event-Name\":\"X\",\"_body\":",
        b"[",
        b"\xff\xfe",
    ];
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        if rng.below(3) == 0 {
            out.push(rng.next() as u8);
        } else {
            out.extend_from_slice(PIECES[rng.below(PIECES.len())]);
        }
    }
    out
}

#[test]
fn random_bytes_never_panic_the_framer_or_the_event_parsers() {
    let mut rng = Rng(0x5EED_0003);
    for _ in 0..3000 {
        let len = rng.below(600);
        let bytes = esl_ish(&mut rng, len);
        let chunk_max = 1 + rng.below(64);
        let (frames, _) = feed(&bytes, || 1 + rng.below(chunk_max));
        for frame in frames {
            if let Some(body) = &frame.body {
                let _ = Event::parse_plain(body);
                let _ = Event::parse_json(body);
            }
        }
        let _ = Event::parse_plain(&bytes);
        let _ = Event::parse_json(&bytes);
    }
}

#[test]
fn corrupted_captures_never_panic() {
    let mut rng = Rng(0x5EED_0004);
    let sources: Vec<Vec<u8>> = STREAMS
        .iter()
        .chain(&["cgrates_2014_channel_answer_event_plain_body.txt"])
        .map(|n| fixture(n))
        .collect();
    for _ in 0..300 {
        let mut bytes = sources[rng.below(sources.len())].clone();
        for _ in 0..1 + rng.below(8) {
            let at = rng.below(bytes.len());
            match rng.below(3) {
                0 => bytes[at] = rng.next() as u8,
                1 => bytes[at] = b"\n:%0"[rng.below(4)],
                _ => bytes.truncate(at.max(1)),
            }
        }
        let (frames, _) = feed(&bytes, || 1 + rng.below(9000));
        for frame in frames {
            if let Some(body) = &frame.body {
                let _ = Event::parse_plain(body);
            }
        }
        let _ = Event::parse_plain(&bytes);
    }
}
