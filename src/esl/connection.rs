//! One ESL connection: the handshake (`auth/request` -> `auth` -> `+OK accepted`) and the task
//! that owns the socket afterwards. The task reads without pause, writes queued commands, hands
//! each reply to the command waiting for it, settles background jobs, and publishes events.
//!
//! Why the reader never waits for anyone: FreeSWITCH queues events per listener and, after 500
//! events it could not queue (`MAX_MISSED` in mod_event_socket), kills the listener. So events go
//! into a `tokio::sync::broadcast` channel, whose `send` never blocks: a receiver that falls more
//! than its capacity behind loses the oldest events and is told how many (`RecvError::Lagged`).
//! Dropping in our memory is recoverable (CDRs and reconcile fill the gap); being disconnected by
//! FreeSWITCH loses the same events and every in-flight job with them.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::NodeEvent;
use super::command::Command;
use super::error::EslError;
use super::event::Event;
use super::frame::{Frame, FrameDecoder};
use super::handle::{EslHandle, JobResult, Request};

/// How many commands may be queued for the socket before callers wait.
const REQUEST_QUEUE: usize = 1024;

/// Background jobs whose waiter went away are swept once this many are registered.
const JOB_SWEEP_AT: usize = 1024;

/// Settings for [`connect`].
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Name stamped on every event and used in logs; normally the `host:port` dialled.
    pub node: Arc<str>,
    /// Limit for TCP connect plus the auth exchange.
    pub connect_timeout: Duration,
    /// Drop the connection when nothing at all arrives for this long. With `HEARTBEAT`
    /// subscribed FreeSWITCH sends one every 20 s by default, so a quiet socket means a
    /// half-open TCP connection or a hung node.
    pub idle_timeout: Option<Duration>,
    /// Where events go; shared by every node of a supervisor.
    pub events: broadcast::Sender<NodeEvent>,
}

impl ConnectOptions {
    pub fn new(node: impl Into<Arc<str>>, events: broadcast::Sender<NodeEvent>) -> Self {
        Self {
            node: node.into(),
            connect_timeout: Duration::from_secs(5),
            idle_timeout: None,
            events,
        }
    }
}

/// The running connection task. Await [`Connection::closed`] to learn when and why it ended.
#[derive(Debug)]
pub struct Connection {
    task: JoinHandle<EslError>,
}

impl Connection {
    /// Resolves when the connection ends, with the reason ([`EslError::Closed`] after `exit`).
    /// Await it at most once to completion.
    pub async fn closed(&mut self) -> EslError {
        (&mut self.task)
            .await
            .unwrap_or_else(|e| EslError::ConnectionLost(format!("connection task failed: {e}")))
    }

    /// Stops the task at once; waiting commands fail with [`EslError::ConnectionLost`].
    pub fn abort(&self) {
        self.task.abort();
    }
}

/// Connects to `addr`, authenticates with `password`, and starts the connection task.
pub async fn connect(
    addr: &str,
    password: &str,
    options: ConnectOptions,
) -> Result<(EslHandle, Connection), EslError> {
    let auth = Command::Auth {
        password: password.to_string(),
    }
    .encode()?;
    let node = options.node.clone();
    let (stream, buf, decoder) =
        tokio::time::timeout(options.connect_timeout, handshake(addr, &node, &auth))
            .await
            .map_err(|_| EslError::Connect {
                node: node.to_string(),
                reason: format!("no ESL handshake within {:?}", options.connect_timeout),
            })??;

    let (tx, rx) = mpsc::channel(REQUEST_QUEUE);
    let (reader, writer) = stream.into_split();
    let conn = ConnTask {
        node: node.clone(),
        reader,
        writer,
        rbuf: buf,
        out: BytesMut::new(),
        decoder,
        pending: VecDeque::new(),
        jobs: HashMap::new(),
        rx,
        events: options.events,
        idle_timeout: options.idle_timeout,
        exit_requested: false,
    };
    let task = tokio::spawn(conn.run());
    Ok((EslHandle::new(node, tx), Connection { task }))
}

async fn handshake(
    addr: &str,
    node: &str,
    auth: &[u8],
) -> Result<(TcpStream, BytesMut, FrameDecoder), EslError> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| EslError::Connect {
            node: node.to_string(),
            reason: e.to_string(),
        })?;
    // Commands are small and latency-bound; do not let Nagle hold them back.
    let _ = stream.set_nodelay(true);
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut decoder = FrameDecoder::new();

    // mod_event_socket checks the ACL before anything else and answers a refused address with
    // text/rude-rejection instead of auth/request.
    let first = read_frame(&mut stream, &mut buf, &mut decoder).await?;
    match first.content_type() {
        Some("auth/request") => {}
        Some("text/rude-rejection") => {
            return Err(EslError::Rejected(first.body_text().trim().to_string()));
        }
        Some("text/disconnect-notice") => {
            return Err(EslError::ConnectionLost(
                first.body_text().trim().to_string(),
            ));
        }
        other => {
            return Err(EslError::Protocol(format!(
                "expected auth/request, got {other:?}"
            )));
        }
    }
    stream
        .write_all(auth)
        .await
        .map_err(|e| EslError::ConnectionLost(format!("cannot send auth: {e}")))?;
    let reply = read_frame(&mut stream, &mut buf, &mut decoder).await?;
    match (reply.content_type(), reply.headers.get("Reply-Text")) {
        (Some("command/reply"), Some(text)) if text.starts_with("+OK") => {
            Ok((stream, buf, decoder))
        }
        // A wrong password gets `-ERR invalid`, then a disconnect notice and a closed socket.
        (Some("command/reply"), Some(text)) => Err(EslError::AuthFailed(text.trim().to_string())),
        (Some("text/rude-rejection"), _) => {
            Err(EslError::Rejected(reply.body_text().trim().to_string()))
        }
        (Some("text/disconnect-notice"), _) => Err(EslError::ConnectionLost(
            reply.body_text().trim().to_string(),
        )),
        (other, _) => Err(EslError::Protocol(format!(
            "expected the auth reply, got {other:?}"
        ))),
    }
}

async fn read_frame(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    decoder: &mut FrameDecoder,
) -> Result<Frame, EslError> {
    loop {
        if let Some(frame) = decoder.decode(buf)? {
            return Ok(frame);
        }
        buf.reserve(4096);
        match stream.read_buf(buf).await {
            Ok(0) => {
                return Err(EslError::ConnectionLost(
                    "closed by FreeSWITCH during the handshake".into(),
                ));
            }
            Ok(_) => {}
            Err(e) => return Err(EslError::ConnectionLost(format!("read failed: {e}"))),
        }
    }
}

struct Pending {
    reply: oneshot::Sender<Result<Frame, EslError>>,
}

struct ConnTask {
    node: Arc<str>,
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
    rbuf: BytesMut,
    out: BytesMut,
    decoder: FrameDecoder,
    /// Commands written (or queued for writing) and not answered yet, oldest first.
    pending: VecDeque<Pending>,
    /// Background jobs by lower-case Job-UUID.
    jobs: HashMap<String, oneshot::Sender<Result<JobResult, EslError>>>,
    rx: mpsc::Receiver<Request>,
    events: broadcast::Sender<NodeEvent>,
    idle_timeout: Option<Duration>,
    exit_requested: bool,
}

impl ConnTask {
    async fn run(mut self) -> EslError {
        let reason = self.serve().await;
        match &reason {
            EslError::Closed => tracing::info!(esl.node = %self.node, "ESL connection closed"),
            other => tracing::warn!(esl.node = %self.node, error = %other, "ESL connection ended"),
        }
        self.fail_waiters(&reason);
        reason
    }

    async fn serve(&mut self) -> EslError {
        // Frames that arrived together with the auth reply.
        if let Some(end) = self.drain_frames() {
            return end;
        }
        let mut deadline = self.idle_timeout.map(|d| Instant::now() + d);
        loop {
            self.rbuf.reserve(64 * 1024);
            let idle = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            // No `biased;`: under an event flood the read branch is always ready, and a fixed
            // order would starve command writes; tokio's random order gives each branch turns.
            tokio::select! {
                read = self.reader.read_buf(&mut self.rbuf) => match read {
                    Ok(0) if self.exit_requested => return EslError::Closed,
                    Ok(0) => return EslError::ConnectionLost("closed by FreeSWITCH".into()),
                    Ok(_) => {
                        deadline = self.idle_timeout.map(|d| Instant::now() + d);
                        if let Some(end) = self.drain_frames() {
                            return end;
                        }
                    }
                    Err(e) => return EslError::ConnectionLost(format!("read failed: {e}")),
                },
                written = self.writer.write(&self.out), if !self.out.is_empty() => match written {
                    Ok(n) => self.out.advance(n),
                    Err(e) => return EslError::ConnectionLost(format!("write failed: {e}")),
                },
                request = self.rx.recv(), if !self.exit_requested => match request {
                    Some(request) => self.enqueue(request),
                    // Every handle is gone: nobody can use this connection any more.
                    None => return EslError::Closed,
                },
                () = idle => {
                    return EslError::Idle(self.idle_timeout.unwrap_or_default());
                }
            }
        }
    }

    fn enqueue(&mut self, request: Request) {
        self.out.extend_from_slice(&request.bytes);
        if let Some((job_uuid, waiter)) = request.job {
            if self.jobs.len() >= JOB_SWEEP_AT {
                self.jobs.retain(|_, w| !w.is_closed());
            }
            self.jobs.insert(job_uuid.to_string(), waiter);
        }
        self.exit_requested |= request.is_exit;
        self.pending.push_back(Pending {
            reply: request.reply,
        });
    }

    /// Handles every complete frame in the buffer; returns why the connection must end, if so.
    fn drain_frames(&mut self) -> Option<EslError> {
        loop {
            match self.decoder.decode(&mut self.rbuf) {
                Ok(Some(frame)) => {
                    if let Some(end) = self.on_frame(frame) {
                        return Some(end);
                    }
                }
                Ok(None) => return None,
                Err(e) => return Some(e),
            }
        }
    }

    fn on_frame(&mut self, frame: Frame) -> Option<EslError> {
        match frame.content_type().unwrap_or_default() {
            "command/reply" | "api/response" => match self.pending.pop_front() {
                Some(waiter) => {
                    // The caller may have given up waiting; the reply is still consumed so the
                    // next one goes to the next command.
                    let _ = waiter.reply.send(Ok(frame));
                }
                None => tracing::warn!(esl.node = %self.node, "ESL reply with no command waiting"),
            },
            "text/event-plain" => self.on_event(Event::parse_plain(frame.body.as_deref()?)),
            "text/event-json" => self.on_event(Event::parse_json(frame.body.as_deref()?)),
            "text/disconnect-notice" => {
                // With `linger`, FreeSWITCH announces the hangup but keeps the socket open to
                // flush the remaining events; only a plain notice means the socket is closing.
                if frame.headers.get("Content-Disposition") == Some("linger") {
                    return None;
                }
                if self.exit_requested {
                    return Some(EslError::Closed);
                }
                return Some(EslError::ConnectionLost(format!(
                    "FreeSWITCH sent a disconnect notice: {}",
                    frame.body_text().trim()
                )));
            }
            "text/rude-rejection" => {
                return Some(EslError::Rejected(frame.body_text().trim().to_string()));
            }
            other => {
                tracing::debug!(esl.node = %self.node, content_type = other, "ESL frame ignored");
            }
        }
        None
    }

    fn on_event(&mut self, parsed: Result<Event, EslError>) {
        let event = match parsed {
            Ok(event) => Arc::new(event),
            Err(e) => {
                tracing::warn!(esl.node = %self.node, error = %e, "unparsable ESL event dropped");
                return;
            }
        };
        if event.name() == "BACKGROUND_JOB"
            && let Some(job_uuid) = event.job_uuid()
            && let Some(waiter) = self.jobs.remove(&job_uuid.to_ascii_lowercase())
        {
            let result = JobResult {
                body: event.body().unwrap_or_default().to_string(),
                event: event.clone(),
            };
            let _ = waiter.send(Ok(result));
        }
        // Err only means nobody is subscribed right now; the event is not needed then.
        let _ = self.events.send((self.node.clone(), event));
    }

    /// Everything still waiting learns at once that the connection is gone.
    fn fail_waiters(&mut self, reason: &EslError) {
        let lost = match reason {
            EslError::ConnectionLost(_) => reason.clone(),
            other => EslError::ConnectionLost(other.to_string()),
        };
        for waiter in self.pending.drain(..) {
            let _ = waiter.reply.send(Err(lost.clone()));
        }
        for (_, waiter) in self.jobs.drain() {
            let _ = waiter.send(Err(lost.clone()));
        }
        self.rx.close();
        while let Ok(request) = self.rx.try_recv() {
            let _ = request.reply.send(Err(lost.clone()));
            if let Some((_, waiter)) = request.job {
                let _ = waiter.send(Err(lost.clone()));
            }
        }
    }
}
