//! ESL events -> call state. Every channel callplane originates carries the channel variables
//! `callplane_call_uuid` and `callplane_leg` (caller|callee), so an event names its call
//! without a lookup. Updates are idempotent and only move forward, so events that arrive twice
//! or late (or a CDR that arrived first) cannot undo what is known. The same events keep the
//! live channel count per gateway; after a node reconnects, its channels are reconciled from
//! `show channels`.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use super::{Calls, outcome};
use crate::esl::{Event, NodeState};
use crate::store::calls as store;

/// When the event happened, from `Event-Date-Timestamp` (microseconds since the epoch).
fn event_time(ev: &Event) -> DateTime<Utc> {
    ev.header("Event-Date-Timestamp")
        .and_then(|t| t.parse::<i64>().ok())
        .and_then(DateTime::from_timestamp_micros)
        .unwrap_or_else(Utc::now)
}

pub async fn run(calls: Calls, mut stop: watch::Receiver<bool>) {
    let mut events = calls.esl.subscribe();
    let mut statuses = calls.esl.watch_statuses();
    let mut connected: HashSet<String> = HashSet::new();
    loop {
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
            received = events.recv() => match received {
                Ok((node, ev)) => calls.on_event(&node, &ev).await,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(lost = n, "call event consumer fell behind; reconciling live channels");
                    for (node, _) in calls.esl.connected() {
                        calls.reconcile_node(&node).await;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            changed = statuses.changed() => {
                if changed.is_err() {
                    return;
                }
                let now: Vec<String> = statuses
                    .borrow_and_update()
                    .iter()
                    .filter(|s| s.state == NodeState::Connected)
                    .map(|s| s.node.clone())
                    .collect();
                for node in &now {
                    if !connected.contains(node) {
                        calls.reconcile_node(node).await;
                    }
                }
                connected = now.into_iter().collect();
            }
        }
    }
}

impl Calls {
    /// Forgets channels a (re)connected node no longer has.
    pub async fn reconcile_node(&self, node: &str) {
        let Some(handle) = self.esl.node(node) else {
            return;
        };
        match handle.api("show channels as json").await {
            Ok(body) => match crate::fsstatus::parse_show_json(&body) {
                Ok(rows) => {
                    let present: HashSet<String> = rows
                        .into_iter()
                        .filter_map(|r| r.get("uuid").cloned())
                        .collect();
                    let gone = self.live.reconcile(node, &present);
                    let ended = self.end_calls_gone_from(node, &present).await;
                    tracing::info!(
                        esl.node = node,
                        channels = present.len(),
                        forgotten = gone,
                        calls_ended = ended,
                        "live channels reconciled"
                    );
                }
                Err(e) => tracing::warn!(esl.node = node, error = %e, "cannot read show channels"),
            },
            Err(e) => tracing::warn!(esl.node = node, error = %e, "show channels failed"),
        }
    }

    /// Ends the calls `node` was carrying that it no longer has: their hangups were missed
    /// while the connection was down, or the node restarted and lost them. Without this they
    /// would stay in progress until the sweeper's quiet check. Calls still `accepted` are left
    /// to the job timeout: their channels may not exist yet.
    async fn end_calls_gone_from(&self, node: &str, present: &HashSet<String>) -> usize {
        let mut ended = 0;
        for state in ["ringing", "answered", "bridged"] {
            let Ok(open) = store::stale_open(&self.pool, state, 0).await else {
                continue;
            };
            for (call, _) in open.into_iter().filter(|(_, n)| n.as_deref() == Some(node)) {
                let Ok(legs) = store::legs(&self.pool, call).await else {
                    continue;
                };
                if !legs.iter().any(|l| present.contains(&l.uuid.to_string())) {
                    self.end_vanished(call).await;
                    ended += 1;
                }
            }
        }
        ended
    }

    pub async fn on_event(&self, node: &Arc<str>, ev: &Event) {
        let name = ev.name();
        if !matches!(
            name,
            "CHANNEL_CREATE"
                | "CHANNEL_PROGRESS"
                | "CHANNEL_PROGRESS_MEDIA"
                | "CHANNEL_ANSWER"
                | "CHANNEL_BRIDGE"
                | "CHANNEL_HANGUP_COMPLETE"
        ) {
            return;
        }
        let Some(channel) = ev.unique_id() else {
            return;
        };
        let gateway = ev
            .header("variable_callplane_gateway")
            .or_else(|| ev.header("variable_sip_gateway_name"));
        match (name, gateway) {
            ("CHANNEL_CREATE", Some(gw)) => self.live.add(node, channel, gw),
            ("CHANNEL_HANGUP_COMPLETE", _) => self.live.remove(channel),
            _ => {}
        }
        let Some(call) = ev
            .header("variable_callplane_call_uuid")
            .and_then(|u| Uuid::parse_str(u).ok())
        else {
            return;
        };
        if let Err(e) = self.apply(call, ev, gateway).await {
            tracing::warn!(call.uuid = %call, event = name, error = %e, "cannot record call event");
        }
    }

    async fn apply(
        &self,
        call: Uuid,
        ev: &Event,
        gateway: Option<&str>,
    ) -> Result<(), crate::store::StoreError> {
        let db = &self.pool;
        let name = ev.name();
        let at = event_time(ev);
        let leg = ev.unique_id().and_then(|u| Uuid::parse_str(u).ok());
        let callee_leg = ev.header("variable_callplane_leg") == Some("callee");
        let cause = ev.header("Hangup-Cause");
        store::record_event(db, call, name, leg, cause.or(gateway)).await?;
        match name {
            "CHANNEL_CREATE" | "CHANNEL_PROGRESS" | "CHANNEL_PROGRESS_MEDIA" => {
                if let Some(l) = leg {
                    store::leg_event(db, l, Some(at), None, None).await?;
                }
                store::advance(db, call, "ringing", at).await?;
            }
            "CHANNEL_ANSWER" => {
                if let Some(l) = leg {
                    store::leg_event(db, l, None, Some(at), None).await?;
                }
                if callee_leg {
                    store::callee_answered(db, call, gateway, at).await?;
                }
                store::advance(db, call, "answered", at).await?;
            }
            "CHANNEL_BRIDGE" => {
                store::advance(db, call, "bridged", at).await?;
            }
            "CHANNEL_HANGUP_COMPLETE" => {
                let cause = cause.unwrap_or("NORMAL_CLEARING");
                if let Some(l) = leg {
                    store::leg_event(db, l, None, None, Some((at, cause))).await?;
                }
                if !callee_leg {
                    self.finish_from_caller_leg(call, ev, cause, at).await?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The caller leg is gone: the call is over. Answered if the callee ever answered,
    /// otherwise failed with the cause that explains it.
    async fn finish_from_caller_leg(
        &self,
        call: Uuid,
        ev: &Event,
        caller_cause: &str,
        at: DateTime<Utc>,
    ) -> Result<(), crate::store::StoreError> {
        let row = store::get(&self.pool, call).await?;
        let callee_answered = row.as_ref().is_some_and(|r| r.answered_at.is_some());
        let (state, cause) = if callee_answered {
            let cause = ev
                .header("variable_bridge_hangup_cause")
                .unwrap_or(caller_cause);
            ("completed", cause)
        } else {
            let cause = outcome::explaining_cause(
                caller_cause,
                ev.header("variable_originate_disposition"),
                ev.header("variable_bridge_hangup_cause"),
            );
            ("failed", cause)
        };
        let status = outcome::status(callee_answered, cause);
        // Free the lines first: once the call shows as ended, a new request must see them free.
        let legs = store::legs(&self.pool, call).await?;
        for leg in &legs {
            self.live.remove(&leg.uuid.to_string());
        }
        if store::finish(&self.pool, call, state, status, cause, at).await? {
            tracing::info!(call.uuid = %call, status, cause, "call ended");
            if let Some(row) = &row {
                self.release_untried(row, &legs).await;
            }
        }
        self.settle(call).await;
        Ok(())
    }
}
