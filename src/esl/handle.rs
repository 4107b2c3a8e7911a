//! The cloneable handle the rest of callplane uses to send commands over one ESL connection, and
//! the answers it gets back: [`Reply`], [`BgJob`], [`JobResult`].
//!
//! A handle only queues requests; the connection task owns the socket, writes them in order and
//! matches the answers (FreeSWITCH answers `api` and plain commands strictly in the order they
//! were sent, one `command/reply` or `api/response` each).

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::command::Command;
use super::error::EslError;
use super::event::{Event, EventFormat};
use super::frame::Frame;
use super::headers::Headers;

/// What the connection task needs for one command.
pub(crate) struct Request {
    pub bytes: Vec<u8>,
    pub is_exit: bool,
    pub reply: oneshot::Sender<Result<Frame, EslError>>,
    pub job: Option<(Uuid, oneshot::Sender<Result<JobResult, EslError>>)>,
}

/// Sends commands to one FreeSWITCH node. Cheap to clone; every clone talks to the same
/// connection. Once that connection is gone every call fails with
/// [`EslError::ConnectionLost`]; get a fresh handle from the supervisor.
#[derive(Clone, Debug)]
pub struct EslHandle {
    node: Arc<str>,
    tx: mpsc::Sender<Request>,
}

/// A `command/reply` or `api/response` frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub headers: Headers,
    pub body: Option<String>,
}

impl Reply {
    /// `Reply-Text` of a `command/reply`, e.g. `+OK accepted`.
    pub fn text(&self) -> Option<&str> {
        self.headers.get("Reply-Text")
    }
}

/// A background job FreeSWITCH accepted. Its result arrives later as a `BACKGROUND_JOB` event.
#[derive(Debug)]
pub struct BgJob {
    /// The id we chose and FreeSWITCH echoed; also the `Job-UUID` of the result event.
    pub job_uuid: Uuid,
    result: oneshot::Receiver<Result<JobResult, EslError>>,
}

impl BgJob {
    /// Waits for the `BACKGROUND_JOB` event. Fails with [`EslError::ConnectionLost`] if the
    /// connection drops first: FreeSWITCH delivers the result only on the connection that
    /// started the job, so after a reconnect it must be reconciled another way (e.g. by the
    /// `origination_uuid`). There is no built-in deadline; wrap it in `tokio::time::timeout`.
    pub async fn result(self) -> Result<JobResult, EslError> {
        self.result.await.unwrap_or_else(|_| {
            Err(EslError::ConnectionLost(
                "connection closed before the background job finished".into(),
            ))
        })
    }
}

/// The outcome of a background job: the event body, e.g. `+OK <uuid>` or
/// `-ERR NORMAL_TEMPORARY_FAILURE`, and the whole event.
#[derive(Debug, Clone)]
pub struct JobResult {
    pub body: String,
    pub event: Arc<Event>,
}

impl JobResult {
    /// True when the body starts with `+OK`, FreeSWITCH's convention for success.
    pub fn is_ok(&self) -> bool {
        self.body.starts_with("+OK")
    }
}

impl EslHandle {
    pub(crate) fn new(node: Arc<str>, tx: mpsc::Sender<Request>) -> Self {
        Self { node, tx }
    }

    /// The node this handle talks to, as configured (`host:port`).
    pub fn node(&self) -> &str {
        &self.node
    }

    /// False once the connection task has ended.
    pub fn is_connected(&self) -> bool {
        !self.tx.is_closed()
    }

    /// Runs a blocking API command (`api <command>`) and returns the `api/response` body.
    /// A body starting with `-ERR` or `-USAGE` becomes [`EslError::CommandFailed`].
    /// `originate` is refused with [`EslError::InvalidArgument`]: FreeSWITCH answers `api` in
    /// order, so one `api originate` would hold every other reply on the connection for the
    /// whole call setup (up to the originate timeout); use [`EslHandle::bgapi`].
    pub async fn api(&self, command: &str) -> Result<String, EslError> {
        let verb = command.split_whitespace().next().unwrap_or_default();
        if verb.eq_ignore_ascii_case("originate") {
            return Err(EslError::InvalidArgument(
                "originate must go through bgapi: api blocks every reply on this connection \
                 until the call is answered or times out"
                    .into(),
            ));
        }
        let reply = self
            .send(Command::Api {
                command: command.to_string(),
            })
            .await?;
        let body = reply.body.unwrap_or_default();
        if body.starts_with("-ERR") || body.starts_with("-USAGE") {
            return Err(EslError::CommandFailed(body.trim_end().to_string()));
        }
        Ok(body)
    }

    /// Starts a background job under a fresh Job-UUID. See [`EslHandle::bgapi_with_job_uuid`].
    pub async fn bgapi(&self, command: &str) -> Result<BgJob, EslError> {
        self.bgapi_with_job_uuid(command, Uuid::new_v4()).await
    }

    /// Starts a background job under a Job-UUID the caller chose (and may have stored before
    /// calling). The connection task registers the job before writing the command, so the
    /// `BACKGROUND_JOB` event can never arrive unclaimed. Returns once FreeSWITCH has replied
    /// `+OK Job-UUID: ...`; await [`BgJob::result`] for the outcome.
    pub async fn bgapi_with_job_uuid(
        &self,
        command: &str,
        job_uuid: Uuid,
    ) -> Result<BgJob, EslError> {
        let bytes = Command::BgApi {
            command: command.to_string(),
            job_uuid,
        }
        .encode()?;
        let (job_tx, job_rx) = oneshot::channel();
        let reply = self.request(bytes, false, Some((job_uuid, job_tx))).await?;
        let reply = ok_reply(reply)?;
        let echoed = reply.headers.get("Job-UUID").unwrap_or_default();
        if !echoed.eq_ignore_ascii_case(&job_uuid.to_string()) {
            return Err(EslError::Protocol(format!(
                "bgapi reply carries Job-UUID {echoed:?}, we sent {job_uuid}"
            )));
        }
        Ok(BgJob {
            job_uuid,
            result: job_rx,
        })
    }

    /// Subscribes to events (`event plain|json NAME ... [CUSTOM subclass ...]`). Subscriptions
    /// add up on the FreeSWITCH side for the life of the connection.
    pub async fn subscribe(&self, format: EventFormat, names: &[&str]) -> Result<(), EslError> {
        let names = names.iter().map(|n| n.to_string()).collect();
        self.send(Command::Events { format, names }).await.map(drop)
    }

    /// Adds an event filter (`filter <header> <value>`): once any filter exists FreeSWITCH only
    /// sends events matching one of them.
    pub async fn filter(&self, header: &str, value: &str) -> Result<(), EslError> {
        self.send(Command::Filter {
            header: header.to_string(),
            value: value.to_string(),
        })
        .await
        .map(drop)
    }

    /// Asks FreeSWITCH to close the connection (`exit`); the connection task then ends with
    /// [`EslError::Closed`].
    pub async fn exit(&self) -> Result<(), EslError> {
        let bytes = Command::Exit.encode()?;
        let reply = self.request(bytes, true, None).await?;
        ok_reply(reply).map(drop)
    }

    /// Sends a command and checks its `command/reply` (`-ERR ...` becomes
    /// [`EslError::CommandFailed`]); for `api` the reply has a body instead of `Reply-Text`.
    async fn send(&self, command: Command) -> Result<Reply, EslError> {
        let is_api = matches!(command, Command::Api { .. });
        let reply = self.request(command.encode()?, false, None).await?;
        if is_api { Ok(reply) } else { ok_reply(reply) }
    }

    async fn request(
        &self,
        bytes: Vec<u8>,
        is_exit: bool,
        job: Option<(Uuid, oneshot::Sender<Result<JobResult, EslError>>)>,
    ) -> Result<Reply, EslError> {
        let (reply_tx, reply_rx) = oneshot::channel();
        let request = Request {
            bytes,
            is_exit,
            reply: reply_tx,
            job,
        };
        self.tx.send(request).await.map_err(|_| {
            EslError::ConnectionLost("the connection to this node has ended".into())
        })?;
        let frame = reply_rx.await.unwrap_or_else(|_| {
            Err(EslError::ConnectionLost(
                "connection closed before the reply arrived".into(),
            ))
        })?;
        let body = frame.body.as_ref().map(|_| frame.body_text());
        Ok(Reply {
            headers: frame.headers,
            body,
        })
    }
}

fn ok_reply(reply: Reply) -> Result<Reply, EslError> {
    match reply.text() {
        Some(text) if text.starts_with("+OK") => Ok(reply),
        Some(text) => Err(EslError::CommandFailed(text.trim_end().to_string())),
        None => Err(EslError::Protocol(
            "command/reply without Reply-Text".into(),
        )),
    }
}
