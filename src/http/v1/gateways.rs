//! `/v1/gateway/*`: manage lines (SIP trunks) and render each as the FreeSWITCH gateway XML.
//! Passwords are write-only: no answer contains one; `password_set` says whether there is one.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::FieldError;
use crate::domain::gateway::{GatewayFields, GatewaySpec, Transport};
use crate::domain::text::check_token;
use crate::fsxml;
use crate::http::AppState;
use crate::http::envelope::{Envelope, Paged, ok};
use crate::http::error::ApiError;
use crate::http::extract::{Body, EnabledListQuery, Params, page};
use crate::store::gateways::{self as store, GatewayRow};

#[derive(Debug, Serialize, ToSchema)]
pub struct GatewayView {
    pub name: String,
    pub realm: String,
    pub port: u16,
    pub transport: Transport,
    pub register: bool,
    pub username: Option<String>,
    pub password_set: bool,
    pub from_user: Option<String>,
    pub from_domain: Option<String>,
    pub caller_id: Option<String>,
    pub caller_id_in_from: bool,
    pub prefix: String,
    pub max_concurrent: i32,
    /// Live calls on this line right now, to compare with `max_concurrent`.
    pub live_calls: u32,
    pub callee_daily_limit: i32,
    pub blind_areas: Vec<String>,
    pub priority: i32,
    pub enabled: bool,
    pub expire_seconds: i32,
    pub retry_seconds: i32,
    pub ping: i32,
    pub params: BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<GatewayRow> for GatewayView {
    fn from(r: GatewayRow) -> Self {
        let s = r.spec();
        GatewayView {
            name: s.name,
            realm: s.realm,
            port: s.port,
            transport: s.transport,
            register: s.register,
            username: s.username,
            password_set: s.password.is_some(),
            from_user: s.from_user,
            from_domain: s.from_domain,
            caller_id: s.caller_id,
            caller_id_in_from: s.caller_id_in_from,
            prefix: s.prefix,
            max_concurrent: s.max_concurrent,
            live_calls: 0,
            callee_daily_limit: s.callee_daily_limit,
            blind_areas: s.blind_areas,
            priority: s.priority,
            enabled: s.enabled,
            expire_seconds: s.expire_seconds,
            retry_seconds: s.retry_seconds,
            ping: s.ping,
            params: s.params,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// The view with the line's live calls filled in.
fn view(s: &AppState, row: GatewayRow) -> GatewayView {
    let mut v = GatewayView::from(row);
    v.live_calls = s.calls.live.count(&v.name);
    v
}

/// Identifies one gateway by name.
#[derive(Debug, Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GatewayKey {
    pub name: Option<String>,
}

impl GatewayKey {
    fn name(&self) -> Result<&str, FieldError> {
        let name = self
            .name
            .as_deref()
            .ok_or_else(|| FieldError::new("name", "is required"))?;
        check_token("name", name, 64)?;
        Ok(name)
    }
}

fn not_found(name: &str) -> ApiError {
    ApiError::NotFound(format!("gateway {name} does not exist"))
}

/// List gateways in routing order (priority, then name).
#[utoipa::path(get, path = "/v1/gateway/list", operation_id = "gateway_list", tag = "gateways", params(EnabledListQuery),
    responses((status = 200, body = Envelope<Paged<GatewayView>>)))]
pub async fn list(
    State(s): State<AppState>,
    Params(q): Params<EnabledListQuery>,
) -> Result<Response, ApiError> {
    let page = page(q.page, q.size)?;
    let (rows, total) = store::list(&s.pool, page, q.enabled).await?;
    let list = rows.into_iter().map(|r| view(&s, r)).collect();
    Ok(ok(Paged {
        list,
        total,
        page: page.page,
        size: page.size,
    }))
}

/// One gateway.
#[utoipa::path(get, path = "/v1/gateway/detail", operation_id = "gateway_detail", tag = "gateways", params(GatewayKey),
    responses((status = 200, body = Envelope<GatewayView>), (status = 404)))]
pub async fn detail(
    State(s): State<AppState>,
    Params(key): Params<GatewayKey>,
) -> Result<Response, ApiError> {
    let name = key.name()?;
    let row = store::get(&s.pool, name, false)
        .await?
        .ok_or_else(|| not_found(name))?;
    Ok(ok(view(&s, row)))
}

/// The gateway as FreeSWITCH's `sip_profiles/external/NAME.xml` (application/xml).
#[utoipa::path(get, path = "/v1/gateway/detail_xml", operation_id = "gateway_detail_xml", tag = "gateways", params(GatewayKey),
    responses((status = 200, content_type = "application/xml", body = String), (status = 404)))]
pub async fn detail_xml(
    State(s): State<AppState>,
    Params(key): Params<GatewayKey>,
) -> Result<Response, ApiError> {
    let name = key.name()?;
    let row = store::get(&s.pool, name, false)
        .await?
        .ok_or_else(|| not_found(name))?;
    let xml = fsxml::gateway_include(&row.spec());
    Ok((
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        xml,
    )
        .into_response())
}

/// Create a gateway.
#[utoipa::path(post, path = "/v1/gateway/create", operation_id = "gateway_create", tag = "gateways", request_body = GatewayFields,
    responses((status = 200, body = Envelope<GatewayView>), (status = 400), (status = 409, description = "already exists")))]
pub async fn create(
    State(s): State<AppState>,
    Body(f): Body<GatewayFields>,
) -> Result<Response, ApiError> {
    let spec = GatewaySpec::create(f)?;
    let row = store::insert(&s.pool, &spec).await?;
    tracing::info!(gateway = %row.name, "gateway created");
    Ok(ok(view(&s, row)))
}

/// Update a gateway: `name` identifies it; fields left out keep their values.
#[utoipa::path(post, path = "/v1/gateway/update", operation_id = "gateway_update", tag = "gateways", request_body = GatewayFields,
    responses((status = 200, body = Envelope<GatewayView>), (status = 400), (status = 404)))]
pub async fn update(
    State(s): State<AppState>,
    Body(f): Body<GatewayFields>,
) -> Result<Response, ApiError> {
    let key = GatewayKey {
        name: f.name.clone(),
    };
    let name = key.name()?;
    let mut tx = s.pool.begin().await?;
    let row = store::get(&mut *tx, name, true)
        .await?
        .ok_or_else(|| not_found(name))?;
    let spec = row.spec().patched(f)?;
    let row = store::update(&mut *tx, &spec).await?;
    tx.commit().await?;
    tracing::info!(gateway = %row.name, "gateway updated");
    Ok(ok(view(&s, row)))
}

/// Delete a gateway.
#[utoipa::path(post, path = "/v1/gateway/delete", operation_id = "gateway_delete", tag = "gateways", request_body = GatewayKey,
    responses((status = 200, description = "deleted"), (status = 404)))]
pub async fn delete(
    State(s): State<AppState>,
    Body(key): Body<GatewayKey>,
) -> Result<Response, ApiError> {
    let name = key.name()?;
    if !store::delete(&s.pool, name).await? {
        return Err(not_found(name));
    }
    tracing::info!(gateway = %name, "gateway deleted");
    Ok(ok(serde_json::json!({ "name": name })))
}
