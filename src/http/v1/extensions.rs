//! `/v1/extension/*`: manage SIP extensions. Passwords are write-only: no answer contains one;
//! `password_set` says whether there is one.

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::FieldError;
use crate::domain::extension::{ExtensionFields, ExtensionSpec};
use crate::domain::text::{check_host, check_token};
use crate::http::AppState;
use crate::http::envelope::{Envelope, Paged, ok};
use crate::http::error::ApiError;
use crate::http::extract::{Body, EnabledListQuery, Params, page};
use crate::store::extensions::{self as store, ExtensionRow};

#[derive(Debug, Serialize, ToSchema)]
pub struct ExtensionView {
    pub extension: String,
    /// Empty: the service's default domain (`CALLPLANE_DOMAIN`).
    pub domain: String,
    pub display_name: String,
    pub enabled: bool,
    pub password_set: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ExtensionRow> for ExtensionView {
    fn from(r: ExtensionRow) -> Self {
        ExtensionView {
            extension: r.extension,
            domain: r.domain,
            display_name: r.display_name,
            enabled: r.enabled,
            password_set: r.password.is_some(),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Identifies one extension: the number and, if it has one, its domain.
#[derive(Debug, Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExtensionKey {
    pub extension: Option<String>,
    pub domain: Option<String>,
}

impl ExtensionKey {
    fn parts(&self) -> Result<(&str, &str), FieldError> {
        let ext = self
            .extension
            .as_deref()
            .ok_or_else(|| FieldError::new("extension", "is required"))?;
        check_token("extension", ext, 32)?;
        let domain = self.domain.as_deref().unwrap_or("");
        if !domain.is_empty() {
            check_host("domain", domain)?;
        }
        Ok((ext, domain))
    }
}

fn not_found(ext: &str, domain: &str) -> ApiError {
    if domain.is_empty() {
        ApiError::NotFound(format!("extension {ext} does not exist"))
    } else {
        ApiError::NotFound(format!("extension {ext}@{domain} does not exist"))
    }
}

/// List extensions, ordered by number.
#[utoipa::path(get, path = "/v1/extension/list", operation_id = "extension_list", tag = "extensions", params(EnabledListQuery),
    responses((status = 200, body = Envelope<Paged<ExtensionView>>)))]
pub async fn list(
    State(s): State<AppState>,
    Params(q): Params<EnabledListQuery>,
) -> Result<Response, ApiError> {
    let page = page(q.page, q.size)?;
    let (rows, total) = store::list(&s.pool, page, q.enabled).await?;
    let list = rows.into_iter().map(ExtensionView::from).collect();
    Ok(ok(Paged {
        list,
        total,
        page: page.page,
        size: page.size,
    }))
}

/// One extension.
#[utoipa::path(get, path = "/v1/extension/detail", operation_id = "extension_detail", tag = "extensions", params(ExtensionKey),
    responses((status = 200, body = Envelope<ExtensionView>), (status = 404, description = "no such extension")))]
pub async fn detail(
    State(s): State<AppState>,
    Params(key): Params<ExtensionKey>,
) -> Result<Response, ApiError> {
    let (ext, domain) = key.parts()?;
    let row = store::get(&s.pool, ext, domain, false)
        .await?
        .ok_or_else(|| not_found(ext, domain))?;
    Ok(ok(ExtensionView::from(row)))
}

/// Create an extension.
#[utoipa::path(post, path = "/v1/extension/create", operation_id = "extension_create", tag = "extensions", request_body = ExtensionFields,
    responses((status = 200, body = Envelope<ExtensionView>), (status = 400), (status = 409, description = "already exists")))]
pub async fn create(
    State(s): State<AppState>,
    Body(f): Body<ExtensionFields>,
) -> Result<Response, ApiError> {
    let spec = ExtensionSpec::create(f)?;
    let row = store::insert(&s.pool, &spec).await?;
    tracing::info!(extension = %row.extension, domain = %row.domain, "extension created");
    Ok(ok(ExtensionView::from(row)))
}

/// Update an extension: `extension` (and `domain`) identify it; fields left out keep their values.
#[utoipa::path(post, path = "/v1/extension/update", operation_id = "extension_update", tag = "extensions", request_body = ExtensionFields,
    responses((status = 200, body = Envelope<ExtensionView>), (status = 400), (status = 404)))]
pub async fn update(
    State(s): State<AppState>,
    Body(f): Body<ExtensionFields>,
) -> Result<Response, ApiError> {
    let key = ExtensionKey {
        extension: f.extension.clone(),
        domain: f.domain.clone(),
    };
    let (ext, domain) = key.parts()?;
    let mut tx = s.pool.begin().await?;
    let row = store::get(&mut *tx, ext, domain, true)
        .await?
        .ok_or_else(|| not_found(ext, domain))?;
    let spec = row.spec().patched(ExtensionFields {
        extension: None,
        domain: None,
        ..f
    })?;
    let row = store::update(&mut *tx, row.id, &spec).await?;
    tx.commit().await?;
    tracing::info!(extension = %row.extension, domain = %row.domain, "extension updated");
    Ok(ok(ExtensionView::from(row)))
}

/// Delete an extension.
#[utoipa::path(post, path = "/v1/extension/delete", operation_id = "extension_delete", tag = "extensions", request_body = ExtensionKey,
    responses((status = 200, description = "deleted"), (status = 404)))]
pub async fn delete(
    State(s): State<AppState>,
    Body(key): Body<ExtensionKey>,
) -> Result<Response, ApiError> {
    let (ext, domain) = key.parts()?;
    if !store::delete(&s.pool, ext, domain).await? {
        return Err(not_found(ext, domain));
    }
    tracing::info!(extension = %ext, domain = %domain, "extension deleted");
    Ok(ok(
        serde_json::json!({ "extension": ext, "domain": domain }),
    ))
}
