//! `/v1/extension/online/list` and `/v1/gateway/online/list`: what FreeSWITCH sees right now,
//! merged across nodes. Every row names its node; `nodes` reports every node, including those
//! that could not answer. With no node reachable the answer is 503.

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::http::AppState;
use crate::http::envelope::{Envelope, ok};
use crate::http::error::ApiError;
use crate::http::extract::{Params, page};
use crate::presence::{self, NoNodeReachable, NodeReport, OnlineExtension, OnlineGateway};

/// A page of live rows plus the state of every node they were gathered from.
#[derive(Debug, Serialize, ToSchema)]
pub struct OnlinePage<T> {
    pub list: Vec<T>,
    pub total: i64,
    pub page: u32,
    pub size: u32,
    pub nodes: Vec<NodeReport>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OnlineQuery {
    /// Only this extension (extension list) or gateway name (gateway list).
    name: Option<String>,
    /// Page number, from 1.
    #[serde(default, deserialize_with = "crate::domain::flex::opt_i64")]
    page: Option<i64>,
    /// Page size, 1-500; default 20.
    #[serde(default, deserialize_with = "crate::domain::flex::opt_i64")]
    size: Option<i64>,
}

fn unavailable(e: NoNodeReachable) -> ApiError {
    ApiError::FreeswitchUnavailable(e.to_string())
}

fn paged<T: Serialize>(
    mut rows: Vec<T>,
    nodes: Vec<NodeReport>,
    q: &OnlineQuery,
) -> Result<Response, ApiError> {
    let p = page(q.page, q.size)?;
    let total = rows.len() as i64;
    let start = ((p.page as usize - 1) * p.size as usize).min(rows.len());
    let list: Vec<T> = rows.drain(start..).take(p.size as usize).collect();
    Ok(ok(OnlinePage {
        list,
        total,
        page: p.page,
        size: p.size,
        nodes,
    }))
}

/// Extensions registered on any FreeSWITCH node, with contact, user agent and expiry.
#[utoipa::path(get, path = "/v1/extension/online/list", operation_id = "extension_online_list",
    tag = "extensions", params(OnlineQuery),
    responses((status = 200, body = Envelope<OnlinePage<OnlineExtension>>),
              (status = 503, description = "no FreeSWITCH node reachable")))]
pub async fn extensions(
    State(s): State<AppState>,
    Params(q): Params<OnlineQuery>,
) -> Result<Response, ApiError> {
    let merged = presence::extensions(&s.esl).await.map_err(unavailable)?;
    let mut rows: Vec<OnlineExtension> = merged
        .rows
        .into_iter()
        .filter(|r| q.name.as_deref().is_none_or(|n| r.extension == n))
        .collect();
    rows.sort_by(|a, b| (&a.extension, &a.node).cmp(&(&b.extension, &b.node)));
    paged(rows, merged.nodes, &q)
}

/// Gateways on every FreeSWITCH node: registration state, reachability (UP/DOWN), ping.
#[utoipa::path(get, path = "/v1/gateway/online/list", operation_id = "gateway_online_list",
    tag = "gateways", params(OnlineQuery),
    responses((status = 200, body = Envelope<OnlinePage<OnlineGateway>>),
              (status = 503, description = "no FreeSWITCH node reachable")))]
pub async fn gateways(
    State(s): State<AppState>,
    Params(q): Params<OnlineQuery>,
) -> Result<Response, ApiError> {
    let merged = presence::gateways(&s.esl).await.map_err(unavailable)?;
    let mut rows: Vec<OnlineGateway> = merged
        .rows
        .into_iter()
        .filter(|r| q.name.as_deref().is_none_or(|n| r.name == n))
        .collect();
    rows.sort_by(|a, b| (&a.name, &a.node).cmp(&(&b.name, &b.node)));
    paged(rows, merged.nodes, &q)
}
