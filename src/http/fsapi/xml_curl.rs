//! `POST /fsapi/xml_curl`: FreeSWITCH's mod_xml_curl asking for directory users and dialplan
//! routes. Always 200 with a FreeSWITCH document: content problems get the "not found" answer
//! (a 4xx/5xx makes FreeSWITCH log an error and fall back to its on-disk files just the same),
//! and the dialplan never answers "not found" (see `crate::dialplan`).
//!
//! The form is read leniently: mod_xml_curl posts `hostname, section, tag_name, key_name,
//! key_value` followed by every header of the request event (`xml_url_fetch` in
//! mod_xml_curl.c), so unknown fields are normal; duplicates keep the first value, names are
//! matched case-insensitively, and invalid UTF-8 or percent-encoding is decoded lossily.
//! Sections other than directory and dialplan are answered without touching the database.
//!
//! Every answer is given within `fsapi.xml_curl_deadline()`, below the `timeout` FreeSWITCH
//! waits: past it a directory lookup answers the last-known user or "not found", and a
//! dialplan lookup the "unavailable" rejection (`xml_curl_deadline_reached_total` counts them).
//!
//! The route is registered exactly (no trailing-slash redirect): libcurl follows redirects
//! (`CURLOPT_FOLLOWLOCATION`) and would turn the POST into a GET. Access control (HTTP Basic,
//! loopback, allow-list) wraps this router in the `/fsapi` surface.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};

use crate::calls::place::PlaceError;
use crate::dialplan::{self, CallRequest, RejectReason, Route};
use crate::directory::{self, DirectoryCache, EXTENSION_CONTEXT, USER_ACTIONS};
use crate::domain::text::check_token;
use crate::fsxml::{self, dialplan::DialplanAction, directory::DirectoryUser};
use crate::http::AppState;

/// The largest answer sent; far below mod_xml_curl's 1 MiB limit.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Directory users remembered (see `directory::DirectoryCache`).
pub const DIRECTORY_CACHE_USERS: usize = 50_000;

/// The mod_xml_curl route, to be mounted by the `/fsapi` surface, with the directory cache
/// (see `directory::DirectoryCache`; `app` runs its invalidation).
pub fn routes(cache: Arc<DirectoryCache>) -> Router<AppState> {
    Router::new()
        .route("/fsapi/xml_curl", post(xml_curl))
        .layer(Extension(cache))
}

/// The posted form, read leniently.
pub struct FetchParams {
    pairs: Vec<(String, String)>,
}

impl FetchParams {
    pub fn parse(body: &[u8]) -> Self {
        let pairs = form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        FetchParams { pairs }
    }

    /// The first value of `name` (case-insensitive), if present and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn is(&self, name: &str, value: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case(value))
    }
}

async fn xml_curl(
    State(state): State<AppState>,
    Extension(cache): Extension<Arc<DirectoryCache>>,
    body: Bytes,
) -> Response {
    let p = FetchParams::parse(&body);
    let started = Instant::now();
    let deadline = state.config.fsapi.xml_curl_deadline();
    let (section, doc) = if p.is("section", "directory") {
        (
            "directory",
            directory_answer(&state, &cache, &p, deadline).await,
        )
    } else if p.is("section", "dialplan") {
        // Past the deadline FreeSWITCH has given up on the answer: say the call cannot be
        // routed now rather than answer nobody.
        let doc = tokio::time::timeout(deadline, dialplan_answer(&state, &p))
            .await
            .unwrap_or_else(|_| {
                let (name, action) = reject(RejectReason::Unavailable);
                fsxml::dialplan::document(answer_context(asked_context(&p)), name, &action)
            });
        ("dialplan", doc)
    } else {
        ("other", fsxml::not_found())
    };
    if started.elapsed() >= deadline {
        tracing::warn!(
            section,
            deadline_ms = deadline.as_millis() as u64,
            "xml_curl answer reached its deadline; answered from memory or not found"
        );
        state.metrics.xml_curl_deadline_reached(section);
    }
    // Answers are per user or per call and a few hundred bytes; a stored value written past
    // the API's validation must still not produce one mod_xml_curl refuses as oversized
    // (`XML_CURL_MAX_BYTES`, 1 MiB, in mod_xml_curl.c).
    let doc = if doc.len() > MAX_ANSWER_BYTES {
        tracing::warn!(
            bytes = doc.len(),
            "xml_curl answer too large; answering not found"
        );
        fsxml::not_found()
    } else {
        doc
    };
    ([(CONTENT_TYPE, "text/xml; charset=utf-8")], doc).into_response()
}

/// One user of one domain, or "not found".
///
/// `purpose=gateways` (sofia.c at profile start) and `purpose=network-list` (switch_core.c
/// `switch_load_network_lists`) are "not found": callplane's lines are sofia gateways in
/// `sip_profiles/`, not `<gateways>` inside directory users, and it has no IP-authenticated
/// (`cidr`) users; FreeSWITCH then uses its static directory, which callplane ships empty.
async fn directory_answer(
    state: &AppState,
    cache: &DirectoryCache,
    p: &FetchParams,
    deadline: Duration,
) -> String {
    if p.get("purpose").is_some() {
        return fsxml::not_found();
    }
    let action = p.get("action").unwrap_or("");
    if !action.is_empty() && !USER_ACTIONS.iter().any(|a| a.eq_ignore_ascii_case(action)) {
        return fsxml::not_found();
    }
    // FreeSWITCH looks for `<domain name=KEY_VALUE>` in the answer (`switch_xml_locate_domain`),
    // so the key wins over the `domain` parameter when both are there.
    let domain = p
        .is("tag_name", "domain")
        .then(|| p.get("key_value"))
        .flatten()
        .or_else(|| p.get("domain"));
    let (Some(user), Some(domain)) = (p.get("user"), domain) else {
        return fsxml::not_found();
    };
    let row = match cache
        .find_user(&state.pool, &state.config.domain, user, domain, deadline)
        .await
    {
        Ok(Some(row)) => row,
        Ok(None) => {
            state
                .metrics
                .directory_miss(p.get("ip"), p.get("sip_user_agent"));
            return fsxml::not_found();
        }
        Err(e) => {
            tracing::warn!(error = %e, "directory lookup failed; answering not found");
            return fsxml::not_found();
        }
    };
    let password = row.password.as_deref().unwrap_or_default();
    let realm = if action.eq_ignore_ascii_case("sip_auth") {
        directory::digest_realm(p.get("sip_auth_realm"), domain)
    } else {
        domain
    };
    let a1 = directory::a1_hash(&row.extension, realm, password);
    let reverse = action.eq_ignore_ascii_case("reverse-auth-lookup");
    fsxml::directory::user_document(&DirectoryUser {
        domain,
        id: &row.extension,
        a1_hash: &a1,
        display_name: &row.display_name,
        context: EXTENSION_CONTEXT,
        reverse_auth: reverse.then_some((row.extension.as_str(), password)),
    })
}

/// Always a dialplan document: bridge, or an explicit rejection.
async fn dialplan_answer(state: &AppState, p: &FetchParams) -> String {
    let first = |names: &[&str]| names.iter().find_map(|n| p.get(n));
    let call = CallRequest {
        context: asked_context(p),
        destination: first(&[
            "Hunt-Destination-Number",
            "Caller-Destination-Number",
            "destination_number",
        ])
        .unwrap_or(""),
        caller_domain: first(&["variable_domain_name", "variable_sip_auth_realm"]),
    };
    let context = answer_context(call.context);
    let route = dialplan::route(&state.pool, &state.config.domain, &call).await;
    if let Route::External(number) = &route {
        return external_answer(state, p, context, number).await;
    }
    let target;
    let (name, action) = match &route {
        Route::ToExtension { number, domain } => {
            target = Route::bridge_target(number, domain.as_deref());
            (
                "callplane_extension",
                DialplanAction::Bridge {
                    number,
                    target: &target,
                },
            )
        }
        Route::External(_) => reject(RejectReason::NoRoute), // answered above
        Route::Reject(reason) => reject(*reason),
    };
    tracing::debug!(route = ?route, "dialplan answer");
    fsxml::dialplan::document(context, name, &action)
}

/// An extension dialled an external number: route it over the lines like a click-to-call's
/// callee side. The caller and channel come from the request and are validated (the caller as
/// an extension token, the channel as a strict UUID) before anything is built from them.
async fn external_answer(state: &AppState, p: &FetchParams, context: &str, number: &str) -> String {
    let caller = ["variable_user_name", "Caller-Caller-ID-Number"]
        .iter()
        .find_map(|n| p.get(n))
        .unwrap_or("");
    let channel = ["Unique-ID", "Caller-Unique-ID"]
        .iter()
        .find_map(|n| p.get(n));
    let (name, action_reason) = match state
        .calls
        .route_from_extension(caller, number, channel)
        .await
    {
        Ok(plan) => {
            tracing::debug!(call.uuid = %plan.call_uuid, gateways = ?plan.gateways, "dialplan answer over lines");
            let action = DialplanAction::Run {
                number: &plan.number,
                actions: &plan.actions,
            };
            return fsxml::dialplan::document(context, "callplane_lines", &action);
        }
        Err(PlaceError::NoLine(why, _)) => {
            tracing::warn!(reason = %why, "dialplan call fits no line");
            ("callplane_no_line", RejectReason::NoRoute)
        }
        Err(PlaceError::Invalid(e)) => {
            tracing::info!(error = %e, "dialplan call refused");
            let reason = if e.field == "caller" {
                RejectReason::NotFromExtension
            } else {
                RejectReason::UnknownDestination
            };
            ("callplane_reject", reason)
        }
        Err(e) => {
            tracing::warn!(error = %e, "dialplan call could not be routed");
            ("callplane_unavailable", RejectReason::Unavailable)
        }
    };
    let action = DialplanAction::Hangup {
        cause: action_reason.hangup_cause(),
    };
    fsxml::dialplan::document(context, name, &action)
}

/// The dialplan context FreeSWITCH asks about (empty when it names none).
fn asked_context(p: &FetchParams) -> &str {
    ["Hunt-Context", "Caller-Context", "context"]
        .iter()
        .find_map(|n| p.get(n))
        .unwrap_or("")
}

/// The context an answer names: FreeSWITCH looks it up by name, so the asked one is echoed;
/// anything that is not a plain token gets the extensions' context, where FreeSWITCH finds no
/// match and hangs up with NO_ROUTE_DESTINATION.
fn answer_context(asked: &str) -> &str {
    if check_token("context", asked, 64).is_ok() {
        asked
    } else {
        EXTENSION_CONTEXT
    }
}

fn reject(reason: RejectReason) -> (&'static str, DialplanAction<'static>) {
    (
        "callplane_reject",
        DialplanAction::Hangup {
            cause: reason.hangup_cause(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_read_leniently() {
        let p = FetchParams::parse(b"Section=directory&user=1000&user=x&empty=&bad=%FF%ZZ&&=v");
        assert_eq!(p.get("section"), Some("directory"), "names ignore case");
        assert_eq!(p.get("user"), Some("1000"), "the first value counts");
        assert_eq!(p.get("empty"), None);
        assert_eq!(p.get("bad"), Some("\u{fffd}%ZZ"), "lossy, never an error");
        assert!(p.is("SECTION", "Directory"));
    }
}
