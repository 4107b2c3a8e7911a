//! Placing a click-to-call: validate and classify both numbers, route each external leg over
//! the lines, store the call with every UUID chosen up front, then send the originate as a
//! `bgapi` with a Job-UUID callplane generated. Returns as soon as FreeSWITCH accepted the job.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Calls;
use crate::domain::FieldError;
use crate::domain::number::PhoneNumber;
use crate::domain::text::check_token;
use crate::numbers::PhoneData;
use crate::originate::{LineLeg, Target};
use crate::routing::{self, Decision, LineSnapshot, SkipReason, Skipped};
use crate::store::calls::{self as store, NewCall, NewLeg};
use crate::store::gateways::GatewayRow;
use crate::store::{self as db, StoreError};

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

/// One side of the call after classification.
pub(super) enum Party {
    Extension { number: String, domain: String },
    External(PhoneNumber),
}

impl Party {
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Party::Extension { .. } => "extension",
            Party::External(_) => "external",
        }
    }
    pub(super) fn number(&self) -> &str {
        match self {
            Party::Extension { number, .. } => number,
            Party::External(n) => n.as_str(),
        }
    }
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
    pub(super) async fn classify(&self, field: &str, raw: &str) -> Result<Party, PlaceError> {
        if check_token(field, raw, 32).is_ok()
            && let Some(ext) = db::extensions::find_by_number(&self.pool, raw).await?
        {
            // A disabled extension is still an extension: never dial its number out over a line.
            if !ext.enabled {
                return Err(FieldError::new(field, format!("extension {raw} is disabled")).into());
            }
            return Ok(Party::Extension {
                number: ext.extension,
                domain: ext.domain,
            });
        }
        Ok(Party::External(self.external_number(field, raw)?))
    }

    /// A validated external number that policy allows dialling.
    pub(super) fn external_number(
        &self,
        field: &str,
        raw: &str,
    ) -> Result<PhoneNumber, PlaceError> {
        let number = PhoneNumber::parse(field, raw)?;
        let bare = number.as_str().trim_start_matches('+');
        if self
            .config
            .calls
            .blocked_numbers
            .iter()
            .any(|b| b.trim_start_matches('+') == bare)
        {
            return Err(FieldError::new(
                field,
                format!("{number} is a blocked number (calls.blocked_numbers)"),
            )
            .into());
        }
        Ok(number)
    }

    /// The lines to consider: the requested ones in order (each must exist and be enabled),
    /// or every enabled line by priority.
    pub(super) async fn candidates(
        &self,
        requested: &[String],
    ) -> Result<Vec<GatewayRow>, PlaceError> {
        if requested.is_empty() {
            return Ok(db::gateways::enabled_in_order(&self.pool).await?);
        }
        let mut out = Vec::with_capacity(requested.len());
        for (i, name) in requested.iter().enumerate() {
            match db::gateways::get(&self.pool, name, false).await? {
                Some(g) if g.enabled => out.push(g),
                Some(_) => {
                    return Err(FieldError::new(
                        format!("gateways[{i}]"),
                        format!("gateway {name} is disabled"),
                    )
                    .into());
                }
                None => {
                    return Err(FieldError::new(
                        format!("gateways[{i}]"),
                        format!("gateway {name} does not exist"),
                    )
                    .into());
                }
            }
        }
        Ok(out)
    }

    /// Routes one external number over `lines` and takes its daily slots inside `tx`.
    pub(super) async fn route(
        &self,
        tx: &mut sqlx::PgConnection,
        number: &PhoneNumber,
        lines: &[GatewayRow],
        connected: &[String],
    ) -> Result<(Decision, Option<&'static str>), PlaceError> {
        let tz = &self.config.calls.timezone;
        let province = PhoneData::embedded()
            .lookup(number.as_str())
            .map(|r| r.province);
        // Today's counts only matter to lines with a daily limit; most lines have none.
        let counts = if lines.iter().any(|g| g.callee_daily_limit > 0) {
            store::callee_counts_today(&mut *tx, number.as_str(), tz).await?
        } else {
            Vec::new()
        };
        // A cap must hold across replicas: routing over capped lines is serialised in the
        // database, and the channels other replicas committed count with those seen here.
        let committed = if lines.iter().any(|g| g.max_concurrent > 0) {
            crate::store::call_legs::lock_capped_routing(&mut *tx).await?;
            let names: Vec<String> = lines.iter().map(|g| g.name.clone()).collect();
            crate::store::call_legs::open_legs_per_gateway(&mut *tx, &names).await?
        } else {
            Vec::new()
        };
        let live = |g: &str| {
            let in_db = committed
                .iter()
                .find(|(n, _)| n == g)
                .map(|(_, c)| *c as u32)
                .unwrap_or(0);
            self.live.count(g).max(in_db)
        };
        let today = |g: &str| {
            counts
                .iter()
                .find(|(n, _)| n == g)
                .map(|(_, c)| *c as u32)
                .unwrap_or(0)
        };
        let snapshots: Vec<LineSnapshot<'_>> = lines
            .iter()
            .map(|g| LineSnapshot {
                name: &g.name,
                enabled: g.enabled,
                down_everywhere: self.health.down_everywhere(&g.name, connected),
                blind_areas: &g.blind_areas,
                max_concurrent: g.max_concurrent as u32,
                live_calls: live(&g.name),
                callee_daily_limit: g.callee_daily_limit as u32,
                callee_calls_today: today(&g.name),
            })
            .collect();
        let mut decision = routing::choose(&snapshots, province);
        let mut chain = Vec::with_capacity(decision.chain.len());
        for name in std::mem::take(&mut decision.chain) {
            let limit = lines
                .iter()
                .find(|g| g.name == name)
                .map(|g| g.callee_daily_limit)
                .unwrap_or(0);
            if limit > 0
                && !store::reserve_daily(&mut *tx, &name, number.as_str(), tz, limit).await?
            {
                let reason = SkipReason::DailyLimit {
                    limit: limit as u32,
                    used: limit as u32,
                };
                decision.skipped.push(Skipped {
                    gateway: name,
                    reason,
                });
            } else {
                chain.push(name);
            }
        }
        decision.chain = chain;
        Ok((decision, province))
    }

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
