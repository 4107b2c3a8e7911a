//! `GET /v1/node/list`: the configured FreeSWITCH nodes and the state of this replica's Event
//! Socket connection to each (the same report as `/readyz`, under the API key).

use axum::extract::State;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::AppState;
use crate::http::envelope::{Envelope, ok};
use crate::http::error::ApiError;

#[derive(Debug, Serialize, ToSchema)]
pub struct NodeView {
    /// `host:port` as configured.
    pub node: String,
    /// The switch's hostname, once known; kept while the node is down.
    pub hostname: Option<String>,
    /// `connected`, `connecting`, `auth_failed` or `down`.
    pub state: String,
    /// Why the node is not connected (or why the last connection ended).
    pub error: Option<String>,
    /// Channels this replica knows to be live on the node.
    pub live_channels: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NodeList {
    pub list: Vec<NodeView>,
}

/// FreeSWITCH nodes and their ESL connection state.
#[utoipa::path(get, path = "/v1/node/list", operation_id = "node_list", tag = "nodes",
    responses((status = 200, body = Envelope<NodeList>)))]
pub async fn list(State(s): State<AppState>) -> Result<Response, ApiError> {
    let list = s
        .esl
        .statuses()
        .into_iter()
        .map(|n| NodeView {
            live_channels: s.calls.live.per_node(&n.node),
            state: serde_json::to_value(n.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            node: n.node,
            hostname: n.hostname,
            error: n.error,
        })
        .collect();
    Ok(ok(NodeList { list }))
}
