//! The XML CDR mod_xml_cdr writes for a finished leg, shaped like the real CDRs: `<cdr
//! core-uuid switchname>` with `channel_data`, URL-encoded `variables`, `app_log`, and the
//! callflows, newest first: each with its caller profile (the newest also with the
//! originator/originatee profile of a bridged peer) and `times`. A leg that entered the inline
//! dialplan after answering has two: the newest (`profile_index` 2, the callee it reached as
//! caller) and the one it was created with.

use crate::call::leg::{Leg, state_number};
use crate::text::{url_encode, xml_escape};

/// Renders the CDR document of a leg that has hung up.
pub fn to_xml(core_uuid: &str, switchname: &str, leg: &Leg) -> String {
    let mut x = String::with_capacity(8192);
    x.push_str("<?xml version=\"1.0\"?>\n");
    x.push_str(&format!(
        "<cdr core-uuid=\"{}\" switchname=\"{}\">\n",
        xml_escape(core_uuid),
        xml_escape(switchname)
    ));
    x.push_str("  <channel_data>\n");
    x.push_str(&format!("    <state>{}</state>\n", leg.state));
    x.push_str(&format!("    <direction>{}</direction>\n", leg.direction));
    x.push_str(&format!(
        "    <state_number>{}</state_number>\n",
        state_number(leg.state)
    ));
    x.push_str("    <flags>0=1;1=1;3=1;36=1;37=1;39=1;42=1;47=1;52=1;73=1;75=1;94=1</flags>\n");
    x.push_str("    <caps>1=1;2=1;3=1;4=1;5=1;6=1</caps>\n");
    x.push_str("  </channel_data>\n");
    x.push_str("  <variables>\n");
    for (k, v) in &leg.vars {
        // encode-values defaults to true: values are URL-encoded, names are not.
        x.push_str(&format!("    <{k}>{}</{k}>\n", url_encode(v)));
    }
    x.push_str("  </variables>\n");
    if !leg.app_log.is_empty() {
        x.push_str("  <app_log>\n");
        for (app, data, stamp) in &leg.app_log {
            x.push_str(&format!(
                "    <application app_name=\"{}\" app_data=\"{}\" app_stamp=\"{stamp}\"></application>\n",
                xml_escape(app),
                xml_escape(data)
            ));
        }
        x.push_str("  </app_log>\n");
    }
    let index = if leg.first_profile.is_some() { 2 } else { 1 };
    let dialplan = if index == 2 { "inline" } else { "" };
    x.push_str(&format!(
        "  <callflow dialplan=\"{dialplan}\" unique-id=\"{}\" profile_index=\"{index}\">\n",
        uuid::Uuid::new_v4()
    ));
    x.push_str("    <caller_profile>\n");
    profile(&mut x, leg, "      ");
    if let Some(other) = &leg.other {
        let role = if leg.other_type == "originatee" {
            "originatee"
        } else {
            "originator"
        };
        x.push_str(&format!(
            "      <{role}>\n        <{role}_caller_profile>\n"
        ));
        profile(&mut x, other, "          ");
        x.push_str(&format!(
            "        </{role}_caller_profile>\n      </{role}>\n"
        ));
    }
    x.push_str("    </caller_profile>\n");
    let profile_created = leg.first_profile.as_ref().map_or(leg.created_us, |p| p.3);
    times(
        &mut x,
        leg,
        profile_created,
        leg.bridged_us,
        leg.hangup_us,
        0,
    );
    x.push_str("  </callflow>\n");
    if let Some((name, num, dest, at)) = &leg.first_profile {
        x.push_str(&format!(
            "  <callflow dialplan=\"\" unique-id=\"{}\" profile_index=\"1\">\n",
            uuid::Uuid::new_v4()
        ));
        x.push_str("    <caller_profile>\n");
        let first = Leg {
            cid_name: name.clone(),
            cid_num: num.clone(),
            dest: dest.clone(),
            other: None,
            ..leg.clone()
        };
        profile(&mut x, &first, "      ");
        x.push_str("    </caller_profile>\n");
        times(&mut x, leg, leg.created_us, 0, 0, *at);
        x.push_str("  </callflow>\n");
    }
    x.push_str("</cdr>\n");
    x
}

fn times(
    x: &mut String,
    leg: &Leg,
    profile_created: u64,
    bridged: u64,
    hangup: u64,
    transfer: u64,
) {
    x.push_str("    <times>\n");
    for (k, v) in [
        ("created_time", leg.created_us),
        ("profile_created_time", profile_created),
        ("progress_time", leg.progress_us),
        ("progress_media_time", leg.progress_media_us),
        ("answered_time", leg.answered_us),
        ("bridged_time", bridged),
        ("last_hold_time", 0),
        ("hold_accum_time", 0),
        ("hangup_time", hangup),
        ("resurrect_time", 0),
        ("transfer_time", transfer),
    ] {
        x.push_str(&format!("      <{k}>{v}</{k}>\n"));
    }
    x.push_str("    </times>\n");
}

fn profile(x: &mut String, leg: &Leg, ind: &str) {
    for (k, v) in [
        ("username", ""),
        ("dialplan", "XML"),
        ("caller_id_name", leg.cid_name.as_str()),
        ("caller_id_number", leg.cid_num.as_str()),
        ("callee_id_name", leg.callee_name.as_str()),
        ("callee_id_number", leg.dest.as_str()),
        ("ani", leg.cid_num.as_str()),
        ("aniii", ""),
        ("network_addr", ""),
        ("rdnis", ""),
        ("destination_number", leg.dest.as_str()),
        ("uuid", leg.uuid.as_str()),
        ("source", "src/switch_ivr_originate.c"),
        ("context", leg.context.as_str()),
        ("chan_name", leg.name.as_str()),
    ] {
        x.push_str(&format!("{ind}<{k}>{}</{k}>\n", xml_escape(v)));
    }
}
