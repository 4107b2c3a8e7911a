//! callplane's ESL layer under the workload `bench/esl/` gives to `modesl` and `greenswitch`,
//! against an fsim started by `bench/run`, over one connection:
//! * `bgapi ADDR N`: N sequential `bgapi status` round trips (command, `+OK Job-UUID` reply and
//!   the matching BACKGROUND_JOB event) with one job in flight;
//! * `events ADDR SECS`: subscribes to `CUSTOM fsim::load` (fsim started with
//!   `--load-events-per-sec`) and counts the events parsed and delivered to a subscriber during
//!   SECS seconds, after one second of warm-up.
//!
//! Prints one line `RESULT <per second>` for `bench/run` to read.

use std::time::{Duration, Instant};

use callplane::esl::{ConnectOptions, EventFormat, NodeEvent, connect};
use tokio::sync::broadcast;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, addr, n] = args.as_slice() else {
        eprintln!("usage: esl_client_bench bgapi|events HOST:PORT N|SECS");
        std::process::exit(2);
    };
    let n: u64 = n.parse().expect("a number");
    let (tx, _) = broadcast::channel::<NodeEvent>(64 * 1024);
    let mut rx = tx.subscribe();
    let (esl, _conn) = connect(addr, "ClueCon", ConnectOptions::new(addr.as_str(), tx))
        .await
        .expect("connects to fsim");
    match mode.as_str() {
        "bgapi" => {
            esl.subscribe(EventFormat::Plain, &["BACKGROUND_JOB"])
                .await
                .expect("subscribed");
            let started = Instant::now();
            for _ in 0..n {
                let job = esl.bgapi("status").await.expect("accepted");
                let done = job.result().await.expect("result");
                assert!(done.body.starts_with("UP"), "{}", done.body);
            }
            println!("RESULT {:.0}", n as f64 / started.elapsed().as_secs_f64());
        }
        "events" => {
            esl.subscribe(EventFormat::Plain, &["CUSTOM", "fsim::load"])
                .await
                .expect("subscribed");
            let warm_up = Instant::now() + Duration::from_secs(1);
            let end = warm_up + Duration::from_secs(n);
            let mut counted = 0u64;
            loop {
                let now = Instant::now();
                if now >= end {
                    break;
                }
                match tokio::time::timeout(end - now, rx.recv()).await {
                    Ok(Ok((_, ev))) => {
                        if ev.subclass() == Some("fsim::load") && Instant::now() >= warm_up {
                            counted += 1;
                        }
                    }
                    // Parsed but not delivered to this subscriber in time: not counted.
                    Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
                    Ok(Err(e)) => panic!("{e}"),
                    Err(_) => break,
                }
            }
            println!("RESULT {:.0}", counted as f64 / n as f64);
        }
        other => panic!("unknown mode {other}"),
    }
}
