//! How a call ends, from the hangup causes FreeSWITCH reports: the contract's `status`
//! (answered, busy, no_answer, canceled, failed) and the cause that explains it.

/// The contract's status for a call that ended: answered when the callee leg was answered,
/// otherwise by the hangup cause.
pub fn status(callee_answered: bool, cause: &str) -> &'static str {
    if callee_answered {
        return "answered";
    }
    match cause {
        "USER_BUSY" => "busy",
        "NO_ANSWER" | "NO_USER_RESPONSE" | "ALLOTTED_TIMEOUT" => "no_answer",
        "ORIGINATOR_CANCEL" => "canceled",
        _ => "failed",
    }
}

/// The cause that explains a call ending without the callee answering. The caller leg's
/// hangup event carries what happened on the callee side: `originate_disposition` (the last
/// bridge attempt's result, updated after each failover step) and `bridge_hangup_cause`; when
/// neither is there the caller leg itself failed (the agent did not answer, or hung up).
pub fn explaining_cause<'a>(
    caller_cause: &'a str,
    originate_disposition: Option<&'a str>,
    bridge_cause: Option<&'a str>,
) -> &'a str {
    let useful =
        |c: &Option<&'a str>| c.filter(|c| !c.is_empty() && *c != "SUCCESS" && *c != "NONE");
    useful(&originate_disposition)
        .or(useful(&bridge_cause))
        .unwrap_or(caller_cause)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_contract() {
        assert_eq!(status(true, "NORMAL_CLEARING"), "answered");
        assert_eq!(
            status(true, "USER_BUSY"),
            "answered",
            "answered wins over a later cause"
        );
        assert_eq!(status(false, "USER_BUSY"), "busy");
        for c in ["NO_ANSWER", "NO_USER_RESPONSE", "ALLOTTED_TIMEOUT"] {
            assert_eq!(status(false, c), "no_answer", "{c}");
        }
        assert_eq!(status(false, "ORIGINATOR_CANCEL"), "canceled");
        for c in [
            "CALL_REJECTED",
            "GATEWAY_DOWN",
            "NORMAL_TEMPORARY_FAILURE",
            "RECOVERY_ON_TIMER_EXPIRE",
            "",
        ] {
            assert_eq!(status(false, c), "failed", "{c}");
        }
    }

    #[test]
    fn the_callee_side_explains_a_failed_bridge() {
        assert_eq!(
            explaining_cause("NORMAL_CLEARING", Some("USER_BUSY"), None),
            "USER_BUSY"
        );
        assert_eq!(
            explaining_cause("NORMAL_CLEARING", Some("SUCCESS"), Some("NO_ANSWER")),
            "NO_ANSWER"
        );
        assert_eq!(
            explaining_cause("ORIGINATOR_CANCEL", None, None),
            "ORIGINATOR_CANCEL"
        );
        assert_eq!(explaining_cause("NO_ANSWER", Some(""), None), "NO_ANSWER");
    }
}
