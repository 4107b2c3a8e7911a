//! ESL framing on the server side: reading the client's command frames and rendering the
//! frames FreeSWITCH's mod_event_socket writes back (`auth/request`, `command/reply`,
//! `api/response`, `text/event-*`, `text/disconnect-notice`).
//!
//! A client frame is a command line, optional `Name: value` header lines, then a blank line;
//! a `Content-Length` header announces a body that follows the blank line (read_packet in
//! mod_event_socket.c). Bare `\n` and `\r\n` line ends are both accepted, as there.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// Frames beyond this are cut, as mod_event_socket caps a packet at 10 MiB.
const MAX_FRAME: usize = 10 * 1024 * 1024;

/// The text mod_event_socket sends when it closes a listener (`send_disconnect`).
pub const GOODBYE: &str = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n";

/// One command frame from the client.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Command {
    /// The first line, e.g. `api sofia status`.
    pub line: String,
    /// Headers that followed the command line, e.g. `Job-UUID`.
    pub headers: Vec<(String, String)>,
    /// Body announced by `Content-Length`.
    pub body: Option<String>,
}

impl Command {
    /// Header value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one command frame; `Ok(None)` on a clean end of stream.
pub async fn read_command<R: AsyncBufRead + Unpin>(r: &mut R) -> std::io::Result<Option<Command>> {
    let mut cmd = Command::default();
    let mut total = 0usize;
    loop {
        let mut line = String::new();
        let n = r.read_line(&mut line).await?;
        if n == 0 {
            return Ok(None);
        }
        total += n;
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            // Leading blank lines are skipped ("bah" in read_packet); a blank line after the
            // command line ends the frame.
            if cmd.line.is_empty() {
                continue;
            }
            break;
        }
        if cmd.line.is_empty() {
            cmd.line = trimmed.to_string();
        } else if let Some((k, v)) = trimmed.split_once(':') {
            cmd.headers
                .push((k.to_string(), v.trim_start_matches(' ').to_string()));
        }
        if total > MAX_FRAME {
            break;
        }
    }
    if let Some(len) = cmd
        .header("Content-Length")
        .and_then(|v| v.trim().parse::<usize>().ok())
        && len > 0
    {
        let mut buf = vec![0u8; len.min(MAX_FRAME)];
        r.read_exact(&mut buf).await?;
        cmd.body = Some(String::from_utf8_lossy(&buf).into_owned());
    }
    Ok(Some(cmd))
}

/// Sent as soon as a client connects.
pub fn auth_request() -> String {
    "Content-Type: auth/request\n\n".to_string()
}

/// `command/reply` with a `Reply-Text`.
pub fn command_reply(text: &str) -> String {
    format!("Content-Type: command/reply\nReply-Text: {text}\n\n")
}

/// The bgapi acknowledgement: the Job-UUID is repeated as its own header.
pub fn bgapi_reply(job_uuid: &str) -> String {
    format!(
        "Content-Type: command/reply\nReply-Text: +OK Job-UUID: {job_uuid}\nJob-UUID: {job_uuid}\n\n"
    )
}

/// `api/response`; an empty result becomes `-ERR no reply` as in api_exec.
pub fn api_response(body: &str) -> String {
    let body = if body.is_empty() {
        "-ERR no reply\n"
    } else {
        body
    };
    format!(
        "Content-Type: api/response\nContent-Length: {}\n\n{body}",
        body.len()
    )
}

/// An event frame: note Content-Length comes before Content-Type here, unlike api/response.
pub fn event_frame(kind: &str, body: &str) -> String {
    format!(
        "Content-Length: {}\nContent-Type: text/event-{kind}\n\n{body}",
        body.len()
    )
}

/// The notice sent before the socket is closed.
pub fn disconnect_notice() -> String {
    format!(
        "Content-Type: text/disconnect-notice\nContent-Length: {}\n\n{GOODBYE}",
        GOODBYE.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_command_with_headers_and_skips_blank_lines() {
        let raw = b"\n\nbgapi status\nJob-UUID: abc\n\napi hostname\n\n";
        let mut r = tokio::io::BufReader::new(&raw[..]);
        let c = read_command(&mut r).await.unwrap().unwrap();
        assert_eq!(c.line, "bgapi status");
        assert_eq!(c.header("job-uuid"), Some("abc"));
        let c = read_command(&mut r).await.unwrap().unwrap();
        assert_eq!(c.line, "api hostname");
        assert!(read_command(&mut r).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn reads_body_announced_by_content_length() {
        let raw = b"sendevent CUSTOM\r\nContent-Length: 5\r\n\r\nhello";
        let mut r = tokio::io::BufReader::new(&raw[..]);
        let c = read_command(&mut r).await.unwrap().unwrap();
        assert_eq!(c.body.as_deref(), Some("hello"));
    }

    #[test]
    fn disconnect_notice_is_67_bytes_of_body() {
        assert!(
            disconnect_notice()
                .starts_with("Content-Type: text/disconnect-notice\nContent-Length: 67\n\n")
        );
    }
}
