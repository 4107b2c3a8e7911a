//! ESL client throughput over one connection, against the scripted ESL server the integration
//! tests use and against fsim, the project's FreeSWITCH simulator:
//! * bgapi round trips per second: command, `+OK Job-UUID` reply and the matching
//!   BACKGROUND_JOB event, sequential and with many jobs in flight;
//! * events per second end to end (socket -> framer -> event parser -> broadcast subscriber),
//!   for small events and for a real 15 KB CHANNEL_HANGUP_COMPLETE capture;
//! * events per second for the framer and parser alone, in memory.
//!
//! Run: `cargo run --release --example esl_bench [-- JOBS EVENTS]` (defaults 20000 200000).

#[path = "../tests/esl/server.rs"]
mod server;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use callplane::esl::{ConnectOptions, EslHandle, Event, EventFormat, FrameDecoder, connect};
use tokio::sync::broadcast;

use server::{FakeSwitch, event_frame};

const HANGUP_FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/esl/cgrates_2018_channel_hangup_complete_event_plain_body_matching_json_cdr.txt"
);

#[tokio::main]
async fn main() {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<usize>().expect("a number"));
    let jobs = args.next().unwrap_or(20_000);
    let events = args.next().unwrap_or(200_000);

    let small = event_frame(
        "plain",
        &[
            ("Event-Name", "CHANNEL_PROGRESS"),
            ("Core-UUID", "feef0b51-7fdf-4c4a-878e-aff233752de2"),
            ("FreeSWITCH-Hostname", "bench"),
            ("Unique-ID", "86cfd6e2-dbda-45a3-b59d-f683ec368e8b"),
            ("Channel-Name", "sofia/gateway/carrier/13800000000"),
            ("Event-Date-Local", "2026-11-26 06:00:00"),
        ],
        None,
    );
    let body = std::fs::read(HANGUP_FIXTURE).expect("capture readable");
    let mut large = format!(
        "Content-Length: {}\nContent-Type: text/event-plain\n\n",
        body.len()
    )
    .into_bytes();
    large.extend_from_slice(&body);

    println!("in-memory framer + parser:");
    parse_only("small event", &small, events);
    parse_only("15 KB hangup event", &large, events / 10);

    let switch = FakeSwitch::start("ClueCon", "bench").await;
    let (tx, _) = broadcast::channel(64 * 1024);
    let (esl, _conn) = connect(
        &switch.addr,
        "ClueCon",
        ConnectOptions::new(switch.addr.as_str(), tx.clone()),
    )
    .await
    .expect("connects");
    esl.subscribe(
        EventFormat::Plain,
        &[
            "BACKGROUND_JOB",
            "CHANNEL_PROGRESS",
            "CHANNEL_HANGUP_COMPLETE",
        ],
    )
    .await
    .expect("subscribed");

    println!("over TCP, one connection, scripted server:");
    bgapi_round_trips(&esl, ORIGINATE, jobs / 4, 1).await;
    bgapi_round_trips(&esl, ORIGINATE, jobs, 64).await;
    events_over_tcp("small event", &switch, &tx, &small, events).await;
    events_over_tcp("15 KB hangup event", &switch, &tx, &large, events / 10).await;

    against_fsim(jobs, events).await;
}

const ORIGINATE: &str = "originate user/1000 &park()";

/// The same client against fsim, the project's FreeSWITCH simulator: `bgapi status` round
/// trips (fsim formats a real `status` answer and a BACKGROUND_JOB event each time) and CUSTOM
/// events fired by fsim, URL-encoded as FreeSWITCH sends them.
async fn against_fsim(jobs: usize, events: usize) {
    let cfg = fsim::SimConfig {
        heartbeat_secs: 0,
        ..fsim::SimConfig::default()
    };
    let sim = fsim::Sim::start_local(cfg).await.expect("fsim starts");
    let addr = sim.addr().to_string();
    let (tx, _) = broadcast::channel(64 * 1024);
    let (esl, _conn) = connect(
        &addr,
        "ClueCon",
        ConnectOptions::new(addr.as_str(), tx.clone()),
    )
    .await
    .expect("connects to fsim");
    esl.subscribe(
        EventFormat::Plain,
        &["BACKGROUND_JOB", "CUSTOM", "bench::tick"],
    )
    .await
    .expect("subscribed");
    println!("over TCP, one connection, fsim:");
    bgapi_round_trips(&esl, "status", jobs / 4, 1).await;
    bgapi_round_trips(&esl, "status", jobs, 64).await;

    let mut rx = tx.subscribe();
    let seen = Arc::new(AtomicUsize::new(0));
    let consumer = tokio::spawn({
        let seen = seen.clone();
        async move {
            while seen.load(Ordering::Relaxed) < events {
                match rx.recv().await {
                    Ok((_, ev)) if ev.subclass() == Some("bench::tick") => {
                        seen.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        seen.fetch_add(n as usize, Ordering::Relaxed);
                    }
                    Err(e) => panic!("{e}"),
                }
            }
        }
    });
    let started = Instant::now();
    for sent in 0..events {
        while sent - seen.load(Ordering::Relaxed) > 2_000 {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        sim.fire_event(
            "CUSTOM",
            &[
                ("Event-Subclass", "bench::tick"),
                ("Unique-ID", "86cfd6e2-dbda-45a3-b59d-f683ec368e8b"),
            ],
            None,
        );
    }
    consumer.await.expect("consumer");
    report(
        "CUSTOM events fired by fsim",
        events,
        started.elapsed(),
        "events/s",
    );
}

fn parse_only(label: &str, frame: &[u8], count: usize) {
    let mut wire = Vec::with_capacity(frame.len() * 1000);
    for _ in 0..1000 {
        wire.extend_from_slice(frame);
    }
    let rounds = count.div_ceil(1000);
    let started = Instant::now();
    let mut parsed = 0usize;
    for _ in 0..rounds {
        let mut buf = BytesMut::from(&wire[..]);
        let mut decoder = FrameDecoder::new();
        while let Some(f) = decoder.decode(&mut buf).expect("valid") {
            let ev = Event::parse_plain(f.body.as_deref().expect("body")).expect("event");
            parsed += usize::from(!ev.name().is_empty());
        }
    }
    report(label, parsed, started.elapsed(), "events/s");
}

async fn bgapi_round_trips(esl: &EslHandle, command: &'static str, jobs: usize, in_flight: usize) {
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..in_flight {
        let (esl, next) = (esl.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < jobs {
                let job = esl.bgapi(command).await.expect("accepted");
                let done = job.result().await.expect("result");
                assert!(!done.body.starts_with("-ERR"), "{}", done.body);
            }
        }));
    }
    for w in workers {
        w.await.expect("worker");
    }
    report(
        &format!(
            "bgapi {} round trips, {in_flight} in flight",
            command.split(' ').next().unwrap_or("")
        ),
        jobs,
        started.elapsed(),
        "jobs/s",
    );
}

async fn events_over_tcp(
    label: &str,
    switch: &FakeSwitch,
    tx: &broadcast::Sender<callplane::esl::NodeEvent>,
    frame: &[u8],
    count: usize,
) {
    let mut rx = tx.subscribe();
    let seen = Arc::new(AtomicUsize::new(0));
    let consumer = tokio::spawn({
        let seen = seen.clone();
        async move {
            let mut lost = 0u64;
            while seen.load(Ordering::Relaxed) + (lost as usize) < count {
                match rx.recv().await {
                    Ok(_) => {
                        seen.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => lost += n,
                    Err(e) => panic!("{e}"),
                }
            }
            lost
        }
    });
    let chunk_events = 500;
    let mut chunk = Vec::with_capacity(frame.len() * chunk_events);
    for _ in 0..chunk_events {
        chunk.extend_from_slice(frame);
    }
    let started = Instant::now();
    let mut sent = 0;
    while sent < count {
        // Keep at most a few chunks queued in the server so memory stays flat.
        while sent - seen.load(Ordering::Relaxed) > 4 * chunk_events {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        let n = chunk_events.min(count - sent);
        switch.push_raw(&chunk[..n * frame.len()]);
        sent += n;
    }
    let lost = consumer.await.expect("consumer");
    report(label, count, started.elapsed(), "events/s");
    if lost > 0 {
        println!("    ({lost} events lost to lag)");
    }
}

fn report(label: &str, n: usize, took: Duration, unit: &str) {
    let rate = n as f64 / took.as_secs_f64();
    println!(
        "  {label:<38} {n:>8} in {:>7.3} s  {rate:>12.0} {unit}",
        took.as_secs_f64()
    );
}
