//! Completion: when an ended call's CDRs are stored (the caller leg's and the deciding callee
//! leg's, see `report`) and its recording is stored or known to be absent, its `call.completed` webhook is enqueued in the same transaction that checked it,
//! so the event exists exactly once. A recording that arrives after an `absent` event adds
//! `call.recording_ready`. `settle` is safe to call any number of times, from any replica: the
//! call row is locked and the outbox is unique per (call, event type).

use std::time::Duration;

use chrono::Utc;
use uuid::Uuid;

use super::Calls;
use super::report::{CallCdrs, Pick};
use crate::storage::RecordingKey;
use crate::store::StoreError;
use crate::store::calls as store;
use crate::webhooks::{CallStatus, EventType, Recording, RecordingStatus, WebhookEvent};

impl Calls {
    /// Enqueues whatever webhook the call is ready for. Called when a call ends, when its CDR
    /// or recording arrives, and by the sweeper (for the waits that run out).
    pub async fn settle(&self, call: Uuid) {
        if let Err(e) = self.try_settle(call).await {
            tracing::warn!(call.uuid = %call, error = %e, "cannot settle the call's webhook yet");
        }
    }

    async fn try_settle(&self, call: Uuid) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let Some(row) = store::lock_ended(&mut *tx, call).await? else {
            return Ok(());
        };
        let sent = store::webhook_events(&mut *tx, call).await?;
        let completed = sent
            .iter()
            .find(|(t, _)| t == EventType::CallCompleted.as_str());
        let recording = self.recording(call).await?;
        let ended = row.ended_at.unwrap_or(row.updated_at);
        let waited = |secs: u64| Utc::now() - ended > chrono::Duration::seconds(secs as i64);

        let event_type = match completed {
            None => {
                let cdrs = self.call_cdrs(&mut tx, call).await?;
                let recording_known = recording.is_some()
                    || row.answered_at.is_none()
                    || self.config.recording.upload == crate::originate::UploadMode::None
                    || waited(self.config.calls.recording_wait_secs);
                if !((cdrs.complete() || waited(self.config.calls.cdr_wait_secs))
                    && recording_known)
                {
                    return Ok(());
                }
                let event = self.event(&row, EventType::CallCompleted, &cdrs, recording);
                crate::webhooks::enqueue(&mut tx, &event).await?;
                event.event_type
            }
            Some((_, status)) if status.as_deref() != Some("ok") && recording.is_some() => {
                let already = sent
                    .iter()
                    .any(|(t, _)| t == EventType::RecordingReady.as_str());
                if already {
                    return Ok(());
                }
                let cdrs = self.call_cdrs(&mut tx, call).await?;
                let event = self.event(&row, EventType::RecordingReady, &cdrs, recording);
                crate::webhooks::enqueue(&mut tx, &event).await?;
                event.event_type
            }
            Some(_) => return Ok(()),
        };
        tx.commit().await?;
        tracing::info!(call.uuid = %call, event = event_type.as_str(), "webhook enqueued");
        Ok(())
    }

    /// The stored recording with a signed URL, if there is one to offer.
    pub async fn recording(&self, call: Uuid) -> Result<Option<Recording>, StoreError> {
        let Some(r) = crate::store::recordings::by_call_uuid(&self.pool, call).await? else {
            return Ok(None);
        };
        if r.status == "empty" {
            return Ok(Some(Recording {
                status: RecordingStatus::Absent,
                url: None,
                size: Some(0),
                format: None,
            }));
        }
        if !r.is_available() {
            return Ok(None);
        }
        let Some(storage) = &self.storage else {
            return Ok(None);
        };
        let url = match RecordingKey::parse(&r.storage_key) {
            Some(key) => storage
                .recording_url(&key, self.recording_url_ttl())
                .await
                .ok(),
            None => None,
        };
        let status = if url.is_some() {
            RecordingStatus::Ok
        } else {
            RecordingStatus::Failed
        };
        Ok(Some(Recording {
            status,
            url,
            size: Some(r.size),
            format: Some(r.format),
        }))
    }

    fn recording_url_ttl(&self) -> Duration {
        Duration::from_secs(self.config.storage.url_ttl_secs)
    }

    /// The CDRs a call reports: those of its deciding legs (`report`). A call stored without
    /// legs (none were recorded for it) reports whatever CDR joined it, its own uuid's first.
    pub async fn call_cdrs(
        &self,
        db: &mut sqlx::PgConnection,
        call: Uuid,
    ) -> Result<CallCdrs, StoreError> {
        let legs = store::legs(&mut *db, call).await?;
        if legs.is_empty() {
            let any = crate::store::cdrs::for_call(&mut *db, call).await?;
            return Ok(CallCdrs {
                caller: any.map_or(Pick::NoLeg, |c| Pick::Found(Box::new(c))),
                callee: Pick::NoLeg,
            });
        }
        let cdrs = crate::store::call_cdrs::of_legs(&mut *db, call).await?;
        Ok(CallCdrs::pick(&legs, &cdrs))
    }

    fn event(
        &self,
        row: &store::CallRow,
        event_type: EventType,
        cdrs: &CallCdrs,
        recording: Option<Recording>,
    ) -> WebhookEvent {
        let answered = row.answered_at.is_some();
        let cause = row
            .hangup_cause
            .clone()
            .unwrap_or_else(|| "NORMAL_CLEARING".into());
        WebhookEvent {
            event_type,
            call_uuid: row.uuid,
            caller: row.caller.clone(),
            callee: row.callee.clone(),
            gateway: row.gateway.clone(),
            ext_data: row.ext_data.clone(),
            status: CallStatus::from_hangup(Some(&cause), answered),
            hangup_cause: cause,
            cdr: cdrs.cdr(),
            caller_cdr: cdrs.caller_cdr(),
            recording: recording.unwrap_or_else(Recording::absent),
        }
    }

    /// One sweeper pass over ended calls still waiting for their webhook.
    pub async fn settle_pending(&self) {
        match store::unsettled(&self.pool, 200).await {
            Ok(calls) => {
                for call in calls {
                    self.settle(call).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list calls waiting for a webhook"),
        }
    }
}
