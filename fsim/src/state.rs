//! The simulated switch's shared state: identity (hostname, Core-UUID, uptime), sofia profiles
//! and gateways, registrations, live channels, the command log, and the event bus every ESL
//! connection listens on. One `Shared` per `Sim`, behind an `Arc`.

use crate::call::leg::Leg;
use crate::config::{GatewayConfig, OutcomeRule, RegistrationConfig, SimConfig};
use crate::event::Event;
use crate::text::{gmt_stamp, local_stamp, now_micros};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{broadcast, mpsc, watch};

/// Capacity of the event bus; a listener that falls further behind loses events, as a
/// FreeSWITCH listener whose queue is full does.
const BUS_CAPACITY: usize = 65_536;

/// Sends `(uuid, hangup cause)` to the task driving a call.
pub type Killer = mpsc::UnboundedSender<(String, String)>;

/// The pseudo-cause sent to call tasks when the switch restarts: they stop without events.
pub const RESTART: &str = "__restart";

/// A gateway plus its call counters.
#[derive(Debug, Clone)]
pub struct Gateway {
    /// Configuration, including the current `state` and `status`.
    pub cfg: GatewayConfig,
    /// Outbound calls placed through the gateway.
    pub calls_out: u32,
    /// Outbound calls that failed.
    pub failed_out: u32,
    /// When the gateway last went UP (µs).
    pub up_since_us: u64,
}

/// A registration row.
#[derive(Debug, Clone)]
pub struct Registration {
    /// What was registered.
    pub cfg: RegistrationConfig,
    /// Absolute expiry, Unix seconds.
    pub expires_epoch: u64,
    /// Call-ID of the REGISTER (the `token` column).
    pub call_id: String,
}

/// A live channel: the leg as last published and a way to hang it up.
pub struct LiveChannel {
    /// Snapshot of the leg.
    pub leg: Leg,
    /// Sends a hangup cause to the task driving the call.
    pub kill: Option<Killer>,
}

/// Everything configurable that can change at runtime.
pub struct World {
    /// The configuration the sim started from (outcomes, CDR settings, profiles).
    pub cfg: SimConfig,
    /// Gateways by insertion order.
    pub gateways: Vec<Gateway>,
    /// Registrations by insertion order.
    pub registrations: Vec<Registration>,
    /// Core-UUID; a restart changes it, as a FreeSWITCH restart does.
    pub core_uuid: String,
    /// Start of uptime (µs).
    pub started_us: u64,
    /// Sessions created since start (`status`).
    pub sessions_since_start: u64,
    /// Highest concurrent session count (`status`).
    pub peak_sessions: u64,
}

/// Shared state of one simulator.
pub struct Shared {
    world: Mutex<World>,
    channels: Mutex<Vec<LiveChannel>>,
    commands: Mutex<Vec<String>>,
    /// Every fired event.
    pub bus: broadcast::Sender<Arc<Event>>,
    seq: AtomicU64,
    /// Bumped to drop every ESL connection at once.
    pub epoch: watch::Sender<u64>,
    /// Recordings written so far, by path (what an upload hook can send).
    recordings: Mutex<std::collections::HashMap<String, crate::call::media::Recorded>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock leaves plain data behind; keep serving.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// Builds the state from a configuration.
    pub fn new(cfg: SimConfig) -> Arc<Shared> {
        let now = now_micros();
        let gateways = cfg
            .gateways
            .iter()
            .map(|g| Gateway {
                cfg: g.clone(),
                calls_out: 0,
                failed_out: 0,
                up_since_us: now,
            })
            .collect();
        let registrations = cfg
            .registrations
            .iter()
            .map(|r| new_registration(r.clone()))
            .collect();
        let world = World {
            cfg,
            gateways,
            registrations,
            core_uuid: uuid::Uuid::new_v4().to_string(),
            started_us: now,
            sessions_since_start: 0,
            peak_sessions: 0,
        };
        let (bus, _) = broadcast::channel(BUS_CAPACITY);
        Arc::new(Shared {
            world: Mutex::new(world),
            channels: Mutex::new(Vec::new()),
            commands: Mutex::new(Vec::new()),
            bus,
            seq: AtomicU64::new(1),
            epoch: watch::Sender::new(0),
            recordings: Mutex::new(std::collections::HashMap::new()),
        })
    }

    /// Locks the runtime-configurable world.
    pub fn world(&self) -> MutexGuard<'_, World> {
        lock(&self.world)
    }

    /// Locks the live channel list.
    pub fn channels(&self) -> MutexGuard<'_, Vec<LiveChannel>> {
        lock(&self.channels)
    }

    /// Records one command line received on any ESL connection.
    pub fn record_command(&self, line: &str) {
        lock(&self.commands).push(line.to_string());
    }

    /// Every command line received so far, in arrival order.
    pub fn commands(&self) -> Vec<String> {
        lock(&self.commands).clone()
    }

    /// An event carrying the core headers FreeSWITCH stamps on every event, in its order.
    pub fn new_event(&self, name: &str, file: &str, func: &str, line: u32) -> Event {
        let (host, core, ip) = {
            let w = self.world();
            (
                w.cfg.hostname.clone(),
                w.core_uuid.clone(),
                w.cfg.ipv4.clone(),
            )
        };
        let now = now_micros();
        let mut ev = Event::default();
        ev.push("Event-Name", name);
        ev.push("Core-UUID", core);
        ev.push("FreeSWITCH-Hostname", host.clone());
        ev.push("FreeSWITCH-Switchname", host);
        ev.push("FreeSWITCH-IPv4", ip);
        ev.push("FreeSWITCH-IPv6", "::1");
        ev.push("Event-Date-Local", local_stamp(now));
        ev.push("Event-Date-GMT", gmt_stamp(now));
        ev.push("Event-Date-Timestamp", now.to_string());
        ev.push("Event-Calling-File", file);
        ev.push("Event-Calling-Function", func);
        ev.push("Event-Calling-Line-Number", line.to_string());
        ev.push(
            "Event-Sequence",
            self.seq.fetch_add(1, Ordering::Relaxed).to_string(),
        );
        ev
    }

    /// A CUSTOM event: `Event-Subclass` comes first, as in the sofia::register capture.
    pub fn new_custom(&self, subclass: &str, file: &str, func: &str, line: u32) -> Event {
        let mut ev = self.new_event("CUSTOM", file, func, line);
        ev.headers
            .insert(0, ("Event-Subclass".into(), subclass.into()));
        ev
    }

    /// Delivers an event to every subscribed connection.
    pub fn fire(&self, ev: Event) {
        // No receivers is normal (nobody connected yet).
        let _ = self.bus.send(Arc::new(ev));
    }

    /// Keeps a finished recording for later uploads.
    pub fn save_recording(&self, path: &str, rec: crate::call::media::Recorded) {
        lock(&self.recordings).insert(path.to_string(), rec);
    }

    /// A recording written at `path`, if any leg wrote one.
    pub fn recording(&self, path: &str) -> Option<crate::call::media::Recorded> {
        lock(&self.recordings).get(path).copied()
    }

    /// Adds or refreshes a channel snapshot.
    pub fn upsert_channel(&self, leg: &Leg, kill: Option<Killer>) {
        let mut chans = self.channels();
        if let Some(c) = chans.iter_mut().find(|c| c.leg.uuid == leg.uuid) {
            c.leg = leg.clone();
            if kill.is_some() {
                c.kill = kill;
            }
            return;
        }
        chans.push(LiveChannel {
            leg: leg.clone(),
            kill,
        });
        let live = chans.len() as u64;
        drop(chans);
        let mut w = self.world();
        w.sessions_since_start += 1;
        w.peak_sessions = w.peak_sessions.max(live);
    }

    /// Forgets a channel once it is destroyed.
    pub fn remove_channel(&self, uuid: &str) {
        self.channels().retain(|c| c.leg.uuid != uuid);
    }

    /// Asks the task driving a channel to hang up with `cause`. False if no such channel.
    pub fn kill_channel(&self, uuid: &str, cause: &str) -> bool {
        let chans = self.channels();
        match chans.iter().find(|c| c.leg.uuid == uuid) {
            Some(c) => {
                if let Some(k) = &c.kill {
                    let _ = k.send((uuid.to_string(), cause.to_string()));
                }
                true
            }
            None => false,
        }
    }

    /// The scripted outcome for a destination number: exact match, then longest prefix.
    pub fn outcome_for(&self, number: &str) -> OutcomeRule {
        let w = self.world();
        if let Some(r) = w
            .cfg
            .outcomes
            .iter()
            .find(|r| r.number.as_deref() == Some(number))
        {
            return r.clone();
        }
        w.cfg
            .outcomes
            .iter()
            .filter(|r| r.prefix.as_deref().is_some_and(|p| number.starts_with(p)))
            .max_by_key(|r| r.prefix.as_ref().map_or(0, String::len))
            .cloned()
            .unwrap_or_else(|| w.cfg.default_outcome.clone())
    }

    /// Drops every connection and live channel, and takes a new Core-UUID: what a client sees
    /// when FreeSWITCH restarts.
    pub fn restart(&self) {
        {
            let mut w = self.world();
            w.core_uuid = uuid::Uuid::new_v4().to_string();
            w.started_us = now_micros();
            w.sessions_since_start = 0;
            w.peak_sessions = 0;
        }
        for c in self.channels().drain(..) {
            if let Some(k) = c.kill {
                let _ = k.send((c.leg.uuid.clone(), RESTART.into()));
            }
        }
        self.epoch.send_modify(|e| *e += 1);
    }
}

/// A registration row with a fresh Call-ID and absolute expiry.
pub fn new_registration(cfg: RegistrationConfig) -> Registration {
    let expires_epoch = now_micros() / 1_000_000 + cfg.expires_in;
    Registration {
        cfg,
        expires_epoch,
        call_id: uuid::Uuid::new_v4().simple().to_string(),
    }
}
