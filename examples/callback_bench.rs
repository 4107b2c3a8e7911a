//! Click-to-call throughput through the whole path: HTTP, validation, routing, Postgres
//! (call row, legs, daily-limit counters) and `bgapi originate` to fsim over ESL, with the
//! call lifecycle consuming fsim's channel events at the same time.
//!
//! Run: `cargo run --release --example callback_bench [-- SECONDS CONCURRENCY]` (defaults 10
//! and 32), or through `bench/run callback`. Needs Postgres at 127.0.0.1:5432 (or CALLPLANE_TEST_PG); uses a scratch database it
//! creates and drops. Prints accepted calls per second and request latency p50/p90/p99.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use callplane::config::{Config, DbUrl};
use serde_json::json;

#[tokio::main]
async fn main() {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<u64>().expect("a number"));
    let secs = args.next().unwrap_or(10);
    let concurrency = args.next().unwrap_or(32) as usize;

    // With FSIM_ESL set (bench/run), the switch is an fsim process of its own, started with
    // bench/fsim-callback.toml, so CPU use can be told apart per process; otherwise in-process.
    let external = std::env::var("FSIM_ESL").ok();
    let sim = match &external {
        Some(_) => None,
        None => Some(start_sim().await),
    };
    let esl_addr = external.unwrap_or_else(|| sim.as_ref().expect("in-process").addr().to_string());

    let base = std::env::var("CALLPLANE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let db = format!("callplane_bench_{}", uuid::Uuid::new_v4().simple());
    let mut config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: DbUrl::new(format!("{base}/{db}")),
        ..Config::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    config.public_url = Some(format!("http://{addr}"));
    config.esl.nodes = vec![esl_addr];
    config.database.max_connections = 20;
    let url = config.database_url.expose().to_string();
    callplane::store::create_database_if_missing(&url)
        .await
        .unwrap();
    let pool = callplane::store::connect(&url, &config.database)
        .await
        .unwrap();
    callplane::store::migrate(&pool).await.unwrap();
    let app = callplane::app::build(config, pool.clone()).await.unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(listener, async {
        let _ = stop_rx.await;
    }));

    let client = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        client
            .post(format!("http://{addr}{path}"))
            .json(&body)
            .send()
    };
    post("/v1/extension/create", json!({"extension": "1001"}))
        .await
        .unwrap();
    post(
        "/v1/gateway/create",
        json!({"name": "carrier-a", "realm": "192.0.2.1", "caller_id": "057188880000"}),
    )
    .await
    .unwrap();
    loop {
        let ready: serde_json::Value = client
            .get(format!("http://{addr}/readyz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if ready["esl"][0]["state"] == "connected" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, ok, failed, next) = (client.clone(), ok.clone(), failed.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let callee = format!("139{:08}", n % 100_000_000);
                let t = Instant::now();
                let res = client
                    .post(format!("http://{addr}/v1/call/callback"))
                    .json(&json!({"caller": "1001", "callee": callee}))
                    .send()
                    .await;
                let elapsed = t.elapsed();
                match res {
                    Ok(r) if r.status().is_success() => {
                        ok.fetch_add(1, Ordering::Relaxed);
                        latencies.push(elapsed);
                    }
                    Ok(r) => {
                        if failed.fetch_add(1, Ordering::Relaxed) < 3 {
                            eprintln!(
                                "non-2xx: {} {}",
                                r.status(),
                                r.text().await.unwrap_or_default()
                            );
                        }
                    }
                    Err(e) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        eprintln!("request error: {e}");
                    }
                }
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let took = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "click-to-call through HTTP + routing + Postgres + bgapi to fsim ({concurrency} concurrent clients, {secs} s):"
    );
    println!(
        "  accepted calls   {:>8}  ({:.0} calls/s)",
        ok.load(Ordering::Relaxed),
        ok.load(Ordering::Relaxed) as f64 / took
    );
    println!("  failed requests  {:>8}", failed.load(Ordering::Relaxed));
    println!(
        "RESULT {:.0} {:.2} {:.2}",
        ok.load(Ordering::Relaxed) as f64 / took,
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3
    );
    println!(
        "  latency          p50 {:.2} ms   p90 {:.2} ms   p99 {:.2} ms",
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.90).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3
    );

    let _ = stop_tx.send(());
    let _ = server.await;
    pool.close().await;
    drop_database(&base, &db).await;
}

async fn start_sim() -> fsim::Sim {
    let sim = fsim::Sim::start_local(fsim::SimConfig {
        heartbeat_secs: 0,
        ..Default::default()
    })
    .await
    .unwrap();
    sim.register_extension("1001");
    sim.add_gateway(fsim::GatewayConfig {
        name: "carrier-a".into(),
        state: "NOREG".into(),
        ..Default::default()
    });
    sim.set_default_outcome(fsim::OutcomeRule {
        ring_ms: 20,
        talk_ms: 100,
        ..Default::default()
    });
    sim.set_cdr_url(None);
    sim
}

async fn drop_database(base: &str, db: &str) {
    use sqlx::Connection;
    if let Ok(mut c) = sqlx::PgConnection::connect(&format!("{base}/postgres")).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"
        )))
        .execute(&mut c)
        .await;
    }
}
