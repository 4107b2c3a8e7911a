//! Parsers for the text FreeSWITCH API commands answer with (`show ... [as json]`,
//! `sofia status`, `sofia status profile NAME reg`), checked against real captures. They take a
//! whole `api/response` body and never panic on odd input: lines they cannot read are skipped.

mod show;
mod sofia;

pub use show::{ShowRow, parse_show_csv, parse_show_json};
pub use sofia::{
    ProfileRegistration, SofiaEntry, SofiaKind, parse_profile_registrations, parse_sofia_status,
    parse_xml_gateways,
};

#[cfg(test)]
mod tests;
