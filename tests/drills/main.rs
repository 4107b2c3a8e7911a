//! Fault drills: the real application against real Postgres, fsim over TCP and real HTTP,
//! with one dependency taken away and given back in each drill (see `docs/drills.md`).
//! Run them with `cargo nextest run --test drills`.

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "../api/webhooks/receiver.rs"]
mod receiver;

mod posters;
mod proxy;
mod rig;

mod esl_node;
mod postgres;
mod replicas;
mod sigkill;
mod storage_outage;
mod webhook_outage;
