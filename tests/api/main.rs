//! Integration tests: the real application on 127.0.0.1:0 against the local Postgres, with a
//! fresh database per test.

mod auth_and_envelope;
mod calls;
mod cdr;
mod cli;
mod completion;
mod console;
mod docs;
mod extensions;
mod freeswitch_conf;
mod fsapi_access;
mod fsdoc;
mod gateways;
mod helpers;
mod hostile;
mod online;
mod ops;
mod overview;
mod recordings;
mod ring_limit;
mod s3;
mod upload_order;
mod uploads;
mod webhooks;
mod xml_curl;
mod xml_curl_dialplan;
mod xml_curl_hostile;
