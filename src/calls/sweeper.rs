//! Settles calls FreeSWITCH never reported on, so no call stays open forever: an originate
//! job that never answered, or a call whose channels vanished while events were lost (node
//! restart, consumer lag). Also polls each node's gateway reachability for routing.

use std::time::Duration;

use tokio::sync::watch;

use super::Calls;
use crate::store::calls as store;

/// A call with no event for this long is checked against the switch with `uuid_exists`.
const QUIET_CHECK_SECS: i64 = 1800;
const GATEWAY_POLL: Duration = Duration::from_secs(15);

pub async fn run(calls: Calls, mut stop: watch::Receiver<bool>) {
    let mut tick =
        tokio::time::interval(Duration::from_millis(calls.config.calls.sweep_interval_ms));
    let mut last_poll = tokio::time::Instant::now() - GATEWAY_POLL;
    loop {
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
            _ = tick.tick() => {
                calls.sweep_once().await;
                calls.settle_pending().await;
                if last_poll.elapsed() >= GATEWAY_POLL {
                    calls.poll_gateways().await;
                    last_poll = tokio::time::Instant::now();
                }
            }
        }
    }
}

impl Calls {
    /// One pass of the sweeper (public so tests can drive it).
    pub async fn sweep_once(&self) {
        let job_timeout = self.config.calls.job_timeout_secs as i64;
        match store::stale_open(&self.pool, "accepted", job_timeout).await {
            Ok(stale) => {
                for (call, node) in stale {
                    if !self.exists_on(node.as_deref(), call).await.unwrap_or(false) {
                        self.end_failed(call, "ORIGINATE_TIMEOUT").await;
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "sweeper cannot read open calls"),
        }
        for state in ["ringing", "answered", "bridged"] {
            let Ok(quiet) = store::stale_open(&self.pool, state, QUIET_CHECK_SECS).await else {
                continue;
            };
            for (call, node) in quiet {
                if self.exists_on(node.as_deref(), call).await == Some(false) {
                    self.end_vanished(call).await;
                }
            }
        }
    }

    /// Ends a call whose channels are gone from the switch without callplane hearing the
    /// hangup: answered calls completed normally as far as anyone can tell, the others failed
    /// with `LOST_TRACK`. The CDR, if FreeSWITCH posts one, still joins the call.
    pub(super) async fn end_vanished(&self, call: uuid::Uuid) {
        let answered = store::get(&self.pool, call)
            .await
            .ok()
            .flatten()
            .is_some_and(|r| r.answered_at.is_some());
        if !answered {
            return self.end_failed(call, "LOST_TRACK").await;
        }
        let legs = store::legs(&self.pool, call).await.unwrap_or_default();
        for leg in &legs {
            self.live.remove(&leg.uuid.to_string());
        }
        let now = chrono::Utc::now();
        match store::finish(
            &self.pool,
            call,
            "completed",
            "answered",
            "NORMAL_CLEARING",
            now,
        )
        .await
        {
            Ok(true) => {
                tracing::info!(call.uuid = %call, "call ended while its hangup went unheard")
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(call.uuid = %call, error = %e, "cannot end the vanished call"),
        }
        self.settle(call).await;
    }

    /// Whether the call's caller leg still exists on its node; None when the node cannot be
    /// asked (then nothing is decided yet).
    async fn exists_on(&self, node: Option<&str>, call: uuid::Uuid) -> Option<bool> {
        let handle = self.esl.node(node?)?;
        if !handle.is_connected() {
            return None;
        }
        match handle.api(&format!("uuid_exists {call}")).await {
            Ok(body) => Some(body.trim() == "true"),
            Err(_) => None,
        }
    }

    pub async fn poll_gateways(&self) {
        for (node, handle) in self.esl.connected() {
            if let Ok(xml) = handle.api("sofia xmlstatus gateway").await {
                let states = crate::fsstatus::parse_xml_gateways(&xml)
                    .into_iter()
                    .filter_map(|g| Some((g.get("name")?.clone(), g.get("status")? != "DOWN")));
                self.health.replace_node(&node, states);
            }
        }
    }
}
