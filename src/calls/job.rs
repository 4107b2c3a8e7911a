//! After the originate is sent: the background job's result, and ending a call that failed
//! before (or without) any channel, freeing what it held.

use uuid::Uuid;

use super::Calls;
use super::outcome;
use crate::originate::Target;
use crate::store::calls as store;

impl Calls {
    /// Waits for the job's BACKGROUND_JOB: `-ERR CAUSE` ends the call as failed; `+OK` leaves
    /// it to the channel events. A lost connection leaves it to the sweeper.
    pub(super) async fn await_job(&self, call_uuid: Uuid, job: crate::esl::BgJob) {
        let timeout = std::time::Duration::from_secs(self.config.calls.job_timeout_secs);
        match tokio::time::timeout(timeout, job.result()).await {
            Ok(Ok(result)) => {
                let body = result.body.trim();
                let _ = store::set_job_result(&self.pool, call_uuid, body).await;
                if let Some(cause) = body.strip_prefix("-ERR") {
                    let cause = cause.trim();
                    let cause = if cause.is_empty() {
                        "ORIGINATE_FAILED"
                    } else {
                        cause
                    };
                    let _ = store::record_event(
                        &self.pool,
                        call_uuid,
                        "BACKGROUND_JOB",
                        None,
                        Some(body),
                    )
                    .await;
                    self.end_failed(call_uuid, cause).await;
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(call.uuid = %call_uuid, error = %e, "no job result; the sweeper will settle the call")
            }
            Err(_) => {
                tracing::warn!(call.uuid = %call_uuid, "originate job unanswered; the sweeper will settle the call")
            }
        }
    }

    /// Ends a call that failed before or without any channel, and frees what it held.
    pub(crate) async fn end_failed(&self, call_uuid: Uuid, cause: &str) {
        // Free the lines first: once the call shows as ended, a new request must see them free.
        let legs = store::legs(&self.pool, call_uuid).await.unwrap_or_default();
        for leg in &legs {
            self.live.remove(&leg.uuid.to_string());
        }
        let status = outcome::status(false, cause);
        match store::finish(
            &self.pool,
            call_uuid,
            "failed",
            status,
            cause,
            chrono::Utc::now(),
        )
        .await
        {
            Ok(true) => {
                tracing::info!(call.uuid = %call_uuid, cause, "call failed");
                if let Ok(Some(call)) = store::get(&self.pool, call_uuid).await {
                    self.release_untried(&call, &legs).await;
                }
            }
            Ok(false) => {}
            Err(e) => {
                tracing::error!(call.uuid = %call_uuid, error = %e, "cannot mark the call failed")
            }
        }
        self.settle(call_uuid).await;
    }

    /// Undoes a call that never reached the switch: its daily slots, its live placeholders
    /// and its row.
    pub(super) async fn abandon(
        &self,
        call_uuid: Uuid,
        reserved: &[(String, String)],
        targets: [&Target; 2],
    ) {
        for (gateway, number) in reserved {
            let _ = store::release_daily(&self.pool, gateway, number, &self.config.calls.timezone)
                .await;
        }
        for t in targets {
            if let Target::External { lines, .. } = t {
                for l in lines {
                    self.live.remove(&l.leg_uuid.to_string());
                }
            }
        }
        if let Err(e) = store::delete_unplaced(&self.pool, call_uuid).await {
            tracing::error!(call.uuid = %call_uuid, error = %e, "cannot remove the unplaced call");
        }
    }

    /// Gives back the daily slots of lines in the chain that were never tried (a call that the
    /// first line carried, or that ended before failing over).
    pub(super) async fn release_untried(&self, call: &store::CallRow, legs: &[store::LegRow]) {
        for leg in legs.iter().filter(|l| l.created_at.is_none()) {
            let Some(gw) = &leg.gateway else { continue };
            let number = if leg.role == "callee" {
                &call.callee
            } else {
                &call.caller
            };
            let limited = crate::store::gateways::get(&self.pool, gw, false)
                .await
                .ok()
                .flatten()
                .is_some_and(|g| g.callee_daily_limit > 0);
            if limited {
                let _ =
                    store::release_daily(&self.pool, gw, number, &self.config.calls.timezone).await;
            }
        }
    }
}
