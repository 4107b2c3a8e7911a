//! Where a call FreeSWITCH asks about (`POST /fsapi/xml_curl` `section=dialplan`) goes: one
//! decision function, [`route`], returning a [`Route`]: another extension, an external number
//! (which the xml_curl handler routes over the lines, `calls::dialplan`), or a refusal.
//!
//! Never "not found": mod_xml_curl would then fall back to FreeSWITCH's on-disk dialplan
//! (`switch_xml_locate` in switch_xml.c), so every outcome, including a database outage, is an
//! explicit extension.

use sqlx::PgPool;

use crate::directory::{self, EXTENSION_CONTEXT};
use crate::domain::text::{check_digits, check_host, check_token};

/// What the call asks for, as read from mod_xml_curl's form (untrusted text).
#[derive(Debug, Clone, Default)]
pub struct CallRequest<'a> {
    /// `Hunt-Context`, else `Caller-Context`.
    pub context: &'a str,
    /// `Hunt-Destination-Number`, else `Caller-Destination-Number`.
    pub destination: &'a str,
    /// The caller's directory domain: `variable_domain_name`, else `variable_sip_auth_realm`.
    pub caller_domain: Option<&'a str>,
}

/// The decision for one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Bridge to an enabled extension: `user/NUMBER@DOMAIN`; `domain` None means "the caller's
    /// own directory domain" (`${domain_name}`, expanded by FreeSWITCH from the channel).
    ToExtension {
        number: String,
        domain: Option<String>,
    },
    /// A telephone number that is not an extension (digits, optional leading `+`).
    External(String),
    Reject(RejectReason),
}

/// Why a call is refused; each maps to the hangup cause FreeSWITCH answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// Not in the context authenticated extensions are placed in.
    NotFromExtension,
    /// Neither an enabled extension nor a telephone number.
    UnknownDestination,
    /// A telephone number, but no line routing is configured for it.
    NoRoute,
    /// The database could not be asked.
    Unavailable,
}

impl RejectReason {
    /// The FreeSWITCH hangup cause; mod_sofia answers the INVITE with the matching SIP status
    /// (`hangup_cause_to_sip` in mod_sofia.c: 603, 404, 404, 503).
    pub fn hangup_cause(self) -> &'static str {
        match self {
            RejectReason::NotFromExtension => "CALL_REJECTED",
            RejectReason::UnknownDestination => "UNALLOCATED_NUMBER",
            RejectReason::NoRoute => "NO_ROUTE_DESTINATION",
            RejectReason::Unavailable => "NORMAL_TEMPORARY_FAILURE",
        }
    }
}

impl Route {
    /// The bridge target for [`Route::ToExtension`], built from stored or configured values
    /// only (the number is a stored extension, the domain a stored or configured host).
    pub fn bridge_target(number: &str, domain: Option<&str>) -> String {
        match domain {
            Some(d) => format!("user/{number}@{d}"),
            None => format!("user/{number}@${{domain_name}}"),
        }
    }
}

/// Decides where a call goes. Database errors become [`RejectReason::Unavailable`].
pub async fn route(pool: &PgPool, config_domain: &str, call: &CallRequest<'_>) -> Route {
    if call.context != EXTENSION_CONTEXT {
        return Route::Reject(RejectReason::NotFromExtension);
    }
    let caller_domain = call
        .caller_domain
        .filter(|d| check_host("domain", d).is_ok())
        .or((config_domain != "*").then_some(config_domain));
    if check_token("destination", call.destination, 32).is_ok()
        && let Some(domain) = caller_domain
    {
        match directory::find_user(pool, config_domain, call.destination, domain).await {
            Ok(Some(row)) => {
                let domain = if !row.domain.is_empty() {
                    Some(row.domain)
                } else if config_domain != "*" {
                    Some(config_domain.to_string())
                } else {
                    None
                };
                return Route::ToExtension {
                    number: row.extension,
                    domain,
                };
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "dialplan lookup failed; rejecting the call with 503");
                return Route::Reject(RejectReason::Unavailable);
            }
        }
    }
    if check_digits("destination", call.destination, 3, 20).is_ok() {
        return Route::External(call.destination.to_string());
    }
    Route::Reject(RejectReason::UnknownDestination)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_targets_never_carry_request_text() {
        assert_eq!(
            Route::bridge_target("1001", Some("pbx.example")),
            "user/1001@pbx.example"
        );
        assert_eq!(
            Route::bridge_target("1001", None),
            "user/1001@${domain_name}"
        );
    }

    #[test]
    fn causes_are_freeswitch_names() {
        assert_eq!(
            RejectReason::Unavailable.hangup_cause(),
            "NORMAL_TEMPORARY_FAILURE"
        );
        assert_eq!(
            RejectReason::UnknownDestination.hangup_cause(),
            "UNALLOCATED_NUMBER"
        );
    }
}
