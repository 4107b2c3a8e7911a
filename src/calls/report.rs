//! Which leg's CDR a call reports. A business bills on the customer's leg, so the webhook's
//! `cdr` is the CDR of the callee leg that decided the call: the one that answered (the one
//! bridged), else the last one attempted (the busy or failed line). `caller_cdr` is the caller
//! leg's (the agent's phone, or the phone that dialled). When no callee leg was ever
//! attempted (the caller did not answer), `cdr` is the caller leg's too, so it still explains
//! the call. Pure: the completion and the call detail feed it the legs and CDRs they read.

use crate::store::call_legs::LegRow;
use crate::store::cdrs::CdrRow;
use crate::webhooks::CdrSummary;

/// The CDR of one role's deciding leg.
#[derive(Debug, Clone, PartialEq)]
pub enum Pick {
    /// No leg of this role was ever attempted: there is no CDR to wait for.
    NoLeg,
    /// The deciding leg exists but its CDR has not arrived (yet).
    Missing,
    Found(Box<CdrRow>),
}

impl Pick {
    fn found(&self) -> Option<&CdrRow> {
        match self {
            Pick::Found(c) => Some(c),
            _ => None,
        }
    }
}

/// The caller's and the callee's deciding CDRs of one call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallCdrs {
    pub caller: Pick,
    pub callee: Pick,
}

impl CallCdrs {
    /// Reads the deciding leg of each role from the legs callplane stored and the CDRs of those
    /// legs.
    pub fn pick(legs: &[LegRow], cdrs: &[CdrRow]) -> CallCdrs {
        CallCdrs {
            caller: pick(legs, cdrs, "caller"),
            callee: pick(legs, cdrs, "callee"),
        }
    }

    /// Every CDR the report needs has arrived.
    pub fn complete(&self) -> bool {
        self.caller != Pick::Missing && self.callee != Pick::Missing
    }

    /// The webhook's `cdr`.
    pub fn cdr(&self) -> Option<CdrSummary> {
        match &self.callee {
            Pick::Found(c) => Some(summary(c, "callee")),
            Pick::NoLeg => self.caller_cdr(),
            Pick::Missing => None,
        }
    }

    /// The webhook's `caller_cdr`.
    pub fn caller_cdr(&self) -> Option<CdrSummary> {
        self.caller.found().map(|c| summary(c, "caller"))
    }
}

fn cdr_of<'a>(cdrs: &'a [CdrRow], leg: &LegRow) -> Option<&'a CdrRow> {
    let uuid = leg.uuid.to_string();
    cdrs.iter().rev().find(|c| c.uuid == uuid)
}

/// The answered leg of `role` (first by position), else the last one attempted: a channel was
/// created for it (its events, or its CDR, say so).
fn pick(legs: &[LegRow], cdrs: &[CdrRow], role: &str) -> Pick {
    let mine: Vec<&LegRow> = legs.iter().filter(|l| l.role == role).collect();
    let answered = mine.iter().find(|l| {
        l.answered_at.is_some() || cdr_of(cdrs, l).is_some_and(|c| c.answer_time.is_some())
    });
    let attempted = || {
        mine.iter()
            .filter(|l| l.created_at.is_some() || cdr_of(cdrs, l).is_some())
            .max_by_key(|l| l.position)
    };
    match answered.or_else(attempted) {
        None => Pick::NoLeg,
        Some(leg) => match cdr_of(cdrs, leg) {
            Some(c) => Pick::Found(Box::new(c.clone())),
            None => Pick::Missing,
        },
    }
}

/// The contract's summary of a stored CDR, naming its leg.
pub fn summary(c: &CdrRow, role: &str) -> CdrSummary {
    CdrSummary {
        start_time: c.start_time,
        answer_time: c.answer_time,
        end_time: c.end_time,
        duration: c.duration.unwrap_or(0).into(),
        billsec: c.billsec.unwrap_or(0).into(),
        hangup_cause: c.hangup_cause.clone().unwrap_or_default(),
        sip_hangup_disposition: c.sip_disposition.clone(),
        role: Some(role.to_string()),
        uuid: Some(c.uuid.clone()),
    }
}

#[cfg(test)]
mod tests;
