//! Live state read from every FreeSWITCH node: registered extensions and gateway states,
//! merged across nodes with the node named on every row. A node that is down, or that does not
//! answer in time, is reported next to the rows, never silently skipped.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;
use utoipa::ToSchema;

use crate::esl::{EslHandle, NodeState, SupervisorHandle};
use crate::fsstatus::{self, SofiaKind};

/// How long one node may take to answer a status command.
const NODE_TIMEOUT: Duration = Duration::from_secs(3);

/// One node's part in a merged answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NodeReport {
    pub node: String,
    pub hostname: Option<String>,
    /// `connected`, `connecting`, `auth_failed` or `down`.
    #[schema(value_type = String)]
    pub state: NodeState,
    /// Why this node contributed no rows, if it did not.
    pub error: Option<String>,
}

/// Rows from every node that answered, and a report for every node.
#[derive(Debug, Clone)]
pub struct Merged<T> {
    pub rows: Vec<T>,
    pub nodes: Vec<NodeReport>,
}

/// No configured node answered; the reports say why for each.
#[derive(Debug, thiserror::Error)]
#[error("no FreeSWITCH node is reachable ({})", describe(.0))]
pub struct NoNodeReachable(pub Vec<NodeReport>);

fn describe(nodes: &[NodeReport]) -> String {
    nodes
        .iter()
        .map(|n| {
            format!(
                "{}: {}",
                n.node,
                n.error.as_deref().unwrap_or("not connected")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A registered extension as one node sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OnlineExtension {
    pub node: String,
    pub extension: String,
    pub realm: String,
    /// The sofia profile the registration arrived on.
    pub profile: String,
    /// The contact URI FreeSWITCH reaches the phone at.
    pub contact: String,
    /// The phone's User-Agent, when the profile reports it.
    pub agent: Option<String>,
    /// Registration expiry, Unix seconds.
    pub expires: Option<i64>,
    pub network_ip: String,
    pub network_port: String,
    pub network_proto: String,
}

/// A gateway as one node's `sofia status` reports it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OnlineGateway {
    pub node: String,
    pub name: String,
    pub profile: Option<String>,
    /// The gateway's SIP URI (`sip:user@host`).
    pub data: String,
    /// sofia's registration state: `REGED`, `NOREG`, `UNREGED`, `TRYING`, `FAILED`, `FAIL_WAIT`, ...
    pub state: String,
    /// True when the gateway is registered (`REGED`).
    pub registered: bool,
    /// `UP` or `DOWN`: whether sofia considers the gateway reachable (OPTIONS ping).
    pub status: Option<String>,
    /// Last OPTIONS ping round trip, milliseconds.
    pub ping_ms: Option<f64>,
    /// Calls through this gateway since the profile started, as sofia counts them.
    pub calls_out: Option<u64>,
}

/// Runs `gather` on every connected node at once, each bounded by [`NODE_TIMEOUT`].
async fn on_every_node<T, F, Fut>(
    esl: &SupervisorHandle,
    gather: F,
) -> Result<Merged<T>, NoNodeReachable>
where
    T: Send + 'static,
    F: Fn(String, EslHandle) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>, String>> + Send + 'static,
{
    let statuses = esl.statuses();
    let mut jobs = tokio::task::JoinSet::new();
    for s in &statuses {
        if s.state == NodeState::Connected
            && let Some(handle) = esl.node(&s.node)
        {
            let (node, job) = (
                s.node.clone(),
                tokio::time::timeout(NODE_TIMEOUT, gather(s.node.clone(), handle)),
            );
            jobs.spawn(async move {
                let res = job.await.unwrap_or_else(|_| {
                    Err(format!("no answer within {} s", NODE_TIMEOUT.as_secs()))
                });
                (node, res)
            });
        }
    }
    let mut answers: HashMap<String, Result<Vec<T>, String>> = HashMap::new();
    while let Some(joined) = jobs.join_next().await {
        if let Ok((node, res)) = joined {
            answers.insert(node, res);
        }
    }
    let mut merged = Merged {
        rows: Vec::new(),
        nodes: Vec::new(),
    };
    let mut any_answered = false;
    for s in statuses {
        let error = match answers.remove(&s.node) {
            Some(Ok(rows)) => {
                any_answered = true;
                merged.rows.extend(rows);
                None
            }
            Some(Err(e)) => Some(e),
            None => Some(
                s.error
                    .clone()
                    .unwrap_or_else(|| format!("not connected ({})", state_word(s.state))),
            ),
        };
        merged.nodes.push(NodeReport {
            node: s.node,
            hostname: s.hostname,
            state: s.state,
            error,
        });
    }
    if any_answered {
        Ok(merged)
    } else {
        Err(NoNodeReachable(merged.nodes))
    }
}

fn state_word(s: NodeState) -> &'static str {
    match s {
        NodeState::Connecting => "connecting",
        NodeState::Connected => "connected",
        NodeState::AuthFailed => "auth_failed",
        NodeState::Down => "down",
    }
}

/// Registered extensions on every node: `show registrations`, with the User-Agent joined in
/// from each profile's registration list (matched on the Call-ID, which `show registrations`
/// prints as `token`).
pub async fn extensions(
    esl: &SupervisorHandle,
) -> Result<Merged<OnlineExtension>, NoNodeReachable> {
    on_every_node(esl, |node, handle| async move {
        let body = handle
            .api("show registrations")
            .await
            .map_err(|e| e.to_string())?;
        let (rows, _) = fsstatus::parse_show_csv(&body);
        let agents = agents_by_call_id(&handle).await;
        Ok(rows
            .into_iter()
            .map(|r| {
                let url = r.get("url").cloned().unwrap_or_default();
                // url is "sofia/<profile>/<contact>".
                let mut parts = url.splitn(3, '/');
                let (_, profile, contact) = (
                    parts.next(),
                    parts.next().unwrap_or(""),
                    parts.next().unwrap_or(""),
                );
                let token = r.get("token").cloned().unwrap_or_default();
                OnlineExtension {
                    node: node.clone(),
                    extension: r.get("reg_user").cloned().unwrap_or_default(),
                    realm: r.get("realm").cloned().unwrap_or_default(),
                    profile: profile.to_string(),
                    contact: contact.to_string(),
                    agent: agents.get(&token).cloned(),
                    expires: r.get("expires").and_then(|e| e.parse().ok()),
                    network_ip: r.get("network_ip").cloned().unwrap_or_default(),
                    network_port: r.get("network_port").cloned().unwrap_or_default(),
                    network_proto: r.get("network_proto").cloned().unwrap_or_default(),
                }
            })
            .collect())
    })
    .await
}

/// Call-ID -> User-Agent from `sofia status profile P reg` for every running profile. Best
/// effort: a profile that fails to answer only loses its agents.
async fn agents_by_call_id(handle: &EslHandle) -> HashMap<String, String> {
    let mut agents = HashMap::new();
    let Ok(status) = handle.api("sofia status").await else {
        return agents;
    };
    for entry in fsstatus::parse_sofia_status(&status) {
        if entry.kind != SofiaKind::Profile || !safe_name(&entry.name) {
            continue;
        }
        if let Ok(body) = handle
            .api(&format!("sofia status profile {} reg", entry.name))
            .await
        {
            for reg in fsstatus::parse_profile_registrations(&body) {
                if !reg.agent.is_empty() {
                    agents.insert(reg.call_id, reg.agent);
                }
            }
        }
    }
    agents
}

/// Profile names come from the switch; only plain names are put back into a command.
fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Gateways on every node, from `sofia status`.
pub async fn gateways(esl: &SupervisorHandle) -> Result<Merged<OnlineGateway>, NoNodeReachable> {
    on_every_node(esl, |node, handle| async move {
        let body = handle
            .api("sofia status")
            .await
            .map_err(|e| e.to_string())?;
        // Reachability and ping come from the XML form; older switches without it still list
        // the gateways with their registration state.
        let details: HashMap<String, std::collections::BTreeMap<String, String>> =
            match handle.api("sofia xmlstatus gateway").await {
                Ok(xml) => fsstatus::parse_xml_gateways(&xml)
                    .into_iter()
                    .filter_map(|g| Some((g.get("name")?.clone(), g)))
                    .collect(),
                Err(_) => HashMap::new(),
            };
        Ok(fsstatus::parse_sofia_status(&body)
            .into_iter()
            .filter(|e| e.kind == SofiaKind::Gateway)
            .map(|e| {
                let (profile, name) = e.gateway_name();
                let detail = details.get(name);
                let field = |k: &str| detail.and_then(|d| d.get(k)).filter(|v| !v.is_empty());
                OnlineGateway {
                    status: field("status").cloned(),
                    ping_ms: field("pingtime").and_then(|p| p.parse().ok()),
                    calls_out: field("calls-out").and_then(|c| c.parse().ok()),
                    node: node.clone(),
                    name: name.to_string(),
                    profile: profile.map(str::to_string),
                    registered: e.state == "REGED",
                    data: e.data.clone(),
                    state: e.state.clone(),
                }
            })
            .collect())
    })
    .await
}
