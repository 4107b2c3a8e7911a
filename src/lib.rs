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
//! - `cdr`: CDR documents (mod_xml_cdr XML, mod_json_cdr JSON) decoded and summarised, pure.
//! - `demo`: the `demo` subcommand (callplane with an embedded fsim, one sample call told
//!   from request to signed webhook).
//! - `import`: the `import-cdrs` subcommand (FreeSWITCH's err-log-dir into the database).
//! - `directory`, `dialplan`: what FreeSWITCH's directory and dialplan lookups are answered
//!   with (which extension, which route), for `/fsapi/xml_curl`.
//! - `metrics`: Prometheus registry.
//! - `net`: CIDR allow-lists.
//! - `webhooks`: call webhooks: payloads, signing, outbox enqueue and the delivery worker.
//! - `storage`: recordings in a local directory or an S3 bucket, the spool, signed URLs.

pub mod app;
pub mod calls;
pub mod cdr;
pub mod config;
pub mod demo;
pub mod dialplan;
pub mod directory;
pub mod domain;
pub mod esl;
pub mod fsstatus;
pub mod fsxml;
pub mod http;
pub mod import;
pub mod metrics;
pub mod net;
pub mod numbers;
pub mod originate;
pub mod presence;
pub mod routing;
pub mod storage;
pub mod store;
pub mod tokens;
pub mod webhooks;
