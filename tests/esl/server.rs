//! A small scripted ESL server for tests and the benchmark: speaks the inbound protocol the way
//! mod_event_socket does (auth/request, command/reply with `~` headers for bgapi, api/response
//! with Content-Length, events framed as `Content-Length` + `Content-Type: text/event-*`,
//! disconnect notices) and lets a test push events, drop sockets or play a restart.

#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

pub const GOODBYE: &str = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n";
pub const SHUTDOWN: &str = "The system is being shut down.\n";

pub enum Ctl {
    Send(Vec<u8>),
    /// Disconnect notice with this text, then close (what FreeSWITCH does on shutdown).
    Notice(String),
    /// Close without a word (RST-like from the client's point of view).
    Close,
}

struct Conn {
    ctl: mpsc::UnboundedSender<Ctl>,
    format: Option<String>,
}

pub struct Shared {
    pub password: Mutex<String>,
    pub hostname: String,
    pub core_uuid: Mutex<String>,
    /// Accept and close at once: a switch that is restarting.
    pub down: AtomicBool,
    /// Answer with text/rude-rejection: an ACL that refuses us.
    pub rude: AtomicBool,
    /// Send BACKGROUND_JOB before the bgapi reply (FreeSWITCH does not, we must not care).
    pub job_event_first: AtomicBool,
    pub authed: AtomicUsize,
    /// Every `auth` received, right or wrong.
    pub attempts: AtomicUsize,
    conns: Mutex<Vec<Conn>>,
    /// Command lines received, one list per authenticated connection.
    pub commands: Mutex<Vec<Vec<String>>>,
}

pub struct FakeSwitch {
    pub addr: String,
    pub shared: Arc<Shared>,
}

impl FakeSwitch {
    pub async fn start(password: &str, hostname: &str) -> FakeSwitch {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let shared = Arc::new(Shared {
            password: Mutex::new(password.to_string()),
            hostname: hostname.to_string(),
            core_uuid: Mutex::new(uuid::Uuid::new_v4().to_string()),
            down: AtomicBool::new(false),
            rude: AtomicBool::new(false),
            job_event_first: AtomicBool::new(false),
            authed: AtomicUsize::new(0),
            attempts: AtomicUsize::new(0),
            conns: Mutex::new(Vec::new()),
            commands: Mutex::new(Vec::new()),
        });
        let s = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve(stream, s.clone()));
            }
        });
        FakeSwitch { addr, shared }
    }

    fn each_conn(&self, f: impl Fn(&Conn)) {
        for c in self.shared.conns.lock().unwrap().iter() {
            f(c);
        }
    }

    /// Pushes an event to every subscribed connection, in the format it subscribed with.
    pub fn push_event(&self, headers: &[(&str, &str)], body: Option<&str>) {
        let core = self.shared.core_uuid.lock().unwrap().clone();
        let mut all: Vec<(&str, &str)> = vec![
            ("Core-UUID", core.as_str()),
            ("FreeSWITCH-Hostname", self.shared.hostname.as_str()),
        ];
        all.extend_from_slice(headers);
        self.each_conn(|c| {
            if let Some(format) = &c.format {
                let _ = c.ctl.send(Ctl::Send(event_frame(format, &all, body)));
            }
        });
    }

    pub fn push_raw(&self, bytes: &[u8]) {
        self.each_conn(|c| {
            let _ = c.ctl.send(Ctl::Send(bytes.to_vec()));
        });
    }

    /// FreeSWITCH shutting down: a disconnect notice on every socket, then nothing accepted
    /// until [`FakeSwitch::come_back`]; the next life has a new Core-UUID.
    pub fn restart(&self) {
        self.shared.down.store(true, Ordering::SeqCst);
        *self.shared.core_uuid.lock().unwrap() = uuid::Uuid::new_v4().to_string();
        self.each_conn(|c| {
            let _ = c.ctl.send(Ctl::Notice(SHUTDOWN.into()));
        });
        self.shared.conns.lock().unwrap().clear();
    }

    pub fn come_back(&self) {
        self.shared.down.store(false, Ordering::SeqCst);
    }

    /// Every socket closed without a notice.
    pub fn drop_connections(&self) {
        self.each_conn(|c| {
            let _ = c.ctl.send(Ctl::Close);
        });
        self.shared.conns.lock().unwrap().clear();
    }

    pub fn commands(&self) -> Vec<Vec<String>> {
        self.shared.commands.lock().unwrap().clone()
    }

    /// Waits (up to 5 s) until `n` connections have authenticated and subscribed in total.
    pub async fn wait_subscribed(&self, n: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let subscribed = self
                .commands()
                .iter()
                .filter(|c| c.iter().any(|l| l.starts_with("event ")))
                .count();
            if subscribed >= n {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {subscribed} of {n} subscribed"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One event frame as mod_event_socket writes it.
pub fn event_frame(format: &str, headers: &[(&str, &str)], body: Option<&str>) -> Vec<u8> {
    let inner = if format == "json" {
        let mut map = serde_json::Map::new();
        for (k, v) in headers {
            map.insert(k.to_string(), serde_json::Value::String(v.to_string()));
        }
        if let Some(b) = body {
            map.insert("_body".into(), serde_json::Value::String(b.to_string()));
        }
        serde_json::Value::Object(map).to_string()
    } else {
        let mut s = String::new();
        for (k, v) in headers {
            s.push_str(&format!("{k}: {}\n", url_encode(v)));
        }
        match body {
            Some(b) => s.push_str(&format!("Content-Length: {}\n\n{b}", b.len())),
            None => s.push('\n'),
        }
        s
    };
    let mut out = format!(
        "Content-Length: {}\nContent-Type: text/event-{format}\n\n",
        inner.len()
    )
    .into_bytes();
    out.extend_from_slice(inner.as_bytes());
    out
}

fn reply(text: &str) -> Vec<u8> {
    format!("Content-Type: command/reply\nReply-Text: {text}\n\n").into_bytes()
}

fn api_response(body: &str) -> Vec<u8> {
    format!(
        "Content-Type: api/response\nContent-Length: {}\n\n{body}",
        body.len()
    )
    .into_bytes()
}

fn notice(text: &str) -> Vec<u8> {
    format!(
        "Content-Type: text/disconnect-notice\nContent-Length: {}\n\n{text}",
        text.len()
    )
    .into_bytes()
}

/// Takes one command (up to its blank line) off the front of `buf`.
fn take_command(buf: &mut Vec<u8>) -> Option<(String, Vec<(String, String)>)> {
    let end = buf.windows(2).position(|w| w == b"\n\n")?;
    let text = String::from_utf8_lossy(&buf[..end]).into_owned();
    buf.drain(..end + 2);
    let mut lines = text.lines();
    let command = lines.next().unwrap_or_default().to_string();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Some((command, headers))
}

async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    if shared.down.load(Ordering::SeqCst) {
        return;
    }
    let (mut rd, mut wr) = stream.into_split();
    if shared.rude.load(Ordering::SeqCst) {
        let msg = "Access Denied, go away.\n";
        let mut out = format!(
            "Content-Type: text/rude-rejection\nContent-Length: {}\n\n{msg}",
            msg.len()
        )
        .into_bytes();
        out.extend(notice(GOODBYE));
        let _ = wr.write_all(&out).await;
        return;
    }
    let _ = wr.write_all(b"Content-Type: auth/request\n\n").await;
    let mut buf = Vec::new();
    // Authentication first, as listener_run does.
    let pw = shared.password.lock().unwrap().clone();
    loop {
        if rd.read_buf(&mut buf).await.unwrap_or(0) == 0 {
            return;
        }
        if let Some((cmd, _)) = take_command(&mut buf) {
            shared.attempts.fetch_add(1, Ordering::SeqCst);
            if cmd == format!("auth {pw}") {
                let _ = wr.write_all(&reply("+OK accepted")).await;
                break;
            }
            let mut out = reply("-ERR invalid");
            out.extend(notice(GOODBYE));
            let _ = wr.write_all(&out).await;
            return;
        }
    }
    shared.authed.fetch_add(1, Ordering::SeqCst);
    let (ctl_tx, mut ctl_rx) = mpsc::unbounded_channel();
    let my_ctl = ctl_tx.clone();
    let index = {
        let mut conns = shared.conns.lock().unwrap();
        conns.push(Conn {
            ctl: ctl_tx,
            format: None,
        });
        let mut cmds = shared.commands.lock().unwrap();
        cmds.push(Vec::new());
        cmds.len() - 1
    };
    loop {
        tokio::select! {
            n = rd.read_buf(&mut buf) => {
                if n.unwrap_or(0) == 0 {
                    return;
                }
                while let Some((cmd, headers)) = take_command(&mut buf) {
                    shared.commands.lock().unwrap()[index].push(cmd.clone());
                    let out = answer(&shared, &my_ctl, &cmd, &headers);
                    if wr.write_all(&out).await.is_err() {
                        return;
                    }
                    if cmd == "exit" {
                        let _ = wr.write_all(&notice(GOODBYE)).await;
                        return;
                    }
                }
            }
            ctl = ctl_rx.recv() => match ctl {
                Some(Ctl::Send(bytes)) => {
                    if wr.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
                Some(Ctl::Notice(text)) => {
                    let _ = wr.write_all(&notice(&text)).await;
                    return;
                }
                Some(Ctl::Close) | None => return,
            }
        }
    }
}

/// The bytes FreeSWITCH would answer `cmd` with.
fn answer(
    shared: &Shared,
    me: &mpsc::UnboundedSender<Ctl>,
    cmd: &str,
    headers: &[(String, String)],
) -> Vec<u8> {
    if let Some(rest) = cmd.strip_prefix("event ") {
        let format = rest.split(' ').next().unwrap_or("plain").to_string();
        let mut conns = shared.conns.lock().unwrap();
        if let Some(c) = conns.iter_mut().find(|c| c.ctl.same_channel(me)) {
            c.format = Some(format.clone());
        }
        return reply(&format!("+OK event listener enabled {format}"));
    }
    if let Some(rest) = cmd.strip_prefix("filter ") {
        let (h, v) = rest.split_once(' ').unwrap_or((rest, ""));
        return reply(&format!("+OK filter added. [{h}]=[{v}]"));
    }
    if cmd == "exit" {
        return reply("+OK bye");
    }
    if let Some(api) = cmd.strip_prefix("api ") {
        return match api {
            "hostname" => api_response(&shared.hostname),
            "hold" => Vec::new(), // never answered: an in-flight command
            a if a.starts_with("echo ") => api_response(&a[5..]),
            a => api_response(&format!("-ERR {a} Command not found!\n")),
        };
    }
    if let Some(job) = cmd.strip_prefix("bgapi ") {
        let job_uuid = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Job-UUID"))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let mut out = format!(
            "Content-Type: command/reply\nReply-Text: +OK Job-UUID: {job_uuid}\nJob-UUID: {job_uuid}\n\n"
        )
        .into_bytes();
        if job == "hold" {
            return out; // accepted, but the result never comes
        }
        let body = if job.starts_with("fail") {
            "-ERR NO_ANSWER\n".to_string()
        } else {
            format!("+OK {}\n", uuid::Uuid::new_v4())
        };
        let format = {
            let conns = shared.conns.lock().unwrap();
            conns
                .iter()
                .find(|c| c.ctl.same_channel(me))
                .and_then(|c| c.format.clone())
        };
        if let Some(format) = format {
            let core = shared.core_uuid.lock().unwrap().clone();
            let command = job.split(' ').next().unwrap_or_default();
            let arg = job.split_once(' ').map(|x| x.1).unwrap_or_default();
            let ev = event_frame(
                &format,
                &[
                    ("Event-Name", "BACKGROUND_JOB"),
                    ("Core-UUID", &core),
                    ("FreeSWITCH-Hostname", &shared.hostname),
                    ("Job-UUID", &job_uuid),
                    ("Job-Command", command),
                    ("Job-Command-Arg", arg),
                ],
                Some(&body),
            );
            if shared.job_event_first.load(Ordering::SeqCst) {
                let mut first = ev;
                first.extend(out);
                out = first;
            } else {
                out.extend(ev);
            }
        }
        return out;
    }
    reply("-ERR command not found")
}
