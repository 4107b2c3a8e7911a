//! The real FreeSWITCH under test: `fs_cli` commands, the suite's scripts (restart), and a raw
//! Event Socket capture (`event plain ALL`) kept as an artifact and read by the scenarios.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub const ESL: &str = "127.0.0.1:8021";

/// The ESL password `conformance/assemble` put into event_socket.conf.xml.
pub fn esl_password() -> String {
    std::env::var("CONFORMANCE_ESL_PASSWORD").unwrap_or_else(|_| "conformance-esl-0123".into())
}

pub fn prefix() -> PathBuf {
    PathBuf::from(std::env::var("FREESWITCH_PREFIX").unwrap_or_else(|_| "/opt/freeswitch".into()))
}

/// Where `conformance/run` keeps the switch's configuration, logs and the artifacts.
pub fn work() -> PathBuf {
    match std::env::var("CONFORMANCE_WORK") {
        Ok(w) => PathBuf::from(w),
        Err(_) => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/conformance"),
    }
}

pub fn conf_dir() -> PathBuf {
    work().join("fs/conf")
}

pub fn log_dir() -> PathBuf {
    work().join("fs/log")
}

pub fn recordings_dir() -> PathBuf {
    work().join("fs/recordings")
}

/// Runs one API command through fs_cli and returns its output.
pub fn cli(cmd: &str) -> String {
    let out = std::process::Command::new(prefix().join("bin/fs_cli"))
        .args([
            "-H",
            "127.0.0.1",
            "-P",
            "8021",
            "-p",
            &esl_password(),
            "-x",
            cmd,
        ])
        .output()
        .unwrap_or_else(|e| panic!("fs_cli {cmd}: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `conformance/freeswitch ARG` (start, stop, restart).
pub fn script(arg: &str) {
    let status = std::process::Command::new(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/freeswitch"),
    )
    .arg(arg)
    .env("FS_KEEP_DB", "")
    .status()
    .unwrap();
    assert!(status.success(), "conformance/freeswitch {arg}");
}

/// One event as received: its headers (URL-decoded, in order).
#[derive(Debug, Clone)]
pub struct Event {
    pub headers: Vec<(String, String)>,
}

impl Event {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn name(&self) -> &str {
        self.get("Event-Name").unwrap_or("")
    }
}

/// A live `event plain ALL` subscription; every frame goes to `raw` (the artifact) and the
/// parsed events to `events`.
#[derive(Clone, Default)]
pub struct Capture {
    pub raw: Arc<Mutex<String>>,
    pub events: Arc<Mutex<Vec<Event>>>,
}

impl Capture {
    /// Subscribes to the switch under test.
    pub async fn start() -> Capture {
        Capture::start_at(ESL, &esl_password()).await
    }

    /// Subscribes to any Event Socket server (the switch, or fsim for the differential test).
    pub async fn start_at(addr: &str, password: &str) -> Capture {
        let cap = Capture::default();
        let stream = TcpStream::connect(addr)
            .await
            .expect("Event Socket reachable");
        stream.set_nodelay(true).ok();
        let (r, mut w) = stream.into_split();
        let mut r = BufReader::new(r);
        read_frame(&mut r).await.expect("auth/request");
        w.write_all(format!("auth {password}\n\n").as_bytes())
            .await
            .unwrap();
        let (h, _) = read_frame(&mut r).await.unwrap();
        assert!(h.contains("+OK accepted"), "ESL auth: {h}");
        w.write_all(b"event plain ALL\n\n").await.unwrap();
        let (h, _) = read_frame(&mut r).await.unwrap();
        assert!(h.contains("+OK"), "event plain ALL: {h}");
        let c = cap.clone();
        tokio::spawn(async move {
            let _w = w; // the socket stays open while the task reads
            while let Some((head, body)) = read_frame(&mut r).await {
                let mut raw = c.raw.lock().unwrap();
                raw.push_str(&head);
                raw.push_str(&body);
                drop(raw);
                if head.contains("text/event-plain") {
                    c.events.lock().unwrap().push(parse_plain(&body));
                }
            }
        });
        cap
    }

    pub fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }

    pub fn raw(&self) -> String {
        self.raw.lock().unwrap().clone()
    }

    /// Waits until an event matches `pred`.
    pub async fn wait_for(&self, what: &str, limit: Duration, pred: impl Fn(&Event) -> bool) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if self.events().iter().any(&pred) {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "no event: {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Reads one frame: the header block (up to the blank line, kept verbatim) and the
/// Content-Length body.
async fn read_frame<R: tokio::io::AsyncRead + Unpin>(
    r: &mut BufReader<R>,
) -> Option<(String, String)> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        head.push_str(&line);
        if line == "\n" && head.len() > 1 {
            break;
        }
    }
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).await.ok()?;
    Some((head, String::from_utf8_lossy(&body).into_owned()))
}

fn parse_plain(body: &str) -> Event {
    let head = body.split_once("\n\n").map_or(body, |(h, _)| h);
    let headers = head
        .lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), urlencoding_decode(v)))
        .collect();
    Event { headers }
}

fn urlencoding_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Sends one `bgapi` command to an Event Socket server and returns its `command/reply`.
pub async fn bgapi(addr: &str, password: &str, cmd: &str) -> String {
    let stream = TcpStream::connect(addr)
        .await
        .expect("Event Socket reachable");
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    read_frame(&mut r).await.expect("auth/request");
    w.write_all(format!("auth {password}\n\n").as_bytes())
        .await
        .unwrap();
    read_frame(&mut r).await.expect("auth reply");
    w.write_all(format!("bgapi {cmd}\n\n").as_bytes())
        .await
        .unwrap();
    let (head, _) = read_frame(&mut r).await.expect("command/reply");
    head
}
