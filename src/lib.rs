//! callplane: the call-center middle platform between business systems and FreeSWITCH.
//!
//! Layout (dependencies point downwards only; nothing imports `http`):
//! - `app`: wiring; builds the application and serves it.
//! - `config`: typed configuration (defaults, TOML file, environment), secrets redacted.
//! - `http`: the HTTP surfaces (`/v1` business API, operational endpoints).
//! - `store`: all SQL, migrations, database creation.
//! - `esl`: Event Socket client: wire format, connection task + handle, node supervisor.
//! - `domain`: pure types and validation rules (extensions, gateways, provinces).
//! - `fsxml`: FreeSWITCH XML documents and all their escaping.
//! - `metrics`: Prometheus registry.
//! - `net`: CIDR allow-lists.
//! - `storage`: recordings in a local directory or an S3 bucket, the spool, signed URLs.

pub mod app;
pub mod config;
pub mod domain;
pub mod esl;
pub mod fsstatus;
pub mod fsxml;
pub mod http;
pub mod metrics;
pub mod net;
pub mod numbers;
pub mod presence;
pub mod routing;
pub mod storage;
pub mod store;
pub mod tokens;
