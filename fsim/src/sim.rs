//! The `Sim` handle: starts a simulated FreeSWITCH on a TCP address and lets tests and the CLI
//! change it while it runs (register extensions, move gateways between states, script
//! outcomes, fire events, read the command log, restart or stop it).

use crate::call::leg::Leg;
use crate::config::{GatewayConfig, OutcomeRule, RegistrationConfig, SimConfig};
use crate::event::Event;
use crate::state::{Gateway, Shared, new_registration};
use crate::text::now_micros;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// A running simulator. Dropping it stops it.
pub struct Sim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl Sim {
    /// Binds `listen` (e.g. `127.0.0.1:0`) and starts serving ESL and heartbeats.
    pub async fn start(cfg: SimConfig, listen: &str) -> std::io::Result<Sim> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let heartbeat = cfg.heartbeat_secs;
        let shared = Shared::new(cfg);
        let (stop, stop_rx) = watch::channel(false);
        tokio::spawn(crate::server::serve(
            listener,
            shared.clone(),
            stop_rx.clone(),
        ));
        if heartbeat > 0 {
            tokio::spawn(heartbeats(
                shared.clone(),
                Duration::from_secs(heartbeat),
                stop_rx,
            ));
        }
        Ok(Sim { shared, addr, stop })
    }

    /// Starts on `127.0.0.1:0`, the usual choice in tests.
    pub async fn start_local(cfg: SimConfig) -> std::io::Result<Sim> {
        Sim::start(cfg, "127.0.0.1:0").await
    }

    /// Waits up to `timeout` for a received command line starting with `prefix`; returns it.
    pub async fn wait_for_command(&self, prefix: &str, timeout: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(c) = self
                .shared
                .commands()
                .into_iter()
                .find(|c| c.starts_with(prefix))
            {
                return Some(c);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The bound address (the real port when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Internal state, for the load generator.
    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// Every command line received on any connection, in order (`auth` lines included).
    pub fn commands_received(&self) -> Vec<String> {
        self.shared.commands()
    }

    /// Registers an extension with defaults and fires `CUSTOM sofia::register`.
    pub fn register_extension(&self, user: &str) {
        self.register(RegistrationConfig {
            user: user.into(),
            ..RegistrationConfig::default()
        });
    }

    /// Adds or replaces a registration and fires `CUSTOM sofia::register`.
    pub fn register(&self, reg: RegistrationConfig) {
        let row = new_registration(reg.clone());
        let realm = {
            let mut w = self.shared.world();
            w.registrations.retain(|r| r.cfg.user != reg.user);
            w.registrations.push(row.clone());
            reg.realm.clone().unwrap_or_else(|| w.cfg.ipv4.clone())
        };
        let mut ev = self.shared.new_custom(
            "sofia::register",
            "sofia_reg.c",
            "sofia_reg_handle_register_token",
            2007,
        );
        ev.push("profile-name", reg.profile.clone());
        ev.push("from-user", reg.user.clone());
        ev.push("from-host", realm.clone());
        ev.push("presence-hosts", realm.clone());
        ev.push(
            "contact",
            format!(
                "\"{}\" <sip:{}@{}:{}>",
                reg.user, reg.user, reg.network_ip, reg.network_port
            ),
        );
        ev.push("call-id", row.call_id);
        ev.push("rpid", "unknown");
        ev.push(
            "status",
            format!("Registered({})", reg.network_proto.to_ascii_uppercase()),
        );
        ev.push("expires", reg.expires_in.to_string());
        ev.push("to-user", reg.user.clone());
        ev.push("to-host", realm.clone());
        ev.push("network-ip", reg.network_ip.clone());
        ev.push("network-port", reg.network_port.to_string());
        ev.push("username", reg.user.clone());
        ev.push("realm", realm);
        ev.push("user-agent", reg.user_agent);
        self.shared.fire(ev);
    }

    /// Removes a registration and fires `CUSTOM sofia::unregister`. False if it was not there.
    pub fn unregister_extension(&self, user: &str) -> bool {
        let removed = {
            let mut w = self.shared.world();
            let before = w.registrations.len();
            w.registrations.retain(|r| r.cfg.user != user);
            before != w.registrations.len()
        };
        if removed {
            let mut ev = self.shared.new_custom(
                "sofia::unregister",
                "sofia_reg.c",
                "sofia_reg_handle_register_token",
                1845,
            );
            ev.push("profile-name", "internal");
            ev.push("from-user", user);
            ev.push("username", user);
            self.shared.fire(ev);
        }
        removed
    }

    /// Adds (or replaces) a gateway.
    pub fn add_gateway(&self, cfg: GatewayConfig) {
        let mut w = self.shared.world();
        w.gateways.retain(|g| g.cfg.name != cfg.name);
        w.gateways.push(Gateway {
            cfg,
            calls_out: 0,
            failed_out: 0,
            up_since_us: now_micros(),
        });
    }

    /// Moves a gateway to a registration state (REGED, NOREG, FAILED, FAIL_WAIT, TRYING...)
    /// and fires `CUSTOM sofia::gateway_state`. False if there is no such gateway.
    pub fn set_gateway_state(&self, name: &str, state: &str) -> bool {
        let status = {
            let mut w = self.shared.world();
            let Some(g) = w.gateways.iter_mut().find(|g| g.cfg.name == name) else {
                return false;
            };
            g.cfg.state = state.to_ascii_uppercase();
            g.cfg.status.clone()
        };
        let mut ev = self.shared.new_custom(
            "sofia::gateway_state",
            "sofia_reg.c",
            "sofia_reg_fire_custom_gateway_state_event",
            137,
        );
        ev.push("Gateway", name);
        ev.push("State", state.to_ascii_uppercase());
        ev.push("Ping-Status", status);
        self.shared.fire(ev);
        true
    }

    /// Sets a gateway's ping status (`UP` / `DOWN`). False if there is no such gateway.
    pub fn set_gateway_status(&self, name: &str, up: bool) -> bool {
        let mut w = self.shared.world();
        let Some(g) = w.gateways.iter_mut().find(|g| g.cfg.name == name) else {
            return false;
        };
        g.cfg.status = if up { "UP" } else { "DOWN" }.into();
        if up {
            g.up_since_us = now_micros();
        }
        true
    }

    /// Changes the hostname reported by events and APIs.
    pub fn set_hostname(&self, host: &str) {
        self.shared.world().cfg.hostname = host.into();
    }

    /// Scripts the outcome for an exact number or a prefix (set `number` or `prefix` in the
    /// rule). Newer rules for the same number/prefix replace older ones.
    pub fn script(&self, rule: OutcomeRule) {
        let mut w = self.shared.world();
        w.cfg
            .outcomes
            .retain(|r| !(r.number == rule.number && r.prefix == rule.prefix));
        w.cfg.outcomes.insert(0, rule);
    }

    /// Sets the outcome for unscripted numbers.
    pub fn set_default_outcome(&self, rule: OutcomeRule) {
        self.shared.world().cfg.default_outcome = rule;
    }

    /// Sets where CDRs are posted.
    pub fn set_cdr_url(&self, url: Option<String>) {
        self.shared.world().cfg.cdr.url = url;
    }

    /// Snapshot of live channels.
    pub fn channels(&self) -> Vec<Leg> {
        self.shared
            .channels()
            .iter()
            .map(|c| c.leg.clone())
            .collect()
    }

    /// Fires an event with the core headers filled in, e.g. a custom event for a test.
    pub fn fire_event(&self, name: &str, headers: &[(&str, &str)], body: Option<&str>) {
        let mut ev: Event = self.shared.new_event(name, "fsim", "fire_event", 0);
        for (k, v) in headers {
            ev.push(*k, *v);
        }
        ev.body = body.map(str::to_string);
        self.shared.fire(ev);
    }

    /// Drops every connection and channel and takes a new Core-UUID; keeps listening.
    pub fn restart(&self) {
        self.shared.restart();
    }

    /// Stops listening and drops every connection.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
        self.shared.restart();
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Fires HEARTBEAT like switch_core.c's send_heartbeat.
async fn heartbeats(shared: Arc<Shared>, every: Duration, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let (version, started, since, peak) = {
            let w = shared.world();
            (
                w.cfg.version.clone(),
                w.started_us,
                w.sessions_since_start,
                w.peak_sessions,
            )
        };
        let live = shared.channels().len();
        let up_us = now_micros().saturating_sub(started);
        let s = up_us / 1_000_000;
        let mut ev = shared.new_event("HEARTBEAT", "switch_core.c", "send_heartbeat", 74);
        ev.push("Event-Info", "System Ready");
        ev.push(
            "Up-Time",
            format!(
                "{} years, {} days, {} hours, {} minutes, {} seconds, {} milliseconds, {} microseconds",
                s / 31_536_000,
                s % 31_536_000 / 86_400,
                s % 86_400 / 3600,
                s % 3600 / 60,
                s % 60,
                up_us / 1000 % 1000,
                up_us % 1000
            ),
        );
        ev.push("FreeSWITCH-Version", version);
        ev.push("Uptime-msec", (up_us / 1000).to_string());
        ev.push("Session-Count", live.to_string());
        ev.push("Max-Sessions", "1000");
        ev.push("Session-Per-Sec", "30");
        ev.push("Session-Per-Sec-Last", "0");
        ev.push("Session-Per-Sec-Max", "0");
        ev.push("Session-Per-Sec-FiveMin", "0");
        ev.push("Session-Since-Startup", since.to_string());
        ev.push("Session-Peak-Max", peak.to_string());
        ev.push("Session-Peak-FiveMin", peak.to_string());
        ev.push("Idle-CPU", "99.000000");
        shared.fire(ev);
    }
}
