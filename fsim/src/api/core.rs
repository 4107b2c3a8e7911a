//! Core API commands: `status`, `version`, `uptime`, and the per-channel `uuid_kill`,
//! `uuid_exists`, `uuid_getvar` (formats from mod_commands.c and the captured `status`).

use crate::state::Shared;
use crate::text::now_micros;

/// `status`. Lines 4 and 5 end in a space, as in the verbatim docs capture (the terminal
/// copy of 1.10.12 lost them).
pub fn status(shared: &Shared) -> String {
    let live = shared.channels().len();
    let w = shared.world();
    let up = now_micros().saturating_sub(w.started_us);
    format!(
        "UP {}\nFreeSWITCH (Version {}) is ready\n{} session(s) since startup\n{live} session(s) - peak {}, last 5min {} \n0 session(s) per Sec out of max 30, peak 0, last 5min 0 \n1000 session(s) max\nmin idle cpu 0.00/99.00\nCurrent Stack Size/Max 240K/8192K\n",
        uptime_text(up),
        w.cfg.version,
        w.sessions_since_start,
        w.peak_sessions,
        w.peak_sessions,
    )
}

/// `0 years, 0 days, 17 hours, 57 minutes, 36 seconds, 785 milliseconds, 995 microseconds`.
fn uptime_text(us: u64) -> String {
    let s = us / 1_000_000;
    format!(
        "{} years, {} days, {} hours, {} minutes, {} seconds, {} milliseconds, {} microseconds",
        s / 31_536_000,
        s % 31_536_000 / 86_400,
        s % 86_400 / 3600,
        s % 3600 / 60,
        s % 60,
        us / 1000 % 1000,
        us % 1000
    )
}

/// `version`.
pub fn version(shared: &Shared) -> String {
    format!("FreeSWITCH Version {} (fsim)\n", shared.world().cfg.version)
}

/// `uptime [s|m|h|d|ms|us]`: uptime in the given unit, seconds by default.
pub fn uptime(shared: &Shared, unit: &str) -> String {
    let us = now_micros().saturating_sub(shared.world().started_us);
    let v = match unit {
        "us" => us,
        "ms" => us / 1000,
        "m" => us / 60_000_000,
        "h" => us / 3_600_000_000,
        "d" => us / 86_400_000_000,
        _ => us / 1_000_000,
    };
    v.to_string()
}

/// `uuid_kill <uuid> [cause]`.
pub fn uuid_kill(shared: &Shared, arg: &str) -> String {
    let mut it = arg.split_whitespace();
    let Some(uuid) = it.next() else {
        return "-USAGE: <uuid> [cause]\n".into();
    };
    let cause = it
        .next()
        .map(str::to_ascii_uppercase)
        .unwrap_or_else(|| "NORMAL_CLEARING".into());
    if shared.kill_channel(uuid, &cause) {
        "+OK\n".into()
    } else {
        "-ERR No such channel!\n".into()
    }
}

/// `uuid_exists <uuid>`: bare `true` / `false`.
pub fn uuid_exists(shared: &Shared, arg: &str) -> String {
    let uuid = arg.split_whitespace().next().unwrap_or("");
    let exists = shared.channels().iter().any(|c| c.leg.uuid == uuid);
    exists.to_string()
}

/// `uuid_getvar <uuid> <var>`: the value, `_undef_` when unset.
pub fn uuid_getvar(shared: &Shared, arg: &str) -> String {
    let mut it = arg.split_whitespace();
    let (Some(uuid), Some(var)) = (it.next(), it.next()) else {
        return "-USAGE: <uuid> <var>\n".into();
    };
    let chans = shared.channels();
    match chans.iter().find(|c| c.leg.uuid == uuid) {
        Some(c) => c.leg.var(var).unwrap_or("_undef_").to_string(),
        None => "-ERR No such channel!\n".into(),
    }
}
