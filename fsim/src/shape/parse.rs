//! Reading a raw Event Socket stream as captured: frames of `Name: value` header lines ended by
//! a blank line, with `Content-Length` bytes of body after them. The body of a
//! `text/event-plain` frame is the event: URL-encoded headers, then a blank line and, if it has
//! its own `Content-Length`, the event body (a BACKGROUND_JOB's result).

use crate::text::url_decode;

/// One event: headers with decoded values, in order, and the event body if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawEvent {
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl RawEvent {
    /// First header with this name (case-insensitive, as FreeSWITCH looks headers up).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// An event from the simulator's own representation.
    pub fn from_event(ev: &crate::event::Event) -> RawEvent {
        RawEvent {
            headers: ev.headers.clone(),
            body: ev.body.clone(),
        }
    }
}

/// The events of a captured stream, in order.
pub fn parse_plain_stream(raw: &str) -> Vec<RawEvent> {
    let bytes = raw.as_bytes();
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < bytes.len() {
        let (headers, after) = header_block(bytes, pos);
        pos = after;
        if headers.is_empty() {
            continue;
        }
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.as_str())
        };
        let len = get("Content-Length")
            .and_then(|l| l.trim().parse::<usize>().ok())
            .unwrap_or(0);
        let end = (pos + len).min(bytes.len());
        let body = &bytes[pos..end];
        pos = end;
        if get("Content-Type") == Some("text/event-plain") {
            out.push(parse_event(&String::from_utf8_lossy(body)));
        }
    }
    out
}

/// Header lines from `pos` up to a blank line; lines without `: ` (a capture's comments) are
/// skipped. Returns the headers and the offset after the blank line.
fn header_block(bytes: &[u8], mut pos: usize) -> (Vec<(String, String)>, usize) {
    let mut headers = Vec::new();
    while pos < bytes.len() {
        let end = bytes[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| pos + i);
        let line = String::from_utf8_lossy(&bytes[pos..end]);
        let line = line.trim_end_matches('\r');
        pos = end + 1;
        if line.is_empty() {
            if headers.is_empty() {
                continue;
            }
            break;
        }
        if let Some((k, v)) = line.split_once(": ") {
            headers.push((k.to_string(), v.to_string()));
        } else if let Some(k) = line.strip_suffix(':') {
            headers.push((k.to_string(), String::new()));
        }
    }
    (headers, pos.min(bytes.len()))
}

/// One `text/event-plain` body. Header values are URL-decoded; lines that are not headers
/// (the hangup hook's event starts with an empty line) are skipped.
pub fn parse_event(text: &str) -> RawEvent {
    let mut ev = RawEvent::default();
    let mut rest = text;
    let mut seen_header = false;
    while !rest.is_empty() {
        let (line, tail) = rest.split_once('\n').unwrap_or((rest, ""));
        rest = tail;
        if line.is_empty() {
            if seen_header {
                break;
            }
            continue;
        }
        seen_header = true;
        if let Some((k, v)) = line.split_once(": ") {
            ev.headers.push((k.to_string(), url_decode(v)));
        } else if let Some(k) = line.strip_suffix(':') {
            ev.headers.push((k.to_string(), String::new()));
        }
    }
    if let Some(len) = ev
        .get("Content-Length")
        .and_then(|l| l.trim().parse::<usize>().ok())
    {
        let b = rest.as_bytes();
        ev.body = Some(String::from_utf8_lossy(&b[..len.min(b.len())]).into_owned());
    }
    ev
}
