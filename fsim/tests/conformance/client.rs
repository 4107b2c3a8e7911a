//! A raw ESL client for the tests: frames are read byte by byte off a TcpStream so the tests
//! see exactly what the simulator writes. Also a one-shot HTTP server that records posts.

use fsim::{Event, Sim, SimConfig};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Reads a fixture from the repository's tests/fixtures directory.
#[macro_export]
macro_rules! fixture {
    ($path:literal) => {
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/",
            $path
        ))
        .expect(concat!("fixture ", $path))
    };
}

/// One frame as received: header block and body.
#[derive(Debug, Clone)]
pub struct Frame {
    pub head: String,
    pub body: String,
}

impl Frame {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(": ")?;
            k.eq_ignore_ascii_case(name).then_some(v)
        })
    }

    /// The whole frame as bytes on the wire.
    pub fn raw(&self) -> String {
        format!("{}\n{}", self.head, self.body)
    }

    /// The body parsed as a plain event.
    pub fn event(&self) -> Event {
        Event::parse_plain(&self.body)
    }
}

pub struct Client {
    rd: BufReader<OwnedReadHalf>,
    wr: OwnedWriteHalf,
}

pub async fn start_sim(cfg: SimConfig) -> Sim {
    Sim::start(cfg, "127.0.0.1:0").await.expect("sim starts")
}

impl Client {
    /// Connects and consumes the auth/request frame.
    pub async fn connect(sim: &Sim) -> (Client, Frame) {
        let s = TcpStream::connect(sim.addr()).await.expect("connect");
        let (rd, wr) = s.into_split();
        let mut c = Client {
            rd: BufReader::new(rd),
            wr,
        };
        let f = c.frame().await;
        (c, f)
    }

    /// Connects and authenticates with ClueCon.
    pub async fn authed(sim: &Sim) -> Client {
        let (mut c, _) = Client::connect(sim).await;
        let f = c.cmd("auth ClueCon").await;
        assert_eq!(f.header("Reply-Text"), Some("+OK accepted"));
        c
    }

    pub async fn send(&mut self, text: &str) {
        self.wr
            .write_all(format!("{text}\n\n").as_bytes())
            .await
            .expect("write");
    }

    /// Sends a command and returns the next frame (its reply).
    pub async fn cmd(&mut self, text: &str) -> Frame {
        self.send(text).await;
        self.frame().await
    }

    /// `api` and its body.
    pub async fn api(&mut self, text: &str) -> String {
        let f = self.cmd(&format!("api {text}")).await;
        assert_eq!(f.header("Content-Type"), Some("api/response"), "{f:?}");
        f.body
    }

    pub async fn frame(&mut self) -> Frame {
        tokio::time::timeout(Duration::from_secs(10), self.read_frame())
            .await
            .expect("frame within 10s")
            .expect("frame before EOF")
    }

    /// None on EOF.
    pub async fn read_frame(&mut self) -> Option<Frame> {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if self.rd.read_line(&mut line).await.ok()? == 0 {
                return None;
            }
            if line == "\n" && !head.is_empty() {
                break;
            }
            head.push_str(&line);
        }
        let len = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        self.rd.read_exact(&mut body).await.ok()?;
        Some(Frame {
            head,
            body: String::from_utf8(body).expect("utf8 body"),
        })
    }

    /// Waits for EOF (the server closed the socket).
    pub async fn expect_eof(&mut self) {
        let r = tokio::time::timeout(Duration::from_secs(5), self.read_frame())
            .await
            .expect("closed within 5s");
        assert!(r.is_none(), "expected EOF, got {r:?}");
    }

    /// Next event whose Event-Name is `name`, skipping others.
    pub async fn event_named(&mut self, name: &str) -> Event {
        loop {
            let f = self.frame().await;
            if f.header("Content-Type") == Some("text/event-plain") {
                let ev = f.event();
                if ev.name() == name {
                    return ev;
                }
            }
        }
    }

    /// Collects channel events until `n` CHANNEL_HANGUP_COMPLETE events were seen.
    pub async fn events_until_complete(&mut self, n: usize) -> Vec<Event> {
        let mut out = Vec::new();
        let mut done = 0;
        while done < n {
            let f = self.frame().await;
            if f.header("Content-Type") != Some("text/event-plain") {
                continue;
            }
            let ev = f.event();
            if ev.name() == "CHANNEL_HANGUP_COMPLETE" {
                done += 1;
            }
            out.push(ev);
        }
        out
    }
}

/// A received HTTP request.
#[derive(Debug)]
pub struct Request {
    pub line: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP server answering each request with the next status in `statuses` (then 200).
pub async fn http_server(statuses: Vec<u16>) -> (String, mpsc::UnboundedReceiver<Request>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut statuses = statuses.into_iter();
        loop {
            let Ok((s, _)) = l.accept().await else { return };
            let status = statuses.next().unwrap_or(200);
            let mut rd = BufReader::new(s);
            let mut line = String::new();
            rd.read_line(&mut line).await.unwrap();
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                rd.read_line(&mut h).await.unwrap();
                let h = h.trim_end().to_string();
                if h.is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(": ") {
                    headers.push((k.to_string(), v.to_string()));
                }
            }
            let len = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.parse().unwrap())
                .unwrap_or(0);
            let mut body = vec![0; len];
            rd.read_exact(&mut body).await.unwrap();
            let mut s = rd.into_inner();
            let _ = s
                .write_all(
                    format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                    .as_bytes(),
                )
                .await;
            let _ = tx.send(Request {
                line: line.trim_end().to_string(),
                headers,
                body,
            });
        }
    });
    (url, rx)
}

/// Next request within 10 s.
pub async fn next_request(rx: &mut mpsc::UnboundedReceiver<Request>) -> Request {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("request within 10s")
        .expect("server alive")
}
