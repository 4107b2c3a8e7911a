//! What runs on a leg's media: the `execute_on_answer*` variables (every variable whose name
//! starts with `execute_on_answer`, as switch_channel_execute_on runs them), `record_session`
//! (RECORD_START on answer, RECORD_STOP with the `record_*` variables at hangup; the file's
//! size follows the talk time, the sample rate and RECORD_STEREO), `playback` (PLAYBACK_START,
//! the tone's length, PLAYBACK_STOP) and the `api_hangup_hook`'s API event, which FreeSWITCH
//! sends without `Event-Name`: the channel variables unprefixed, the channel data, then
//! `API-Command` and `API-Command-Argument`.

use super::leg::Leg;
use super::ring::CallCtx;
use crate::event::Event;
use crate::text::now_micros;

/// A finished recording: enough to write a WAV of the right size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// Samples per second.
    pub rate: u32,
    /// 2 with RECORD_STEREO, else 1.
    pub channels: u16,
    /// Samples per channel.
    pub samples: u64,
}

impl Recorded {
    /// The WAV file's size: a 44-byte header and 16-bit samples.
    pub fn file_size(&self) -> u64 {
        44 + self.samples * u64::from(self.channels) * 2
    }
}

/// Splits `app:arg`, `app::arg` or `app arg`.
pub fn split_app(value: &str) -> (String, String) {
    let v = value.trim();
    let cut = v.find([':', ' ']).unwrap_or(v.len());
    let app = v[..cut].to_string();
    let arg = v[cut..].trim_start_matches(':').trim_start();
    (app, arg.to_string())
}

/// Runs the leg's `execute_on_answer*` variables, in name order, once it has answered.
pub fn on_answer(ctx: &CallCtx, leg: &mut Leg) {
    let mut todo: Vec<(String, String)> = leg
        .vars
        .iter()
        .filter(|(k, _)| k.starts_with("execute_on_answer"))
        .cloned()
        .collect();
    todo.sort();
    for (_, value) in todo {
        let (app, arg) = split_app(&crate::post::expand_vars(&value, leg));
        leg.app_log.push((app.clone(), arg.clone(), now_micros()));
        leg.set_var("current_application", app.clone());
        leg.set_var("current_application_data", arg.clone());
        match app.as_str() {
            "record_session" => start_recording(ctx, leg, &arg),
            "set" | "export" => {
                if let Some((k, v)) = arg.split_once('=') {
                    leg.set_var(k.trim_start_matches("nolocal:"), v);
                }
            }
            _ => {}
        }
    }
}

/// `record_session PATH`: the recording starts now (the leg is answered).
pub fn start_recording(ctx: &CallCtx, leg: &mut Leg, path: &str) {
    let path = path.split_whitespace().next().unwrap_or("").to_string();
    if path.is_empty() {
        return;
    }
    leg.recording = Some((path.clone(), now_micros()));
    let mut ev = ctx.shared.new_event(
        "RECORD_START",
        "switch_ivr_async.c",
        "record_callback",
        1311,
    );
    leg.append_data(&mut ev, "RECORD_START");
    ev.push("Record-File-Path", path);
    ctx.shared.fire(ev);
}

/// At hangup: the recording's variables and RECORD_STOP; the file is kept for uploads.
pub fn stop_recording(ctx: &CallCtx, leg: &mut Leg) {
    let Some((path, started)) = leg.recording.take() else {
        return;
    };
    let rate = leg
        .var("record_sample_rate")
        .and_then(|r| r.parse::<u32>().ok())
        .unwrap_or(8000);
    let stereo = leg.var("RECORD_STEREO").is_some_and(truthy);
    let ms = now_micros().saturating_sub(started) / 1000;
    let rec = Recorded {
        rate,
        channels: if stereo { 2 } else { 1 },
        samples: u64::from(rate) * ms / 1000,
    };
    leg.set_var("record_file_size", rec.file_size().to_string());
    leg.set_var("record_samples", rec.samples.to_string());
    leg.set_var("record_seconds", (ms / 1000).to_string());
    leg.set_var("record_ms", ms.to_string());
    leg.set_var("record_completion_cause", "success-silence");
    let mut ev = ctx
        .shared
        .new_event("RECORD_STOP", "switch_ivr_async.c", "record_callback", 1425);
    leg.append_data(&mut ev, "RECORD_STOP");
    ev.push("Record-File-Path", path.clone());
    ev.push("Record-Completion-Cause", "success-silence");
    ctx.shared.fire(ev);
    ctx.shared.save_recording(&path, rec);
}

/// The `api_hangup_hook`'s API event (the command itself is carried out by `post`).
pub fn hangup_hook(ctx: &CallCtx, leg: &Leg) {
    let Some(hook) = leg.var("api_hangup_hook") else {
        return;
    };
    let hook = crate::post::expand_vars(hook, leg);
    let (cmd, arg) = hook.trim().split_once(' ').unwrap_or((hook.trim(), ""));
    let mut ev = Event::default();
    for (k, v) in &leg.vars {
        ev.push(k.clone(), v.clone());
    }
    leg.append_data(&mut ev, "API");
    ev.push("API-Command", cmd);
    ev.push("API-Command-Argument", arg);
    ctx.shared.fire(ev);
}

/// `playback FILE`: PLAYBACK_START, the tone's length (`tone_stream://%(on,off,...);loops=N`;
/// other files play for no time), PLAYBACK_STOP. Returns the playing time in ms.
pub fn playback_ms(arg: &str) -> u64 {
    let Some(spec) = arg.trim().strip_prefix("tone_stream://") else {
        return 0;
    };
    let loops = spec
        .split(';')
        .find_map(|p| p.strip_prefix("loops="))
        .and_then(|n| n.parse::<i64>().ok())
        .unwrap_or(1)
        .clamp(1, 100) as u64;
    let mut per_loop = 0;
    let mut rest = spec;
    while let Some(i) = rest.find("%(") {
        let inner = &rest[i + 2..];
        let end = inner.find(')').unwrap_or(inner.len());
        let nums: Vec<u64> = inner[..end]
            .split(',')
            .take(2)
            .filter_map(|n| n.trim().parse().ok())
            .collect();
        per_loop += nums.iter().sum::<u64>();
        rest = &inner[end..];
    }
    per_loop * loops
}

/// Fires PLAYBACK_START or PLAYBACK_STOP for `file`.
pub fn playback_event(ctx: &CallCtx, leg: &Leg, name: &str, file: &str) {
    let mut ev = ctx
        .shared
        .new_event(name, "switch_ivr_play_say.c", "switch_ivr_play_file", 1395);
    leg.append_data(&mut ev, name);
    ev.push("Playback-File-Path", file);
    ctx.shared.fire(ev);
}

/// FreeSWITCH's switch_true.
pub fn truthy(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "true" | "yes" | "on" | "1" | "enabled" | "active" | "allow"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_forms() {
        assert_eq!(
            split_app("record_session:/r/a.wav"),
            ("record_session".into(), "/r/a.wav".into())
        );
        assert_eq!(
            split_app("set:api_hangup_hook=system curl x"),
            ("set".into(), "api_hangup_hook=system curl x".into())
        );
        assert_eq!(split_app("record_session::/r/a.wav").1, "/r/a.wav");
        assert_eq!(split_app("record_session /r/a.wav").1, "/r/a.wav");
    }

    #[test]
    fn tone_lengths() {
        assert_eq!(playback_ms("tone_stream://%(350,350,450);loops=4"), 2800);
        assert_eq!(playback_ms("/sounds/x.wav"), 0);
    }

    #[test]
    fn stereo_six_seconds_is_the_captured_size() {
        let r = Recorded {
            rate: 8000,
            channels: 2,
            samples: 48000,
        };
        assert_eq!(r.file_size(), 192_044);
    }
}
