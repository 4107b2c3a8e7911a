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
use crate::esl::{Event, NodeEvent, NodeState};
use crate::store::calls as store;

/// An event to write: its call, the event, and the gateway it names.
type Pending<'e> = (Uuid, &'e Arc<Event>, Option<&'e str>);

/// The caller leg's hangup ends the call.
fn ends_call(ev: &Event) -> bool {
    ev.name() == "CHANNEL_HANGUP_COMPLETE" && ev.header("variable_callplane_leg") != Some("callee")
}

/// When the event happened, from `Event-Date-Timestamp` (microseconds since the epoch).
fn event_time(ev: &Event) -> DateTime<Utc> {
    ev.header("Event-Date-Timestamp")
        .and_then(|t| t.parse::<i64>().ok())
        .and_then(DateTime::from_timestamp_micros)
        .unwrap_or_else(Utc::now)
}

/// Most events applied in one transaction. Under load the queue holds many; one commit for a
/// batch instead of one per statement is what lets the consumer keep up (see
/// docs/BENCHMARKS.md).
const MAX_BATCH: usize = 256;

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
                Ok(first) => {
                    // Whatever else is already queued is applied with it, in one transaction.
                    let mut batch = vec![first];
                    let mut lost = None;
                    while batch.len() < MAX_BATCH {
                        match events.try_recv() {
                            Ok(ev) => batch.push(ev),
                            Err(broadcast::error::TryRecvError::Lagged(n)) => {
                                lost = Some(n);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    calls.on_events(&batch).await;
                    if let Some(n) = lost {
                        calls.fell_behind(n).await;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => calls.fell_behind(n).await,
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

    async fn fell_behind(&self, lost: u64) {
        tracing::warn!(
            lost,
            "call event consumer fell behind; reconciling live channels"
        );
        for (node, _) in self.esl.connected() {
            self.reconcile_node(&node).await;
        }
    }

    pub async fn on_event(&self, node: &Arc<str>, ev: &Arc<Event>) {
        self.on_events(&[(node.clone(), ev.clone())]).await;
    }

    /// Applies events in arrival order. The rows they write go in one transaction; an event
    /// that ends a call (the caller leg's hangup) commits what came before it first, because
    /// finishing reads the call back and must see its answer and legs.
    pub async fn on_events(&self, batch: &[NodeEvent]) {
        let mut pending: Vec<Pending<'_>> = Vec::new();
        for (node, ev) in batch {
            let Some((call, gateway)) = self.track(node, ev) else {
                continue;
            };
            pending.push((call, ev, gateway));
            if ends_call(ev) {
                self.record_all(&pending).await;
                pending.clear();
                let cause = ev.header("Hangup-Cause").unwrap_or("NORMAL_CLEARING");
                if let Err(e) = self
                    .finish_from_caller_leg(call, ev, cause, event_time(ev))
                    .await
                {
                    tracing::warn!(call.uuid = %call, event = ev.name(), error = %e, "cannot record call event");
                }
            }
        }
        self.record_all(&pending).await;
    }

    /// Live-channel bookkeeping for every channel event; returns the call (and gateway) when
    /// the event belongs to a call callplane placed and changes what is stored about it.
    fn track<'e>(&self, node: &str, ev: &'e Event) -> Option<(Uuid, Option<&'e str>)> {
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
            return None;
        }
        let channel = ev.unique_id()?;
        let gateway = ev
            .header("variable_callplane_gateway")
            .or_else(|| ev.header("variable_sip_gateway_name"));
        match (name, gateway) {
            ("CHANNEL_CREATE", Some(gw)) => self.live.add(node, channel, gw),
            ("CHANNEL_HANGUP_COMPLETE", _) => self.live.remove(channel),
            _ => {}
        }
        let call = ev
            .header("variable_callplane_call_uuid")
            .and_then(|u| Uuid::parse_str(u).ok())?;
        Some((call, gateway))
    }

    /// Writes the events' rows in one transaction. ESL events are not acknowledged to the
    /// switch, so a commit that waits for the disk would protect nothing that a crash of
    /// callplane itself would not lose anyway (the sweeper and the CDR settle such calls);
    /// not waiting for the WAL flush lets one consumer keep up with hundreds of calls a
    /// second. If the transaction fails, each event is retried on its own so one bad event
    /// cannot drop the others.
    async fn record_all(&self, items: &[Pending<'_>]) {
        if items.is_empty() {
            return;
        }
        let together = async {
            let mut tx = self.pool.begin().await?;
            sqlx::query("SET LOCAL synchronous_commit = off")
                .execute(&mut *tx)
                .await?;
            for (call, ev, gateway) in items {
                self.record(&mut tx, *call, ev, *gateway).await?;
            }
            tx.commit().await?;
            Ok::<(), crate::store::StoreError>(())
        };
        if together.await.is_ok() {
            return;
        }
        for (call, ev, gateway) in items {
            let one = async {
                let mut conn = self.pool.acquire().await?;
                self.record(&mut conn, *call, ev, *gateway).await
            };
            if let Err(e) = one.await {
                tracing::warn!(call.uuid = %call, event = ev.name(), error = %e, "cannot record call event");
            }
        }
    }

    /// The rows one event changes: the event log, its leg, and the call's forward-only state.
    async fn record(
        &self,
        db: &mut sqlx::PgConnection,
        call: Uuid,
        ev: &Event,
        gateway: Option<&str>,
    ) -> Result<(), crate::store::StoreError> {
        let name = ev.name();
        let at = event_time(ev);
        let leg = ev.unique_id().and_then(|u| Uuid::parse_str(u).ok());
        let callee_leg = ev.header("variable_callplane_leg") == Some("callee");
        let cause = ev.header("Hangup-Cause");
        store::record_event(&mut *db, call, name, leg, cause.or(gateway)).await?;
        match name {
            "CHANNEL_CREATE" | "CHANNEL_PROGRESS" | "CHANNEL_PROGRESS_MEDIA" => {
                if let Some(l) = leg {
                    store::leg_event(&mut *db, l, Some(at), None, None).await?;
                }
                store::advance(&mut *db, call, "ringing", at).await?;
            }
            "CHANNEL_ANSWER" => {
                if let Some(l) = leg {
                    store::leg_event(&mut *db, l, None, Some(at), None).await?;
                }
                if callee_leg {
                    store::callee_answered(&mut *db, call, leg, gateway, at).await?;
                }
                store::advance(&mut *db, call, "answered", at).await?;
            }
            "CHANNEL_BRIDGE" => {
                store::advance(&mut *db, call, "bridged", at).await?;
            }
            "CHANNEL_HANGUP_COMPLETE" => {
                let cause = cause.unwrap_or("NORMAL_CLEARING");
                if let Some(l) = leg {
                    store::leg_event(&mut *db, l, None, None, Some((at, cause))).await?;
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
