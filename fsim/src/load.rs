//! Load generation for benchmarks: keeps N calls in flight (each a full originate with its
//! event sequence and CDR) and fires extra events at a fixed rate, so an ESL client can be
//! measured under a known, reproducible stream.

use crate::call::dial::{DialString, LegSpec, Originate};
use crate::state::Shared;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What to generate.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// Calls kept in flight at all times.
    pub concurrent_calls: usize,
    /// Extra `CUSTOM fsim::load` events per second, on top of call events.
    pub events_per_sec: u64,
    /// Gateway the generated calls go through; `loopback/` endpoints when unset.
    pub gateway: Option<String>,
}

/// Runs until the process ends.
pub async fn run(shared: Arc<Shared>, spec: LoadSpec) {
    let counter = Arc::new(AtomicU64::new(0));
    for worker in 0..spec.concurrent_calls {
        let shared = shared.clone();
        let gw = spec.gateway.clone();
        let counter = counter.clone();
        tokio::spawn(async move {
            loop {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let number = format!("1{:010}", (n * 7_919 + worker as u64) % 10_000_000_000);
                let endpoint = match &gw {
                    Some(g) => format!("sofia/gateway/{g}/{number}"),
                    None => format!("loopback/{number}"),
                };
                let o = Originate {
                    dial: DialString {
                        vars: vec![("fsim_load".into(), "true".into())],
                        groups: vec![vec![LegSpec {
                            vars: vec![],
                            endpoint,
                        }]],
                    },
                    apps: vec![("park".into(), String::new())],
                    ..Originate::default()
                };
                let reply = crate::call::originate(shared.clone(), o).await;
                if let Some(uuid) = reply.strip_prefix("+OK ").map(str::trim) {
                    while shared.channels().iter().any(|c| c.leg.uuid == uuid) {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                } else {
                    // A failed call still took its ring time; avoid a hot loop on instant failures.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        });
    }
    if spec.events_per_sec > 0 {
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        let mut owed = 0u64;
        let mut seq = 0u64;
        loop {
            tick.tick().await;
            owed += spec.events_per_sec;
            while owed >= 100 {
                owed -= 100;
                seq += 1;
                let mut ev = shared.new_custom("fsim::load", "load.rs", "run", 0);
                ev.push("Load-Sequence", seq.to_string());
                shared.fire(ev);
            }
        }
    }
}
