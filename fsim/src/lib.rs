//! fsim: a FreeSWITCH simulator, an independent implementation of FreeSWITCH's side of the
//! Event Socket and of the HTTP posts it makes, for testing and benchmarking ESL clients.
//!
//! Layout:
//! - `sim`: the `Sim` handle (start on an address, change state at runtime, restart, stop)
//! - `config`: the state file (hostname, profiles, gateways, registrations, outcomes, CDR)
//! - `state`: shared runtime state and the event bus
//! - `server`, `wire`, `subs`: mod_event_socket (framing, commands, subscriptions, filters)
//! - `event`, `text`: events and their plain/JSON/XML serialisations, URL encoding, dates
//! - `api`: API commands (`sofia status`, `show ...`, `status`, `uuid_kill`, `originate`...)
//! - `call`: originate parsing, ringing against scripted outcomes, bridge, hangup events
//! - `cdr`, `post`, `http`: the XML CDR, its post and recording uploads
//! - `load`: the benchmark load generator
//! - `shape`: calls and CDRs reduced to what callplane reads, for comparing runs

pub mod api;
pub mod call;
pub mod cdr;
pub mod config;
pub mod event;
pub mod http;
pub mod load;
pub mod post;
pub mod server;
pub mod shape;
pub mod sim;
pub mod state;
pub mod subs;
pub mod text;
pub mod wire;

pub use config::{
    AliasConfig, CdrConfig, GatewayConfig, OutcomeRule, ProfileConfig, RegistrationConfig,
    SimConfig,
};
pub use event::Event;
pub use sim::Sim;
