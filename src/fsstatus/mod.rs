//! Parsers for the text FreeSWITCH API commands answer with (`show ... [as json]`,
//! `status`, `sofia status`, `sofia status profile NAME [reg]`, `sofia xmlstatus gateway`), checked against real captures. They take a
//! whole `api/response` body and never panic on odd input: lines they cannot read are skipped.

mod core;
mod show;
mod sofia;

pub use core::{SwitchStatus, parse_profile_info, parse_status};
pub use show::{ShowRow, parse_show_csv, parse_show_json, parse_show_xml};
pub use sofia::{
    ProfileRegistration, SofiaEntry, SofiaKind, parse_profile_registrations, parse_sofia_status,
    parse_xml_gateways,
};

#[cfg(test)]
mod tests;
