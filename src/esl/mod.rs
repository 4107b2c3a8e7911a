//! The FreeSWITCH Event Socket client (inbound mode): wire format, one task per connection with a
//! cloneable handle, and the node supervisor. Knows nothing of callplane's tables or calls.
//!
//! Layout, bottom up:
//! * [`headers`]: case-insensitive header lists and FreeSWITCH's URL decoding;
//! * [`frame`]: cuts the byte stream into frames (headers + `Content-Length` body);
//! * [`event`]: `text/event-plain` and `text/event-json` bodies into [`Event`];
//! * [`command`]: the writer, which refuses CR/LF in arguments;
//! * [`connection`]: handshake and the task that owns the socket;
//! * [`handle`]: [`EslHandle`] (`api`, `bgapi`, `subscribe`, `filter`, `exit`) and its answers;
//! * [`supervisor`]: one connection per node, reconnect with backoff, [`NodeStatus`] snapshots
//!   and the event stream.
//!
//! Typical use: `Supervisor::start(nodes, password, shutdown)`, then
//! `supervisor.node("10.0.0.5:8021")?.bgapi(...)` and `supervisor.subscribe()` for events.

mod backoff;
pub mod command;
pub mod connection;
pub mod error;
pub mod event;
mod failure_log;
pub mod frame;
pub mod handle;
pub mod headers;
pub mod supervisor;

use std::sync::Arc;

pub use command::Command;
pub use connection::{ConnectOptions, Connection, connect};
pub use error::EslError;
pub use event::{Event, EventFormat};
pub use frame::{Frame, FrameDecoder};
pub use handle::{BgJob, EslHandle, JobResult, Reply};
pub use headers::Headers;
pub use supervisor::{
    NodeState, NodeStatus, SUBSCRIBED_EVENTS, Supervisor, SupervisorHandle, SupervisorOptions,
};

/// An event and the node (`host:port` as configured) it came from.
pub type NodeEvent = (Arc<str>, Arc<Event>);
