//! The conformance suite: callplane against a real FreeSWITCH 1.10 with SIPp phones and carrier
//! stand-ins, configured by `conformance/assemble` exactly as freeswitch-conf/README.md tells an
//! operator. Run it with `conformance/run` (it prepares the switch and runs one scenario at a
//! time); it is not part of `cargo nextest run`, which needs no switch.
//!
//! Every scenario checks callplane's account of a call (call detail, the webhook) against what
//! the switch reported (its events, the CDRs it posted, the recording it wrote), and leaves its
//! artifacts under `target/conformance/artifacts/<scenario>/`: the Event Socket stream, every
//! `/fsapi` request and answer, the webhooks, and callplane's log.

mod calls;
mod checks;
mod dialplan;
mod differential;
mod phones;
mod proxy;
mod registration;
mod resilience;
mod rig;
mod switch;
