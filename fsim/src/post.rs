//! What happens over HTTP after a leg hangs up: mod_xml_cdr posts the CDR (form field `cdr`,
//! `?uuid=a_<uuid>`, Basic credentials, `retries` extra tries `delay` seconds apart, success
//! on any 2xx), and the recording upload an originate's hangup hook asks for
//! (`api_hangup_hook=system curl ... -F "files=@FILE" URL` or
//! `record_post_process_exec_api=curl_sendfile:URL field=FILE`), done without a shell: the
//! URL and field are parsed out of the hook and a generated WAV is posted as multipart.

use crate::call::leg::Leg;
use crate::call::media::Recorded;
use crate::state::Shared;
use std::sync::Arc;
use std::time::Duration;

/// User-Agent mod_xml_cdr sends.
const CDR_AGENT: &str = "freeswitch-xml/1.0";

/// Starts the CDR post and any recording upload for a finished leg.
pub fn after_hangup(shared: &Arc<Shared>, leg: &Leg) {
    let (cdr, core, host) = {
        let w = shared.world();
        (
            w.cfg.cdr.clone(),
            w.core_uuid.clone(),
            w.cfg.hostname.clone(),
        )
    };
    if let Some(url) = cdr.url.clone().filter(|_| !leg.is_b_leg || cdr.log_b_leg) {
        let xml = crate::cdr::to_xml(&core, &host, leg);
        let prefix = if cdr.prefix_a_leg && !leg.is_b_leg {
            "a_"
        } else {
            ""
        };
        let sep = if url.contains('?') { '&' } else { '?' };
        let dest = format!("{url}{sep}uuid={prefix}{}", leg.uuid);
        // mod_xml_cdr substitutes 5 s when retries are configured with no delay.
        let delay = if cdr.retries > 0 && cdr.delay_secs == 0 {
            5
        } else {
            cdr.delay_secs
        };
        tokio::spawn(post_cdr(dest, xml, cdr.cred.clone(), cdr.retries, delay));
    }
    // The hook runs wherever it is armed, but curl can only send a file some leg recorded
    // (record_session waits for answer): for an unanswered call it fails before any request.
    if let Some(upload) = recording_upload(leg)
        && let Some(rec) = shared.recording(&upload.path)
    {
        tokio::spawn(upload_recording(upload, rec));
    }
}

/// Posts the recording as curl does, including `--retry`: a timeout, a refused connection (with
/// `--retry-connrefused`) or a 408, 429, 500, 502, 503 or 504 answer is tried again after
/// `--retry-delay` seconds; any other answer ends the upload.
async fn upload_recording(upload: Upload, rec: Recorded) {
    let wav = recording_wav(rec);
    let (ctype, body) =
        crate::http::multipart(&upload.fields, &upload.field, &upload.filename, &wav);
    for attempt in 0..=upload.retries {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(upload.retry_delay_secs)).await;
        }
        match crate::http::post(&upload.url, &ctype, &body, None, "curl/8.5.0").await {
            Ok(code) if !is_curl_transient(code) => return,
            Ok(code) => eprintln!("fsim: recording upload to {} got {code}", upload.url),
            Err(e) => {
                eprintln!("fsim: recording upload to {} failed: {e}", upload.url);
                if !upload.retry_connrefused {
                    return;
                }
            }
        }
    }
}

/// The HTTP answers curl's `--retry` treats as transient.
fn is_curl_transient(code: u16) -> bool {
    matches!(code, 408 | 429 | 500 | 502 | 503 | 504)
}

async fn post_cdr(url: String, xml: String, cred: Option<String>, retries: u32, delay_secs: u64) {
    let body = format!("cdr={}", crate::text::url_encode(&xml));
    for attempt in 0..=retries {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(delay_secs)).await;
        }
        let ctype = "application/x-www-form-urlencoded";
        match crate::http::post(&url, ctype, body.as_bytes(), cred.as_deref(), CDR_AGENT).await {
            Ok(code) if (200..300).contains(&code) => return,
            Ok(code) => eprintln!("fsim: Got error [{code}] posting to web server [{url}]"),
            Err(e) => eprintln!("fsim: CDR post to {url} failed: {e}"),
        }
    }
    eprintln!("fsim: Unable to post to web server [{url}], CDR dropped");
}

/// A recording upload requested by a hook variable.
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    /// Where to post.
    pub url: String,
    /// Form field carrying the file.
    pub field: String,
    /// File name sent with the part (the basename of the hook's path).
    pub filename: String,
    /// The file's path as the hook names it.
    pub path: String,
    /// Extra form fields (`-F k=v` or curl_sendfile post parameters).
    pub fields: Vec<(String, String)>,
    /// curl's `--retry N` (0 for curl_sendfile, which has no retry).
    pub retries: u32,
    /// curl's `--retry-delay S` (curl's default backoff starts at 1 s).
    pub retry_delay_secs: u64,
    /// curl's `--retry-connrefused`: a refused connection counts as transient.
    pub retry_connrefused: bool,
}

/// Finds a recording upload in the leg's hangup hooks, with `${var}` expanded from the leg.
pub fn recording_upload(leg: &Leg) -> Option<Upload> {
    let expand = |s: &str| expand_vars(s, leg);
    if let Some(hook) = leg.var("record_post_process_exec_api")
        && let Some(u) = parse_curl_sendfile(&expand(hook))
    {
        return Some(u);
    }
    for name in [
        "api_hangup_hook",
        "api_reporting_hook",
        "session_api_hangup_hook",
    ] {
        if let Some(hook) = leg.var(name)
            && let Some(u) = parse_system_curl(&expand(hook))
        {
            return Some(u);
        }
    }
    None
}

/// Expands `${name}` from channel variables; unknown names become empty, as in FreeSWITCH.
pub fn expand_vars(s: &str, leg: &Leg) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let Some(end) = rest[i..].find('}') else {
            out.push_str(&rest[i..]);
            return out;
        };
        let name = &rest[i + 2..i + end];
        out.push_str(leg.var(name).unwrap_or(""));
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    out
}

/// `curl_sendfile:<url> <field>=<path> [k=v&k2=v2]` (mod_curl's curl_sendfile API, with the
/// `api:args` form record_post_process_exec_api uses; a space instead of `:` is accepted).
pub fn parse_curl_sendfile(hook: &str) -> Option<Upload> {
    let rest = hook.trim().strip_prefix("curl_sendfile")?;
    let args = crate::call::dial::split_args(rest.trim_start_matches([':', ' ']));
    let url = args.first()?.clone();
    let (field, path) = args.get(1)?.split_once('=')?;
    let mut fields = Vec::new();
    if let Some(extra) = args.get(2).filter(|a| a.contains('=')) {
        for kv in extra.split('&') {
            if let Some((k, v)) = kv.split_once('=') {
                fields.push((k.to_string(), v.to_string()));
            }
        }
    }
    Some(Upload {
        url,
        field: field.to_string(),
        filename: basename(path),
        path: path.to_string(),
        fields,
        retries: 0,
        retry_delay_secs: 0,
        retry_connrefused: false,
    })
}

/// `system curl ... -F "files=@/path/x.wav" [-F k=v] http://host/upload` (curl arguments,
/// quotes honoured, never run through a shell).
pub fn parse_system_curl(hook: &str) -> Option<Upload> {
    let rest = hook.trim().strip_prefix("system")?.trim_start();
    let args = crate::call::dial::split_args(rest);
    if args.first().map(|a| a.rsplit('/').next().unwrap_or(a)) != Some("curl") {
        return None;
    }
    let mut url = None;
    let mut file = None;
    let mut fields = Vec::new();
    let (mut retries, mut retry_delay_secs, mut retry_connrefused) = (0, 1, false);
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        if a == "--retry" {
            retries = it.next()?.parse().ok()?;
        } else if a == "--retry-delay" {
            retry_delay_secs = it.next()?.parse().ok()?;
        } else if a == "--retry-connrefused" {
            retry_connrefused = true;
        } else if a == "-F" || a == "--form" {
            let spec = it.next()?;
            let (k, v) = spec.split_once('=')?;
            match v.strip_prefix('@') {
                Some(path) => {
                    file = Some((
                        k.to_string(),
                        path.split(';').next().unwrap_or(path).to_string(),
                    ))
                }
                None => fields.push((k.to_string(), v.to_string())),
            }
        } else if a.starts_with("http://") || a.starts_with("https://") {
            url = Some(a.clone());
        } else if a == "--url" {
            url = it.next().cloned();
        }
    }
    let (field, path) = file?;
    Some(Upload {
        url: url?,
        field,
        filename: basename(&path),
        path,
        fields,
        retries,
        retry_delay_secs,
        retry_connrefused,
    })
}

fn basename(path: &str) -> String {
    path.rsplit(['/', '\\']).next().unwrap_or(path).to_string()
}

/// A valid WAV: 8 kHz, 16-bit mono, a quiet 440 Hz tone of `secs` seconds.
pub fn tone_wav(secs: u32) -> Vec<u8> {
    recording_wav(Recorded {
        rate: 8000,
        channels: 1,
        samples: 8000 * u64::from(secs),
    })
}

/// A valid 16-bit PCM WAV of the recording's rate, channels and length (a quiet 440 Hz tone),
/// so its size is the one the switch would have written.
pub fn recording_wav(rec: Recorded) -> Vec<u8> {
    let rate = rec.rate.max(1);
    let ch = u32::from(rec.channels.max(1));
    let data_len = (rec.samples * u64::from(ch) * 2) as u32;
    let mut w = Vec::with_capacity(44 + data_len as usize);
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + data_len).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes()); // PCM
    w.extend_from_slice(&(ch as u16).to_le_bytes());
    w.extend_from_slice(&rate.to_le_bytes());
    w.extend_from_slice(&(rate * ch * 2).to_le_bytes());
    w.extend_from_slice(&((ch * 2) as u16).to_le_bytes());
    w.extend_from_slice(&16u16.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&data_len.to_le_bytes());
    for n in 0..rec.samples {
        let t = n as f64 / f64::from(rate);
        let s = ((t * 440.0 * std::f64::consts::TAU).sin() * 3000.0) as i16;
        for _ in 0..ch {
            w.extend_from_slice(&s.to_le_bytes());
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_curl_hook_yields_url_and_field() {
        let u = parse_system_curl(r#"system curl -s -F "files=@/var/spool/rec/abc.wav" -F call_id=abc http://127.0.0.1:9/upload?x=1"#).unwrap();
        assert_eq!(u.url, "http://127.0.0.1:9/upload?x=1");
        assert_eq!(u.field, "files");
        assert_eq!(u.filename, "abc.wav");
        assert_eq!(u.fields, vec![("call_id".to_string(), "abc".to_string())]);
    }

    #[test]
    fn system_curl_hook_carries_curls_retry_options() {
        let u = parse_system_curl(r#"system curl -s --retry 5 --retry-delay 2 --retry-connrefused -XPOST -F "files=@/r/a.wav" "http://h/up""#).unwrap();
        assert_eq!(
            (u.retries, u.retry_delay_secs, u.retry_connrefused),
            (5, 2, true)
        );
        assert_eq!(u.url, "http://h/up");
        let plain =
            parse_system_curl(r#"system curl -s -F "files=@/r/a.wav" http://h/up"#).unwrap();
        assert_eq!((plain.retries, plain.retry_connrefused), (0, false));
        assert!(
            parse_system_curl(r#"system curl --retry x -F "files=@/r/a.wav" http://h/up"#)
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_recording_upload_answered_503_is_posted_again() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/up", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let mut answers = vec![];
            for status in ["503 Service Unavailable", "200 OK"] {
                // A guard so that an upload which is never retried fails the test, not hangs it.
                let accepted = tokio::time::timeout(Duration::from_secs(10), listener.accept());
                let Ok(Ok((mut s, _))) = accepted.await else {
                    break;
                };
                let mut buf = vec![0; 64 * 1024];
                let n = s.read(&mut buf).await.unwrap();
                answers.push(String::from_utf8_lossy(&buf[..n]).starts_with("POST /up "));
                let reply = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
                s.write_all(reply.as_bytes()).await.unwrap();
            }
            answers
        });
        let hook =
            format!(r#"system curl -s --retry 2 --retry-delay 0 -F "files=@/r/a.wav" {url}"#);
        let rec = Recorded {
            rate: 8000,
            channels: 1,
            samples: 8000,
        };
        upload_recording(parse_system_curl(&hook).unwrap(), rec).await;
        assert_eq!(server.await.unwrap(), vec![true, true]);
    }

    #[test]
    fn only_curls_transient_answers_are_retried() {
        for code in [408, 429, 500, 502, 503, 504] {
            assert!(is_curl_transient(code), "{code}");
        }
        for code in [200, 201, 400, 401, 403, 413, 501] {
            assert!(!is_curl_transient(code), "{code}");
        }
    }

    #[test]
    fn curl_sendfile_hook_yields_url_and_field() {
        let u = parse_curl_sendfile("curl_sendfile:http://h/up files=/r/x.wav a=1&b=2").unwrap();
        assert_eq!(
            (u.url.as_str(), u.field.as_str(), u.filename.as_str()),
            ("http://h/up", "files", "x.wav")
        );
        assert_eq!(u.fields.len(), 2);
    }

    #[test]
    fn wav_size_follows_rate_channels_and_length() {
        assert_eq!(tone_wav(1).len(), 44 + 16000);
        let w = recording_wav(Recorded {
            rate: 8000,
            channels: 2,
            samples: 48000,
        });
        assert_eq!(&w[..4], b"RIFF");
        assert_eq!(&w[8..12], b"WAVE");
        assert_eq!(w.len(), 192_044);
    }
}
