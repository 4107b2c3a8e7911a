//! ESL framing: cuts the byte stream from FreeSWITCH into frames (a header block, then an optional
//! body of exactly `Content-Length` bytes). Knows nothing of what a frame means; see
//! [`crate::esl::event`] for event bodies and the connection task for dispatch.
//!
//! Wire rules, from mod_event_socket and the captures:
//! * lines end in a bare `\n`; a blank line ends the header block;
//! * `Content-Length` announces the body; without it the frame has no body
//!   (`command/reply`, `auth/request`);
//! * FreeSWITCH skips stray blank lines between packets (`read_packet`), so do we;
//! * header values of the outer block may be URL-encoded (the outbound `connect` reply carries
//!   `Reply-Text: %2BOK%0A`); libesl decodes them, so we do too.
//!
//! The decoder is incremental: feed it whatever arrived, it returns complete frames and keeps the
//! rest, so several frames in one read and one frame across many reads both work. Limits on the
//! header block and the body turn garbage into a [`EslError::Protocol`] instead of unbounded
//! buffering; nothing here can panic on arbitrary input.

use bytes::{Buf, Bytes, BytesMut};

use super::error::EslError;
use super::headers::{Headers, split_header_line, url_decode};

/// Largest header block accepted. The biggest real one is the outbound `connect` reply with every
/// channel variable (about 10 KB in the captures); 1 MiB leaves room without letting a peer that
/// never sends a blank line grow our buffer forever.
pub const MAX_HEADER_BLOCK: usize = 1024 * 1024;

/// Largest body accepted. `api show channels` on a busy node returns a few MB; 64 MiB is far
/// beyond that and still bounded.
pub const MAX_BODY: usize = 64 * 1024 * 1024;

/// One ESL frame: outer headers and the body announced by `Content-Length`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub headers: Headers,
    pub body: Option<Bytes>,
}

impl Frame {
    /// `Content-Type`, which decides what the frame is (`command/reply`, `api/response`,
    /// `text/event-plain`, `text/event-json`, `text/disconnect-notice`, `auth/request`, ...).
    pub fn content_type(&self) -> Option<&str> {
        self.headers.get("Content-Type")
    }

    /// The body as text (lossy for invalid UTF-8), or "" without a body.
    pub fn body_text(&self) -> String {
        self.body
            .as_deref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    }
}

/// Incremental frame decoder; one per connection.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    /// Headers already parsed, waiting for this many body bytes.
    awaiting_body: Option<(Headers, usize)>,
    /// Where the unfinished header line starts, so a header block arriving in many small reads
    /// is scanned once, not once per read.
    line_start: usize,
}

impl FrameDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns the next complete frame and removes its bytes from `buf`; `Ok(None)` when more
    /// bytes are needed. An error means the stream cannot be trusted any more.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, EslError> {
        if self.awaiting_body.is_none() {
            let Some(headers) = self.decode_header_block(buf)? else {
                return Ok(None);
            };
            let len = content_length(&headers)?;
            if len == 0 {
                return Ok(Some(Frame {
                    headers,
                    body: None,
                }));
            }
            self.awaiting_body = Some((headers, len));
        }
        match &self.awaiting_body {
            Some((_, len)) if buf.len() >= *len => {
                let len = *len;
                let (headers, _) = self.awaiting_body.take().unwrap_or_default();
                let body = buf.split_to(len).freeze();
                Ok(Some(Frame {
                    headers,
                    body: Some(body),
                }))
            }
            _ => Ok(None),
        }
    }

    fn decode_header_block(&mut self, buf: &mut BytesMut) -> Result<Option<Headers>, EslError> {
        if self.line_start == 0 {
            let blanks = buf
                .iter()
                .take_while(|&&b| b == b'\n' || b == b'\r')
                .count();
            buf.advance(blanks);
        }
        let block_end = loop {
            let rest = &buf[self.line_start..];
            let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                if buf.len() > MAX_HEADER_BLOCK {
                    return Err(EslError::Protocol(format!(
                        "header block longer than {MAX_HEADER_BLOCK} bytes"
                    )));
                }
                return Ok(None);
            };
            let line = &rest[..nl];
            if line.is_empty() || line == b"\r" {
                break self.line_start;
            }
            self.line_start += nl + 1;
            if self.line_start > MAX_HEADER_BLOCK {
                return Err(EslError::Protocol(format!(
                    "header block longer than {MAX_HEADER_BLOCK} bytes"
                )));
            }
        };
        let block = buf.split_to(block_end);
        // Drop the terminating blank line ("\n" or "\r\n").
        let term = buf.iter().position(|&b| b == b'\n').map_or(0, |p| p + 1);
        buf.advance(term);
        self.line_start = 0;

        let mut headers = Headers::new();
        let block = block.strip_suffix(b"\n").unwrap_or(&block);
        for line in block.split(|&b| b == b'\n') {
            let Some((name, value)) = split_header_line(line) else {
                return Err(EslError::Protocol(format!(
                    "malformed header line {:?}",
                    String::from_utf8_lossy(&line[..line.len().min(80)])
                )));
            };
            headers.push(
                String::from_utf8_lossy(name).into_owned(),
                url_decode(value),
            );
        }
        Ok(Some(headers))
    }
}

/// Parses `Content-Length` strictly: digits only, within [`MAX_BODY`]. FreeSWITCH uses `atoi`,
/// which would read "12abc" as 12; a peer sending that is not FreeSWITCH, so we stop instead of
/// guessing where the next frame starts.
pub(crate) fn content_length(headers: &Headers) -> Result<usize, EslError> {
    let Some(raw) = headers.get("Content-Length") else {
        return Ok(0);
    };
    let raw = raw.trim();
    let bad = || EslError::Protocol(format!("bad Content-Length {raw:?}"));
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let len: usize = raw.parse().map_err(|_| bad())?;
    if len > MAX_BODY {
        return Err(EslError::Protocol(format!(
            "Content-Length {len} above the {MAX_BODY} byte limit"
        )));
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8]) -> Vec<Frame> {
        let mut dec = FrameDecoder::new();
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(f) = dec.decode(&mut buf).expect("valid stream") {
            out.push(f);
        }
        assert!(buf.is_empty(), "left over: {buf:?}");
        out
    }

    #[test]
    fn two_frames_in_one_read() {
        let frames = decode_all(
            b"Content-Type: auth/request\n\nContent-Type: api/response\nContent-Length: 4\n\n+OK\n",
        );
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].content_type(), Some("auth/request"));
        assert_eq!(frames[0].body, None);
        assert_eq!(frames[1].body_text(), "+OK\n");
    }

    #[test]
    fn one_frame_across_many_reads() {
        let wire = b"Content-Type: api/response\nContent-Length: 11\n\nhello world";
        let mut dec = FrameDecoder::new();
        let mut buf = BytesMut::new();
        let mut got = None;
        for (i, b) in wire.iter().enumerate() {
            buf.extend_from_slice(&[*b]);
            if let Some(f) = dec.decode(&mut buf).unwrap() {
                assert_eq!(i, wire.len() - 1, "frame completed early");
                got = Some(f);
            }
        }
        assert_eq!(got.unwrap().body_text(), "hello world");
    }

    #[test]
    fn stray_blank_lines_and_crlf_are_tolerated() {
        let frames = decode_all(b"\n\r\nContent-Type: command/reply\r\nReply-Text: +OK\r\n\r\n");
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].headers.get("reply-text"), Some("+OK"));
    }

    #[test]
    fn outer_header_values_are_url_decoded() {
        let frames = decode_all(b"Content-Type: command/reply\nReply-Text: %2BOK%0A\n\n");
        assert_eq!(frames[0].headers.get("Reply-Text"), Some("+OK\n"));
    }

    #[test]
    fn outer_header_names_match_in_any_case() {
        let frames = decode_all(
            b"content-length: 24\nCONTENT-TYPE: text/event-plain\n\nevent-name: HEARTBEAT\n\n\n\n",
        );
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].content_type(), Some("text/event-plain"));
        let body = frames[0].body.as_deref().unwrap();
        let ev = crate::esl::Event::parse_plain(body).unwrap();
        assert_eq!(ev.name(), "HEARTBEAT");
    }

    #[test]
    fn bad_content_length_is_a_protocol_error() {
        for cl in ["-1", "12abc", "", "99999999999999999999999", "67108865"] {
            let wire = format!("Content-Type: api/response\nContent-Length: {cl}\n\n");
            let mut buf = BytesMut::from(wire.as_bytes());
            let err = FrameDecoder::new().decode(&mut buf).unwrap_err();
            assert!(matches!(err, EslError::Protocol(_)), "{cl}: {err}");
        }
    }

    #[test]
    fn header_line_without_colon_is_a_protocol_error() {
        let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\n\n"[..]);
        assert!(FrameDecoder::new().decode(&mut buf).is_err());
    }

    #[test]
    fn endless_header_block_is_refused_not_buffered() {
        let mut dec = FrameDecoder::new();
        let mut buf = BytesMut::new();
        let line =
            b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n";
        let mut failed = false;
        for _ in 0..(MAX_HEADER_BLOCK / line.len() + 2) {
            buf.extend_from_slice(line);
            if dec.decode(&mut buf).is_err() {
                failed = true;
                break;
            }
        }
        assert!(failed);
    }
}
