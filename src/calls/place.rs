//! Placing a click-to-call: validate and classify both numbers, route each external leg over
//! the lines, store the call with every UUID chosen up front, then send the originate as a
//! `bgapi` with a Job-UUID callplane generated. Returns as soon as FreeSWITCH accepted the job.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Calls;
use super::lines::Party;
use crate::domain::FieldError;
use crate::domain::text::check_token;
use crate::originate::{LineLeg, Target};
use crate::routing::Skipped;
use crate::store::StoreError;
use crate::store::calls::{self as store, NewCall, NewLeg};
use crate::store::gateways::GatewayRow;

/// A click-to-call as the API received it (numbers still raw).
#[derive(Debug, Clone)]
pub struct CallbackRequest {
    pub caller: String,
    pub callee: String,
    pub gateways: Vec<String>,
    pub ext_data: Option<String>,
    pub idempotency_key: Option<String>,
}

/// The answer: the call and the callee's failover chain as dialled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub call_uuid: Uuid,
    pub gateways: Vec<String>,
    /// True when an earlier request with the same Idempotency-Key placed this call.
    pub repeated: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    #[error("{0}")]
    Invalid(#[from] FieldError),
    #[error("no line can take this call: {0}")]
    NoLine(String, Vec<Skipped>),
    #[error("{0}")]
    Unavailable(String),
    #[error("the Idempotency-Key was already used for a different request")]
    IdempotencyKeyReused,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn request_hash(r: &CallbackRequest) -> String {
    let canonical = serde_json::json!([r.caller, r.callee, r.gateways, r.ext_data]).to_string();
    Sha256::digest(canonical.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn check_request(r: &CallbackRequest) -> Result<(), FieldError> {
    if let Some(k) = &r.idempotency_key
        && (k.is_empty() || k.len() > 128 || !k.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(FieldError::new(
            "Idempotency-Key",
            "must be 1-128 printable ASCII characters",
        ));
    }
    if let Some(x) = &r.ext_data
        && x.len() > 4096
    {
        return Err(FieldError::new("ext_data", "must be at most 4096 bytes"));
    }
    for (i, g) in r.gateways.iter().enumerate() {
        check_token(&format!("gateways[{i}]"), g, 64)?;
    }
    Ok(())
}

impl Calls {
    /// Places the call. See the module docs for the order of steps.
    pub async fn place(&self, req: CallbackRequest) -> Result<Placed, PlaceError> {
        check_request(&req)?;
        let hash = request_hash(&req);
        if let Some(key) = &req.idempotency_key
            && let Some(first) = store::by_idempotency_key(&self.pool, key).await?
        {
            return replay(first, &hash);
        }
        // Both lookups at once (one round trip of latency); the caller's error still comes first.
        let (caller, callee) = tokio::join!(
            self.classify("caller", &req.caller),
            self.classify("callee", &req.callee)
        );
        let (caller, callee) = (caller?, callee?);
        if caller.number() == callee.number() {
            return Err(FieldError::new("callee", "must differ from caller").into());
        }
        let needs_lines =
            matches!(caller, Party::External(_)) || matches!(callee, Party::External(_));
        let lines = if needs_lines {
            self.candidates(&req.gateways).await?
        } else {
            Vec::new()
        };

        // Only concurrency caps need requests to see each other's reservations in memory.
        let capped = lines.iter().any(|g| g.max_concurrent > 0);
        let _routing = if capped {
            Some(self.routing_lock.lock().await)
        } else {
            None
        };
        let connected: Vec<(String, crate::esl::EslHandle)> = self.esl.connected();
        let Some((node, handle)) = connected
            .iter()
            .min_by_key(|(n, _)| self.live.per_node(n))
            .cloned()
        else {
            return Err(PlaceError::Unavailable(
                "no FreeSWITCH node is connected; retry later".into(),
            ));
        };
        let nodes: Vec<String> = connected.iter().map(|(n, _)| n.clone()).collect();

        let call_uuid = Uuid::new_v4();
        let job_uuid = Uuid::new_v4();
        let mut tx = self.pool.begin().await.map_err(StoreError::from)?;
        let mut routing_doc = serde_json::Map::new();
        let mut reserved: Vec<(String, String)> = Vec::new();
        let mut targets = Vec::with_capacity(2);
        let mut province = None;
        for (role, party) in [("caller", &caller), ("callee", &callee)] {
            let target = match party {
                Party::Extension { number, domain } => Target::Extension {
                    number: number.clone(),
                    domain: (!domain.is_empty()).then(|| domain.clone()),
                    leg_uuid: if role == "caller" {
                        call_uuid
                    } else {
                        Uuid::new_v4()
                    },
                },
                Party::External(number) => {
                    let (decision, prov) = self.route(&mut tx, number, &lines, &nodes).await?;
                    routing_doc.insert(
                        role.into(),
                        serde_json::to_value(&decision).unwrap_or_default(),
                    );
                    if role == "callee" {
                        province = prov;
                    }
                    if decision.chain.is_empty() {
                        return Err(PlaceError::NoLine(
                            format!("{role} {number}: {}", decision.explain_skips()),
                            decision.skipped,
                        ));
                    }
                    reserved.extend(
                        decision
                            .chain
                            .iter()
                            .map(|g| (g.clone(), number.as_str().to_string())),
                    );
                    let first = (role == "caller").then_some(call_uuid);
                    let legs = line_legs(&decision.chain, &lines, first);
                    Target::External {
                        number: number.clone(),
                        lines: legs,
                    }
                }
            };
            targets.push(target);
        }
        let (caller_t, callee_t) = (&targets[0], &targets[1]);
        let chain_of = |t: &Target| match t {
            Target::External { lines, .. } => lines.iter().map(|l| l.gateway.clone()).collect(),
            Target::Extension { .. } => Vec::new(),
        };
        let (callee_chain, caller_chain): (Vec<String>, Vec<String>) =
            (chain_of(callee_t), chain_of(caller_t));
        let new = NewCall {
            uuid: call_uuid,
            caller: caller.number(),
            callee: callee.number(),
            caller_kind: caller.kind(),
            callee_kind: callee.kind(),
            callee_province: province,
            requested_gateways: &req.gateways,
            gateways: &callee_chain,
            caller_gateways: &caller_chain,
            ext_data: req.ext_data.as_deref(),
            idempotency_key: req.idempotency_key.as_deref(),
            request_hash: &hash,
            job_uuid: Some(job_uuid),
            node: Some(&node),
            routing: serde_json::Value::Object(routing_doc),
        };
        match store::insert(&mut *tx, &new).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) if req.idempotency_key.is_some() => {
                // A concurrent request with the same key won; answer with its call.
                drop(tx);
                let key = req.idempotency_key.as_deref().unwrap_or_default();
                let first = store::by_idempotency_key(&self.pool, key).await?;
                return first.map_or(Err(PlaceError::IdempotencyKeyReused), |f| replay(f, &hash));
            }
            Err(e) => return Err(e.into()),
        }
        let mut legs = legs_of("caller", caller_t);
        legs.extend(legs_of("callee", callee_t));
        store::insert_legs(&mut *tx, call_uuid, Some(node.as_str()), &legs).await?;
        tx.commit().await.map_err(StoreError::from)?;
        // Hold the first line of each chain as live now, so the next request sees it.
        for t in [caller_t, callee_t] {
            if let Target::External { lines, .. } = t
                && let Some(first) = lines.first()
            {
                self.live
                    .add(&node, &first.leg_uuid.to_string(), &first.gateway);
            }
        }
        drop(_routing);

        let cmd = self.originate_command(call_uuid, caller_t, callee_t, &caller, &callee).map_err(|e| {
            tracing::error!(call.uuid = %call_uuid, error = %e, "refused to build the originate");
            PlaceError::Unavailable("internal error building the call".into())
        })?;
        match handle.bgapi_with_job_uuid(&cmd, job_uuid).await {
            Ok(job) => {
                tracing::info!(call.uuid = %call_uuid, esl.node = %node, gateways = ?callee_chain, "originate accepted");
                let this = self.clone();
                tokio::spawn(async move { this.await_job(call_uuid, job).await });
                Ok(Placed {
                    call_uuid,
                    gateways: callee_chain,
                    repeated: false,
                })
            }
            // Never written to the switch: the call was not accepted. It is removed, so no
            // webhook reports it and a retry with the same Idempotency-Key places it anew.
            Err(e @ crate::esl::EslError::NotConnected) => {
                tracing::warn!(call.uuid = %call_uuid, esl.node = %node, error = %e, "originate not sent");
                self.abandon(call_uuid, &reserved, [caller_t, callee_t])
                    .await;
                Err(PlaceError::Unavailable(format!(
                    "FreeSWITCH node {node} did not take the call: {e}; retry later"
                )))
            }
            // Maybe written before the connection broke (HOSTILE C20): the switch may be placing
            // the call. The row stays `accepted`; its events, or the sweeper's `uuid_exists` check
            // after the job timeout, settle it, and a retry with the same key returns this call.
            Err(e) => {
                tracing::warn!(call.uuid = %call_uuid, esl.node = %node, error = %e, "originate outcome unknown");
                Err(PlaceError::Unavailable(format!(
                    "FreeSWITCH node {node} stopped answering while taking the call ({e}); retry with the \
                     same Idempotency-Key to learn its outcome"
                )))
            }
        }
    }
}

/// One attempt per line of the chain, each with a fresh channel UUID (`first` for the first
/// attempt when given: the caller leg's UUID is the call's).
pub(super) fn line_legs(
    chain: &[String],
    lines: &[GatewayRow],
    first: Option<Uuid>,
) -> Vec<LineLeg> {
    chain
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let g = lines
                .iter()
                .find(|g| &g.name == name)
                .expect("chain comes from the candidates");
            LineLeg {
                gateway: g.name.clone(),
                caller_id: g.caller_id.clone(),
                prefix: g.prefix.clone(),
                leg_uuid: first.filter(|_| i == 0).unwrap_or_else(Uuid::new_v4),
            }
        })
        .collect()
}

pub(super) fn legs_of(role: &'static str, t: &Target) -> Vec<NewLeg> {
    match t {
        Target::Extension { leg_uuid, .. } => vec![NewLeg {
            uuid: *leg_uuid,
            role,
            position: 0,
            gateway: None,
        }],
        Target::External { lines, .. } => lines
            .iter()
            .enumerate()
            .map(|(i, l)| NewLeg {
                uuid: l.leg_uuid,
                role,
                position: i as i32,
                gateway: Some(l.gateway.clone()),
            })
            .collect(),
    }
}

fn replay(first: store::CallRow, hash: &str) -> Result<Placed, PlaceError> {
    if first.request_hash.as_deref() != Some(hash) {
        return Err(PlaceError::IdempotencyKeyReused);
    }
    Ok(Placed {
        call_uuid: first.uuid,
        gateways: first.gateways,
        repeated: true,
    })
}
