//! Calls that a registered extension dials to an external number: FreeSWITCH asks the
//! dialplan (`/fsapi/xml_curl`), and the answer routes them over the lines exactly as a
//! click-to-call's callee side: same validation, same rules, same recording and upload, and a
//! call row so that events, CDR, recording and webhook join up as for API calls.

use uuid::Uuid;

use super::Calls;
use super::place::PlaceError;
use crate::domain::text::check_token;
use crate::originate::{self, Target};
use crate::store::StoreError;
use crate::store::calls::{self as store, NewCall};

/// The dialplan answer for one external call.
#[derive(Debug, Clone)]
pub struct DialplanPlan {
    pub call_uuid: Uuid,
    /// The number as validated (the condition matches exactly this).
    pub number: String,
    /// The lines in failover order.
    pub gateways: Vec<String>,
    /// `(application, data)` in order.
    pub actions: Vec<(&'static str, String)>,
}

impl Calls {
    /// Routes `destination` dialled by extension `caller` on channel `channel_uuid` (the
    /// call's UUID when it is a well-formed one, so that the caller leg's CDR joins the call).
    pub async fn route_from_extension(
        &self,
        caller: &str,
        destination: &str,
        channel_uuid: Option<&str>,
    ) -> Result<DialplanPlan, PlaceError> {
        // The directory already decided this is no routable extension.
        let number = self.external_number("destination", destination)?;
        let call_uuid = channel_uuid
            .and_then(crate::storage::parse_strict_uuid)
            .unwrap_or_else(Uuid::new_v4);
        let lines = self.candidates(&[]).await?;
        if lines.is_empty() {
            return Err(PlaceError::NoLine("no line is enabled".into(), Vec::new()));
        }
        // Only now the caller: it is sent as caller ID where a line names none.
        check_token("caller", caller, 32)?;
        let nodes: Vec<String> = self.esl.connected().into_iter().map(|(n, _)| n).collect();
        let mut tx = self.pool.begin().await.map_err(StoreError::from)?;
        let (decision, province) = self.route(&mut tx, &number, &lines, &nodes).await?;
        if decision.chain.is_empty() {
            return Err(PlaceError::NoLine(
                decision.explain_skips(),
                decision.skipped,
            ));
        }
        let legs = super::place::line_legs(&decision.chain, &lines, None);
        let caller_t = Target::Extension {
            number: caller.to_string(),
            domain: None,
            leg_uuid: call_uuid,
        };
        let callee_t = Target::External {
            number: number.clone(),
            lines: legs,
        };
        let routing = serde_json::json!({ "callee": decision });
        let new = NewCall {
            uuid: call_uuid,
            caller,
            callee: number.as_str(),
            caller_kind: "extension",
            callee_kind: "external",
            callee_province: province,
            requested_gateways: &[],
            gateways: &decision.chain,
            caller_gateways: &[],
            ext_data: None,
            idempotency_key: None,
            request_hash: "dialplan",
            job_uuid: None,
            node: None,
            routing,
        };
        match store::insert(&mut *tx, &new).await {
            Ok(()) => {
                let mut rows = super::place::legs_of("caller", &caller_t);
                rows.extend(super::place::legs_of("callee", &callee_t));
                store::insert_legs(&mut *tx, call_uuid, None, &rows).await?;
            }
            // FreeSWITCH asked again for the same channel (a transfer back into the
            // dialplan): route it again, but it is the same call.
            Err(StoreError::Conflict(_)) => {
                drop(tx);
                tx = self.pool.begin().await.map_err(StoreError::from)?;
            }
            Err(e) => return Err(e.into()),
        }
        tx.commit().await.map_err(StoreError::from)?;
        let (file, url) = self.recording_setup(call_uuid);
        let shown = number.as_str().trim_start_matches('+');
        let setup = self.setup(call_uuid, &caller_t, &callee_t, shown, caller, &file, &url);
        let actions = originate::dialplan_actions(&setup).map_err(|e| {
            tracing::error!(call.uuid = %call_uuid, error = %e, "refused to build the dialplan");
            PlaceError::Unavailable("internal error building the route".into())
        })?;
        tracing::info!(call.uuid = %call_uuid, gateways = ?decision.chain, "dialplan call routed over lines");
        Ok(DialplanPlan {
            call_uuid,
            number: number.to_string(),
            gateways: decision.chain.clone(),
            actions,
        })
    }
}
