//! Integration tests: the real application on 127.0.0.1:0 against the local Postgres, with a
//! fresh database per test.

mod auth_and_envelope;
mod cli;
mod extensions;
mod gateways;
mod helpers;
mod online;
mod ops;
mod recordings;
mod s3;
mod uploads;
