//! `POST /v1/webhook/redeliver`: send a call's webhook event again. The same outbox row is
//! made due now with a fresh retry window, so the receiver gets the same `webhook-id` (and
//! can dedupe) and the new attempt appears in the call detail beside the earlier ones.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::domain::FieldError;
use crate::domain::text::check_token;
use crate::http::AppState;
use crate::http::envelope::{Envelope, ok};
use crate::http::error::ApiError;
use crate::http::extract::Body;
use crate::webhooks::{self, Delivery};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeliverBody {
    /// The event's `webhook-id`, as listed in the call detail's `webhooks`.
    pub webhook_id: Option<String>,
}

/// Deliver a webhook event again, with the same `webhook-id`.
#[utoipa::path(post, path = "/v1/webhook/redeliver", operation_id = "webhook_redeliver", tag = "webhooks",
    request_body = RedeliverBody,
    responses((status = 200, description = "queued; the event's delivery state", body = Envelope<Delivery>),
              (status = 400), (status = 404, description = "no event has this webhook_id"),
              (status = 409, description = "no webhook URL is configured")))]
pub async fn redeliver(
    State(s): State<AppState>,
    Body(b): Body<RedeliverBody>,
) -> Result<Response, ApiError> {
    let id = b
        .webhook_id
        .ok_or_else(|| FieldError::new("webhook_id", "is required"))?;
    check_token("webhook_id", &id, 64)?;
    if s.config.webhook.url.is_none() {
        // Without a URL no worker runs: the event would only wait, so say so instead.
        return Err(ApiError::Conflict(
            "no webhook URL is configured (CALLPLANE_WEBHOOK_URL); nothing can be delivered".into(),
        ));
    }
    if !webhooks::redeliver(&s.pool, &id).await? {
        return Err(ApiError::NotFound(format!("webhook {id} does not exist")));
    }
    let delivery = webhooks::delivery(&s.pool, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("webhook {id} does not exist")))?;
    tracing::info!(webhook.id = %id, "webhook queued for redelivery");
    Ok(ok(delivery))
}
