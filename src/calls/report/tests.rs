use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::*;

fn t(s: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(1_800_000_000 + s, 0)
}

fn leg(n: u128, role: &str, position: i32, created: bool, answered: bool) -> LegRow {
    LegRow {
        uuid: Uuid::from_u128(n),
        role: role.into(),
        position,
        gateway: None,
        node: None,
        state: String::new(),
        created_at: created.then(|| t(0)).flatten(),
        answered_at: answered.then(|| t(4)).flatten(),
        ended_at: None,
        hangup_cause: None,
    }
}

fn cdr(n: u128, answered: bool, billsec: i32) -> CdrRow {
    CdrRow {
        id: n as i64,
        core_uuid: "core".into(),
        uuid: Uuid::from_u128(n).to_string(),
        call_uuid: None,
        other_uuid: None,
        leg: None,
        caller: None,
        callee: None,
        gateway: None,
        start_time: t(0),
        answer_time: if answered { t(4) } else { None },
        end_time: t(10),
        duration: Some(10),
        billsec: Some(billsec),
        hangup_cause: Some(
            if answered {
                "NORMAL_CLEARING"
            } else {
                "USER_BUSY"
            }
            .into(),
        ),
        sip_disposition: None,
        switch_name: None,
        recording_path: None,
        format: "xml".into(),
        encoding: "xml".into(),
        parsed: true,
        parse_error: None,
        late: false,
        query_uuid: None,
        raw_size: 0,
        received_at: Utc::now(),
    }
}

#[test]
fn the_answered_callee_leg_is_reported_not_the_agents() {
    let legs = [
        leg(1, "caller", 0, true, true),
        leg(2, "callee", 0, true, false),
        leg(3, "callee", 1, true, true),
    ];
    let cdrs = [cdr(1, true, 10), cdr(2, false, 0), cdr(3, true, 6)];
    let r = CallCdrs::pick(&legs, &cdrs);
    assert!(r.complete());
    let c = r.cdr().unwrap();
    assert_eq!((c.role.as_deref(), c.billsec), (Some("callee"), 6));
    assert_eq!(c.uuid, Some(Uuid::from_u128(3).to_string()));
    let a = r.caller_cdr().unwrap();
    assert_eq!((a.role.as_deref(), a.billsec), (Some("caller"), 10));
}

#[test]
fn without_an_answer_the_last_attempted_callee_leg_is_reported() {
    // The busy first line stopped the failover: the second line was never dialled.
    let legs = [
        leg(1, "caller", 0, true, true),
        leg(2, "callee", 0, true, false),
        leg(3, "callee", 1, false, false),
    ];
    let r = CallCdrs::pick(&legs, &[cdr(1, true, 3), cdr(2, false, 0)]);
    let c = r.cdr().unwrap();
    assert_eq!(c.hangup_cause, "USER_BUSY");
    assert_eq!(c.billsec, 0);
}

#[test]
fn completion_waits_for_the_deciding_callee_cdr() {
    let legs = [
        leg(1, "caller", 0, true, true),
        leg(2, "callee", 0, true, true),
    ];
    let r = CallCdrs::pick(&legs, &[cdr(1, true, 7)]);
    assert!(!r.complete());
    assert_eq!(r.cdr(), None, "after the wait the customer leg is unknown");
    assert!(r.caller_cdr().is_some());
    let r = CallCdrs::pick(&legs, &[cdr(2, true, 6)]);
    assert!(!r.complete(), "the caller leg's CDR is waited for too");
}

#[test]
fn a_caller_who_never_answered_is_reported_by_the_caller_leg() {
    let legs = [
        leg(1, "caller", 0, true, false),
        leg(2, "callee", 0, false, false),
    ];
    let r = CallCdrs::pick(&legs, &[cdr(1, false, 0)]);
    assert!(r.complete());
    assert_eq!(r.cdr().unwrap().role.as_deref(), Some("caller"));
}

#[test]
fn a_call_without_any_channel_has_no_cdr_and_waits_for_none() {
    let legs = [
        leg(1, "caller", 0, false, false),
        leg(2, "callee", 0, false, false),
    ];
    let r = CallCdrs::pick(&legs, &[]);
    assert!(r.complete());
    assert_eq!((r.cdr(), r.caller_cdr()), (None, None));
}

#[test]
fn a_leg_whose_events_were_missed_is_known_by_its_cdr() {
    let legs = [
        leg(1, "caller", 0, false, false),
        leg(2, "callee", 0, false, false),
    ];
    let r = CallCdrs::pick(&legs, &[cdr(1, true, 9), cdr(2, true, 8)]);
    assert_eq!(r.cdr().unwrap().billsec, 8);
}
