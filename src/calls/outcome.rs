//! How a call ends: which of the hangup causes FreeSWITCH reports explains it, and the
//! contract's `status` for it.

/// The contract's status for a call that ended (the mapping lives with the webhook payload,
/// which the business system sees).
pub fn status(callee_answered: bool, cause: &str) -> &'static str {
    crate::webhooks::CallStatus::from_hangup(Some(cause), callee_answered).as_str()
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

    #[test]
    fn a_customer_who_rang_out_is_no_answer_not_failed() {
        // `leg_timeout` ends the callee leg with ALLOTTED_TIMEOUT; the bridge's `call_timeout`
        // with NO_ANSWER. Either reaches the caller leg as the originate disposition.
        for disposition in ["ALLOTTED_TIMEOUT", "NO_ANSWER", "NO_USER_RESPONSE"] {
            let cause = explaining_cause("NORMAL_CLEARING", Some(disposition), None);
            assert_eq!(status(false, cause), "no_answer", "{disposition}");
        }
        let cause = explaining_cause("NORMAL_CLEARING", None, Some("ALLOTTED_TIMEOUT"));
        assert_eq!(status(false, cause), "no_answer");
        assert_eq!(status(true, "ALLOTTED_TIMEOUT"), "answered");
    }
}
