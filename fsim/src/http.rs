//! A small HTTP/1.1 client for the two posts FreeSWITCH makes when a call ends (the CDR and the
//! recording upload). Plain `http://` only, one request per connection; enough for a simulator
//! and lighter than a general client.

use crate::text::base64;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long one request may take, like mod_xml_cdr's curl timeout.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed `http://host[:port]/path?query` URL.
#[derive(Debug, Clone, PartialEq)]
pub struct Url {
    /// Host name or address.
    pub host: String,
    /// Port (80 by default).
    pub port: u16,
    /// Path and query, at least `/`.
    pub target: String,
    /// `user:pass` given in the URL, if any.
    pub userinfo: Option<String>,
}

/// Parses an `http://` URL.
pub fn parse_url(url: &str) -> Result<Url, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("only http:// URLs are supported: {url}"))?;
    let (authority, target) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_string()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_string()),
    };
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u.to_string()), h),
        None => (None, authority),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
            h.trim_matches(['[', ']']).to_string(),
            p.parse().map_err(|_| format!("bad port in {url}"))?,
        ),
        _ => (hostport.to_string(), 80),
    };
    if host.is_empty() {
        return Err(format!("no host in {url}"));
    }
    Ok(Url {
        host,
        port,
        target,
        userinfo,
    })
}

/// POSTs `body` and returns the response status code.
pub async fn post(
    url: &str,
    content_type: &str,
    body: &[u8],
    cred: Option<&str>,
    agent: &str,
) -> Result<u16, String> {
    let u = parse_url(url)?;
    let cred = cred.map(str::to_string).or(u.userinfo.clone());
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: {agent}\r\nAccept: */*\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        u.target,
        u.host,
        u.port,
        body.len()
    );
    if let Some(c) = cred {
        head.push_str(&format!(
            "Authorization: Basic {}\r\n",
            base64(c.as_bytes())
        ));
    }
    head.push_str("\r\n");
    let io = async {
        let mut s = TcpStream::connect((u.host.as_str(), u.port))
            .await
            .map_err(|e| e.to_string())?;
        s.write_all(head.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        s.write_all(body).await.map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 1024];
        // The status line is all we need; stop reading once it is in.
        while !buf.windows(2).any(|w| w == b"\r\n") {
            let n = s.read(&mut chunk).await.map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let line = String::from_utf8_lossy(&buf);
        line.split_whitespace()
            .nth(1)
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| format!("no HTTP status from {url}"))
    };
    tokio::time::timeout(TIMEOUT, io)
        .await
        .map_err(|_| format!("timeout posting to {url}"))?
}

/// A `multipart/form-data` body: text fields, then one file part. Returns (content type, body).
pub fn multipart(
    fields: &[(String, String)],
    file_field: &str,
    filename: &str,
    data: &[u8],
) -> (String, Vec<u8>) {
    let boundary = format!("------------------------{}", uuid::Uuid::new_v4().simple());
    let mut body = Vec::with_capacity(data.len() + 512);
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{file_field}\"; filename=\"{filename}\"\r\nContent-Type: audio/x-wav\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let u = parse_url("http://u:p@127.0.0.1:8080/cdr?x=1").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.target.as_str()),
            ("127.0.0.1", 8080, "/cdr?x=1")
        );
        assert_eq!(u.userinfo.as_deref(), Some("u:p"));
        assert_eq!(parse_url("http://example.com").unwrap().target, "/");
        assert!(parse_url("https://example.com/").is_err());
    }
}
