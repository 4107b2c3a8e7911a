//! The webhook bodies of the contract (`call.completed`, `call.recording_ready`) and the rule
//! that turns a hangup cause into the call `status` a business system acts on.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Which event a webhook reports. A call has at most one of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum EventType {
    /// Every accepted call ends in exactly one of these.
    #[serde(rename = "call.completed")]
    CallCompleted,
    /// A recording arrived after `call.completed` had said it was absent.
    #[serde(rename = "call.recording_ready")]
    RecordingReady,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::CallCompleted => "call.completed",
            EventType::RecordingReady => "call.recording_ready",
        }
    }
}

/// The outcome of a call as the business system sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    Answered,
    NoAnswer,
    Busy,
    Failed,
    Canceled,
}

impl CallStatus {
    /// The contract's mapping. An answered callee leg wins over any cause: a call that was
    /// talked on and then hit `ALLOTTED_TIMEOUT` or a media timeout was still answered.
    /// Otherwise the cause decides; `None` (an originate that never produced a cause, or a
    /// reply without one) and every cause not listed here are `failed`. A rejected originate
    /// is mapped by the cause its `-ERR` reply names, with the `-ERR ` prefix removed by the
    /// caller: `-ERR USER_BUSY` is busy, `-ERR GATEWAY_DOWN` failed.
    /// The status as the contract spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Answered => "answered",
            CallStatus::NoAnswer => "no_answer",
            CallStatus::Busy => "busy",
            CallStatus::Failed => "failed",
            CallStatus::Canceled => "canceled",
        }
    }

    pub fn from_hangup(cause: Option<&str>, callee_answered: bool) -> CallStatus {
        if callee_answered {
            return CallStatus::Answered;
        }
        // FreeSWITCH writes causes in upper case; trimming guards against a stray newline
        // from an ESL reply body.
        match cause.map(str::trim) {
            Some("USER_BUSY") => CallStatus::Busy,
            Some("NO_ANSWER" | "NO_USER_RESPONSE" | "ALLOTTED_TIMEOUT") => CallStatus::NoAnswer,
            Some("ORIGINATOR_CANCEL") => CallStatus::Canceled,
            _ => CallStatus::Failed,
        }
    }
}

/// One leg's CDR, as FreeSWITCH reported it for that leg (see docs/webhooks.md for which leg
/// each webhook field describes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CdrSummary {
    pub start_time: Option<DateTime<Utc>>,
    /// `null` when the call was never answered.
    pub answer_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
    /// Seconds from start to end.
    pub duration: i64,
    /// Seconds from answer to end (0 when not answered).
    pub billsec: i64,
    pub hangup_cause: String,
    pub sip_hangup_disposition: Option<String>,
    /// Which leg this CDR describes: `callee` (the customer leg) or `caller` (the leg rung
    /// first, or the phone that dialled); `null` for a CDR callplane cannot place on a leg.
    #[serde(default)]
    pub role: Option<String>,
    /// The leg's channel uuid (its CDR is `GET /v1/cdr/detail?uuid=`).
    #[serde(default)]
    pub uuid: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordingStatus {
    /// Stored; `url`, `size` and `format` are set.
    Ok,
    /// None arrived: the call was not answered, or the configured wait ran out.
    Absent,
    /// One arrived but could not be stored.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Recording {
    pub status: RecordingStatus,
    /// Signed, expiring URL that works without an API key; `null` unless `status` is `ok`.
    pub url: Option<String>,
    /// Bytes; `null` when nothing was stored (0 for a zero-byte upload).
    pub size: Option<i64>,
    /// File format such as `mp3` or `wav`; `null` when nothing was stored.
    pub format: Option<String>,
}

impl Recording {
    pub fn absent() -> Recording {
        Recording {
            status: RecordingStatus::Absent,
            url: None,
            size: None,
            format: None,
        }
    }
}

/// One webhook body. Field order is the contract's, and it is the order of the JSON sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookEvent {
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub call_uuid: Uuid,
    pub caller: String,
    pub callee: String,
    /// The line that carried the call; `null` when none was reached.
    pub gateway: Option<String>,
    /// The caller's `ext_data`, verbatim; `null` when the request had none.
    pub ext_data: Option<String>,
    pub status: CallStatus,
    /// The A-leg hangup cause, or the cause of a rejected originate.
    pub hangup_cause: String,
    /// The CDR of the callee leg that decided the call: the one that answered, else the last
    /// one attempted. The caller leg's CDR when no callee leg was ever attempted (the caller
    /// did not answer). `null` when the call failed before FreeSWITCH created a channel, or
    /// when that leg's CDR did not arrive within the configured wait.
    pub cdr: Option<CdrSummary>,
    /// The caller leg's CDR (the agent's phone in a click-to-call, the phone that dialled in
    /// a dialplan call); `null` as `cdr` is.
    #[serde(default)]
    pub caller_cdr: Option<CdrSummary>,
    pub recording: Recording,
}

impl WebhookEvent {
    /// The exact body bytes; stored once so that every retry sends (and signs) the same text.
    pub fn to_body(&self) -> String {
        serde_json::to_string(self).expect("webhook events always serialize")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answered_callee_is_answered_whatever_the_cause() {
        for cause in [
            Some("NORMAL_CLEARING"),
            Some("ALLOTTED_TIMEOUT"),
            Some("MEDIA_TIMEOUT"),
            None,
        ] {
            assert_eq!(CallStatus::from_hangup(cause, true), CallStatus::Answered);
        }
    }

    #[test]
    fn every_listed_cause_maps_as_the_contract_says() {
        let cases = [
            ("USER_BUSY", CallStatus::Busy),
            ("NO_ANSWER", CallStatus::NoAnswer),
            ("NO_USER_RESPONSE", CallStatus::NoAnswer),
            ("ALLOTTED_TIMEOUT", CallStatus::NoAnswer),
            ("ORIGINATOR_CANCEL", CallStatus::Canceled),
            ("NORMAL_CLEARING", CallStatus::Failed),
            ("CALL_REJECTED", CallStatus::Failed),
            ("NO_ROUTE_DESTINATION", CallStatus::Failed),
            ("GATEWAY_DOWN", CallStatus::Failed),
            ("UNALLOCATED_NUMBER", CallStatus::Failed),
            ("SOMETHING_NEW", CallStatus::Failed),
            ("", CallStatus::Failed),
        ];
        for (cause, want) in cases {
            assert_eq!(CallStatus::from_hangup(Some(cause), false), want, "{cause}");
        }
    }

    #[test]
    fn no_cause_at_all_is_failed_and_whitespace_is_ignored() {
        assert_eq!(CallStatus::from_hangup(None, false), CallStatus::Failed);
        assert_eq!(
            CallStatus::from_hangup(Some("USER_BUSY\n"), false),
            CallStatus::Busy
        );
    }

    fn sample() -> WebhookEvent {
        WebhookEvent {
            event_type: EventType::CallCompleted,
            call_uuid: "6f1c1d5e-2f7a-4c1e-9d35-0f5b8c7a1e01".parse().unwrap(),
            caller: "1001".into(),
            callee: "13800138000".into(),
            gateway: Some("carrier-a".into()),
            ext_data: Some("order=42".into()),
            status: CallStatus::NoAnswer,
            hangup_cause: "NO_ANSWER".into(),
            cdr: None,
            caller_cdr: None,
            recording: Recording::absent(),
        }
    }

    #[test]
    fn body_has_the_contract_fields_in_the_contract_order() {
        let body = sample().to_body();
        assert_eq!(
            body,
            r#"{"type":"call.completed","call_uuid":"6f1c1d5e-2f7a-4c1e-9d35-0f5b8c7a1e01","caller":"1001","callee":"13800138000","gateway":"carrier-a","ext_data":"order=42","status":"no_answer","hangup_cause":"NO_ANSWER","cdr":null,"caller_cdr":null,"recording":{"status":"absent","url":null,"size":null,"format":null}}"#
        );
    }

    #[test]
    fn cdr_and_recording_ready_serialize_with_their_names() {
        let mut e = sample();
        e.event_type = EventType::RecordingReady;
        e.status = CallStatus::Answered;
        e.cdr = Some(CdrSummary {
            role: Some("callee".into()),
            uuid: Some("7a0c2b1e-0000-4000-8000-000000000002".into()),
            start_time: Some("2026-01-02T03:04:05Z".parse().unwrap()),
            answer_time: None,
            end_time: Some("2026-01-02T03:04:35Z".parse().unwrap()),
            duration: 30,
            billsec: 0,
            hangup_cause: "NORMAL_CLEARING".into(),
            sip_hangup_disposition: Some("send_bye".into()),
        });
        e.recording = Recording {
            status: RecordingStatus::Ok,
            url: Some("https://cp.example.com/r/x?sig=y".into()),
            size: Some(1234),
            format: Some("mp3".into()),
        };
        let v: serde_json::Value = serde_json::from_str(&e.to_body()).unwrap();
        assert_eq!(v["type"], "call.recording_ready");
        assert_eq!(v["status"], "answered");
        assert_eq!(v["cdr"]["start_time"], "2026-01-02T03:04:05Z");
        assert_eq!(v["cdr"]["role"], "callee");
        assert_eq!(v["cdr"]["answer_time"], serde_json::Value::Null);
        assert_eq!(v["cdr"]["duration"], 30);
        assert_eq!(v["cdr"]["sip_hangup_disposition"], "send_bye");
        assert_eq!(v["recording"]["status"], "ok");
        assert_eq!(v["recording"]["size"], 1234);
        let back: WebhookEvent = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }
}
