//! The API commands the simulator answers (what `api` and `bgapi` run), dispatched by name
//! like switch_api_execute; unknown names get mod_event_socket's
//! `-ERR <cmd> Command not found!` reply.

mod core;
mod show;
mod sofia;

use crate::state::Shared;
use std::sync::Arc;

/// Runs `cmd` with `arg` and returns the text FreeSWITCH would stream back.
pub async fn execute(shared: &Arc<Shared>, cmd: &str, arg: Option<&str>) -> String {
    let arg = arg.unwrap_or("").trim();
    match cmd {
        "status" => core::status(shared),
        "hostname" => shared.world().cfg.hostname.clone(),
        "version" => core::version(shared),
        "uptime" => core::uptime(shared, arg),
        "uuid_kill" => core::uuid_kill(shared, arg),
        "uuid_exists" => core::uuid_exists(shared, arg),
        "uuid_getvar" => core::uuid_getvar(shared, arg),
        "reloadxml" => "+OK [Success]\n".to_string(),
        "sofia" => sofia::sofia(shared, arg),
        "show" => show::show(shared, arg),
        "originate" => match crate::call::dial::parse_originate(arg) {
            Ok(o) => crate::call::originate(shared.clone(), o).await,
            Err(e) => e,
        },
        _ => format!("-ERR {cmd} Command not found!\n"),
    }
}
