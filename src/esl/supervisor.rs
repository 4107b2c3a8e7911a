//! The node supervisor: keeps one authenticated, subscribed connection per FreeSWITCH node,
//! reconnects with backoff when one drops, and publishes each node's state for `/readyz` and
//! for callers choosing a node.
//!
//! Each node has its own task, so a dead or slow node never delays the others. Subscriptions are
//! made afresh on every connection (FreeSWITCH forgets them with the socket) and belong to that
//! connection only, so a reconnect loop cannot pile up duplicate handlers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::NodeEvent;
use super::backoff::Backoff;
use super::connection::{ConnectOptions, Connection, connect};
use super::error::EslError;
use super::event::EventFormat;
use super::failure_log::{FailureLog, FailureNote};
use super::handle::EslHandle;

/// The events callplane needs: the channel lifecycle of calls it originates, job results,
/// heartbeats (liveness and `FreeSWITCH-Hostname`), and registration and gateway changes.
/// Names are FreeSWITCH's (`EVENT_NAMES` in switch_event.c; subclasses from mod_sofia.h).
/// Subscribing to `ALL` instead would flood the socket with events nobody reads.
pub const SUBSCRIBED_EVENTS: &[&str] = &[
    "CHANNEL_CREATE",
    "CHANNEL_PROGRESS",
    "CHANNEL_PROGRESS_MEDIA",
    "CHANNEL_ANSWER",
    "CHANNEL_BRIDGE",
    "CHANNEL_HANGUP",
    "CHANNEL_HANGUP_COMPLETE",
    "BACKGROUND_JOB",
    "HEARTBEAT",
    "CUSTOM",
    "sofia::register",
    "sofia::unregister",
    "sofia::gateway_state",
];

/// Connection state of one node, as `/readyz` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    Connecting,
    Connected,
    AuthFailed,
    Down,
}

/// Snapshot of one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeStatus {
    /// `host:port` as configured.
    pub node: String,
    /// The switch's hostname (`api hostname` after connecting); kept while the node is down.
    pub hostname: Option<String>,
    pub state: NodeState,
    /// Why the node is not connected (or why the last connection ended).
    pub error: Option<String>,
}

/// Tuning for [`Supervisor::start_with`]; [`Default`] suits production.
#[derive(Debug, Clone)]
pub struct SupervisorOptions {
    pub event_format: EventFormat,
    pub events: Vec<String>,
    /// `filter <header> <value>` pairs applied on every connection, after subscribing.
    pub filters: Vec<(String, String)>,
    pub connect_timeout: Duration,
    /// Drop a connection silent for this long (3 missed 20 s heartbeats by default). Relies on
    /// `HEARTBEAT` being in `events`; set `None` when it is not.
    pub idle_timeout: Option<Duration>,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// A connection that lived this long resets the backoff; shorter ones keep escalating so a
    /// node that accepts and then drops us is not hammered.
    pub stable_after: Duration,
    /// Events buffered for the slowest subscriber before it starts losing the oldest ones.
    pub event_capacity: usize,
}

impl Default for SupervisorOptions {
    fn default() -> Self {
        Self {
            event_format: EventFormat::Plain,
            events: SUBSCRIBED_EVENTS.iter().map(|s| s.to_string()).collect(),
            filters: Vec::new(),
            connect_timeout: Duration::from_secs(5),
            idle_timeout: Some(Duration::from_secs(65)),
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            stable_after: Duration::from_secs(30),
            event_capacity: 16 * 1024,
        }
    }
}

/// Starts node tasks; see [`SupervisorHandle`] for what it offers.
pub struct Supervisor;

impl Supervisor {
    /// Connects to every node (`host:port`) with production defaults. The tasks stop when
    /// `shutdown` turns true (or its sender is dropped), after sending `exit` to each connected
    /// node. Must be called inside a tokio runtime.
    pub fn start(
        nodes: Vec<String>,
        password: String,
        shutdown: watch::Receiver<bool>,
    ) -> SupervisorHandle {
        Self::start_with(nodes, password, SupervisorOptions::default(), shutdown)
    }

    /// Like [`Supervisor::start`] with explicit options. Duplicate node names are connected once.
    /// Must be called inside a tokio runtime.
    pub fn start_with(
        mut nodes: Vec<String>,
        password: String,
        options: SupervisorOptions,
        shutdown: watch::Receiver<bool>,
    ) -> SupervisorHandle {
        let mut seen = std::collections::HashSet::new();
        nodes.retain(|n| seen.insert(n.clone()));
        let initial = nodes
            .iter()
            .map(|node| NodeStatus {
                node: node.clone(),
                hostname: None,
                state: NodeState::Connecting,
                error: None,
            })
            .collect();
        let (events, _) = broadcast::channel(options.event_capacity.max(1));
        let shared = Arc::new(Shared {
            statuses: watch::Sender::new(initial),
            handles: Mutex::new(HashMap::new()),
            events,
            tasks: Mutex::new(Vec::new()),
        });
        let password: Arc<str> = password.into();
        let options = Arc::new(options);
        let tasks = nodes
            .into_iter()
            .map(|node| {
                tokio::spawn(run_node(
                    node,
                    password.clone(),
                    options.clone(),
                    shared.clone(),
                    shutdown.clone(),
                ))
            })
            .collect();
        *lock(&shared.tasks) = tasks;
        SupervisorHandle { shared }
    }
}

struct Shared {
    statuses: watch::Sender<Vec<NodeStatus>>,
    handles: Mutex<HashMap<String, EslHandle>>,
    events: broadcast::Sender<NodeEvent>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// What the service holds: node states, handles to connected nodes, and the event stream.
#[derive(Clone)]
pub struct SupervisorHandle {
    shared: Arc<Shared>,
}

impl SupervisorHandle {
    /// Current state of every node, in configuration order.
    pub fn statuses(&self) -> Vec<NodeStatus> {
        self.shared.statuses.borrow().clone()
    }

    /// The same snapshot as a watch channel: `changed().await` wakes on every transition (e.g. to
    /// reconcile calls after a node comes back).
    pub fn watch_statuses(&self) -> watch::Receiver<Vec<NodeStatus>> {
        self.shared.statuses.subscribe()
    }

    /// Handle to `node` (`host:port` as configured) while it is connected.
    pub fn node(&self, node: &str) -> Option<EslHandle> {
        lock(&self.shared.handles)
            .get(node)
            .filter(|h| h.is_connected())
            .cloned()
    }

    /// Every connected node with its handle, sorted by node name.
    pub fn connected(&self) -> Vec<(String, EslHandle)> {
        let mut out: Vec<_> = lock(&self.shared.handles)
            .iter()
            .filter(|(_, h)| h.is_connected())
            .map(|(n, h)| (n.clone(), h.clone()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Events from every node, each tagged with the node it came from. A receiver more than
    /// `event_capacity` events behind gets `RecvError::Lagged(n)` and resumes at the oldest
    /// event still buffered: the reader itself never waits for a slow consumer.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.shared.events.subscribe()
    }

    /// Waits until every node task has finished (after shutdown was signalled).
    pub async fn stopped(&self) {
        let tasks = std::mem::take(&mut *lock(&self.shared.tasks));
        for task in tasks {
            let _ = task.await;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave the map half-updated; keep serving.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn set(&self, node: &str, state: NodeState, error: Option<String>, hostname: Option<String>) {
        self.statuses.send_modify(|all| {
            if let Some(s) = all.iter_mut().find(|s| s.node == node) {
                s.state = state;
                s.error = error;
                if hostname.is_some() {
                    s.hostname = hostname;
                }
            }
        });
    }
}

/// Resolves once shutdown is requested, or its sender is gone.
async fn shutdown_requested(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

async fn run_node(
    node: String,
    password: Arc<str>,
    options: Arc<SupervisorOptions>,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Backoff::new(options.backoff_initial, options.backoff_max);
    let mut last_error: Option<String> = None;
    let mut last_state = NodeState::Connecting;
    let mut failures = FailureLog::default();
    loop {
        // `auth_failed` stays visible while we retry: it needs an operator, and flickering to
        // `connecting` every backoff period would hide it from /readyz.
        if last_state != NodeState::AuthFailed {
            shared.set(&node, NodeState::Connecting, last_error.clone(), None);
        }
        let mut connect_options = ConnectOptions::new(node.as_str(), shared.events.clone());
        connect_options.connect_timeout = options.connect_timeout;
        connect_options.idle_timeout = options.idle_timeout;
        let attempt = tokio::select! {
            attempt = connect(&node, &password, connect_options) => attempt,
            () = shutdown_requested(&mut shutdown) => break,
        };
        let (state, error) = match attempt {
            Ok((handle, conn)) => {
                if failures.recovered() {
                    tracing::info!(esl.node = %node, "ESL node reachable again");
                }
                match serve_connection(&node, handle, conn, &options, &shared, &mut shutdown).await
                {
                    ConnectionEnd::Shutdown => return,
                    ConnectionEnd::Lost { reason, lived } => {
                        if lived >= options.stable_after {
                            backoff.reset();
                        }
                        (NodeState::Down, reason)
                    }
                }
            }
            Err(EslError::AuthFailed(text)) => (NodeState::AuthFailed, text),
            Err(e) => (NodeState::Down, e.to_string()),
        };
        log_failure(&node, &mut failures, state, &error);
        last_error = Some(error);
        last_state = state;
        shared.set(&node, state, last_error.clone(), None);
        if sleep_or_shutdown(&mut backoff, &mut shutdown).await {
            break;
        }
    }
    shared.set(&node, NodeState::Down, Some("shut down".into()), None);
}

/// Logs a failed attempt or a lost connection when [`FailureLog`] says it is news.
fn log_failure(node: &str, failures: &mut FailureLog, state: NodeState, reason: &str) {
    match failures.failed(state, reason, std::time::Instant::now()) {
        None => {}
        Some(FailureNote::Changed) if state == NodeState::AuthFailed => tracing::error!(
            esl.node = %node, esl.error = %reason,
            "ESL node refused the password; check the Event Socket password; retrying"
        ),
        Some(FailureNote::Changed) => tracing::warn!(
            esl.node = %node, esl.error = %reason, "ESL node unreachable; retrying"
        ),
        Some(FailureNote::StillFailing { attempts }) => tracing::warn!(
            esl.node = %node, esl.error = %reason, esl.attempts = attempts,
            "ESL node still not connected"
        ),
    }
}

enum ConnectionEnd {
    Shutdown,
    Lost { reason: String, lived: Duration },
}

/// Runs one live connection: subscribe, publish the handle, wait for the end.
async fn serve_connection(
    node: &str,
    handle: EslHandle,
    mut conn: Connection,
    options: &SupervisorOptions,
    shared: &Shared,
    shutdown: &mut watch::Receiver<bool>,
) -> ConnectionEnd {
    let started = Instant::now();
    let hostname =
        match tokio::time::timeout(options.connect_timeout, setup(&handle, options)).await {
            Ok(Ok(hostname)) => hostname,
            failed => {
                conn.abort();
                let reason = match failed {
                    Ok(Err(e)) => format!("event subscription failed: {e}"),
                    _ => "no reply to the event subscription".to_string(),
                };
                return ConnectionEnd::Lost {
                    reason,
                    lived: started.elapsed(),
                };
            }
        };
    lock(&shared.handles).insert(node.to_string(), handle.clone());
    shared.set(node, NodeState::Connected, None, hostname);
    tracing::info!(esl.node = %node, "ESL node connected and subscribed");
    let reason = tokio::select! {
        reason = conn.closed() => reason,
        () = shutdown_requested(shutdown) => {
            lock(&shared.handles).remove(node);
            // A polite `exit` lets FreeSWITCH drop the listener at once instead of noticing
            // the dead socket later.
            let _ = tokio::time::timeout(Duration::from_secs(2), handle.exit()).await;
            conn.abort();
            shared.set(node, NodeState::Down, Some("shut down".into()), None);
            return ConnectionEnd::Shutdown;
        }
    };
    lock(&shared.handles).remove(node);
    ConnectionEnd::Lost {
        reason: reason.to_string(),
        lived: started.elapsed(),
    }
}

/// Sleeps the next backoff delay; true if shutdown came first.
async fn sleep_or_shutdown(backoff: &mut Backoff, shutdown: &mut watch::Receiver<bool>) -> bool {
    let delay = backoff.next_delay();
    tokio::select! {
        () = tokio::time::sleep(delay) => false,
        () = shutdown_requested(shutdown) => true,
    }
}

/// Subscribes and filters, then asks the hostname. The hostname is informational, so its failure is not.
async fn setup(
    handle: &EslHandle,
    options: &SupervisorOptions,
) -> Result<Option<String>, EslError> {
    let names: Vec<&str> = options.events.iter().map(String::as_str).collect();
    handle.subscribe(options.event_format, &names).await?;
    for (header, value) in &options.filters {
        handle.filter(header, value).await?;
    }
    // mod_commands' `hostname` returns the same name FreeSWITCH stamps on events as
    // FreeSWITCH-Hostname.
    match handle.api("hostname").await {
        Ok(name) if !name.trim().is_empty() => Ok(Some(name.trim().to_string())),
        _ => Ok(None),
    }
}
