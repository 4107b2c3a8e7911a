//! The `fsim` command: parse flags, load the state file, start the simulator, and run until
//! interrupted (optionally generating load).

use clap::Parser;
use fsim::load::{LoadSpec, run};
use fsim::{OutcomeRule, Sim, SimConfig};
use std::path::PathBuf;

/// A FreeSWITCH simulator: an ESL server (inbound mode) with scripted calls, status commands
/// and the CDR / recording HTTP posts FreeSWITCH makes.
#[derive(Parser, Debug)]
#[command(name = "fsim", version)]
struct Cli {
    /// Address the Event Socket listens on.
    #[arg(long, default_value = "127.0.0.1:8021")]
    listen: String,
    /// ESL password (overrides the state file).
    #[arg(long)]
    password: Option<String>,
    /// State file (TOML, or JSON when it ends in .json): hostname, profiles, gateways,
    /// registrations, outcomes, cdr.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Where mod_xml_cdr posts CDRs (overrides the state file).
    #[arg(long)]
    cdr_url: Option<String>,
    /// `user:pass` for the CDR post (HTTP Basic).
    #[arg(long)]
    cdr_cred: Option<String>,
    /// CDR post retries after the first try.
    #[arg(long)]
    cdr_retries: Option<u32>,
    /// Hostname reported in events and APIs.
    #[arg(long)]
    hostname: Option<String>,
    /// Seconds between HEARTBEAT events (0 disables).
    #[arg(long)]
    heartbeat: Option<u64>,
    /// Default ring time before answer, in ms, for unscripted numbers.
    #[arg(long)]
    ring_ms: Option<u64>,
    /// Default talk time after answer, in ms (0: until killed), for unscripted numbers.
    #[arg(long)]
    talk_ms: Option<u64>,
    /// Load mode: calls kept in flight.
    #[arg(long, default_value_t = 0)]
    load_calls: usize,
    /// Load mode: extra events per second.
    #[arg(long, default_value_t = 0)]
    load_events_per_sec: u64,
    /// Load mode: gateway the generated calls use (loopback endpoints if unset).
    #[arg(long)]
    load_gateway: Option<String>,
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let mut cfg = match &cli.state {
        Some(p) => SimConfig::load(p).unwrap_or_else(|e| {
            eprintln!("fsim: {e}");
            std::process::exit(2);
        }),
        None => SimConfig::default(),
    };
    if let Some(p) = cli.password {
        cfg.password = p;
    }
    if let Some(u) = cli.cdr_url {
        cfg.cdr.url = Some(u);
    }
    if let Some(c) = cli.cdr_cred {
        cfg.cdr.cred = Some(c);
    }
    if let Some(r) = cli.cdr_retries {
        cfg.cdr.retries = r;
    }
    if let Some(h) = cli.hostname {
        cfg.hostname = h;
    }
    if let Some(h) = cli.heartbeat {
        cfg.heartbeat_secs = h;
    }
    let d: &mut OutcomeRule = &mut cfg.default_outcome;
    if let Some(r) = cli.ring_ms {
        d.ring_ms = r;
    }
    if let Some(t) = cli.talk_ms {
        d.talk_ms = t;
    }
    let sim = match Sim::start(cfg, &cli.listen).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fsim: cannot listen on {}: {e}", cli.listen);
            std::process::exit(1);
        }
    };
    eprintln!("fsim: event socket listening on {}", sim.addr());
    if cli.load_calls > 0 || cli.load_events_per_sec > 0 {
        eprintln!(
            "fsim: load mode: {} calls in flight, {} extra events/s",
            cli.load_calls, cli.load_events_per_sec
        );
        let spec = LoadSpec {
            concurrent_calls: cli.load_calls,
            events_per_sec: cli.load_events_per_sec,
            gateway: cli.load_gateway,
        };
        tokio::spawn(run(sim.shared(), spec));
    }
    // Runs until killed; tokio's signal feature is not needed for that.
    std::future::pending::<()>().await;
}
