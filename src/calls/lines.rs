//! Choosing who and how to dial: each number classified as an extension or an external
//! number, the candidate lines for an external number (requested or by priority), and the
//! routing decision over them under blind areas, daily limits and concurrency caps, with the
//! cap held across replicas. Shared by click-to-call and the xml_curl dialplan.

use super::Calls;
use super::place::PlaceError;
use crate::domain::FieldError;
use crate::domain::number::PhoneNumber;
use crate::domain::text::check_token;
use crate::numbers::PhoneData;
use crate::routing::{self, Decision, LineSnapshot, SkipReason, Skipped};
use crate::store as db;
use crate::store::calls as store;
use crate::store::gateways::GatewayRow;

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
}
