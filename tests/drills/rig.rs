//! What the drills share: polling with a bound, a direct pool on a test database, extra
//! replicas on an existing database, a simulated FreeSWITCH with one line and two phones,
//! fast timings for the sweeper and the webhook worker, and small HTTP helpers that work
//! against any instance (in-process or the real binary).

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use callplane::config::{Config, DbUrl, Secret, WebhookConfig};
use fsim::{GatewayConfig, OutcomeRule, Sim, SimConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::pg_base;

/// The server secret of every drill: upload tokens can be computed by the test.
pub const SECRET: &str = "drills-server-secret-0123456789abcdef";
/// A Standard Webhooks signing secret.
pub const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The line every drill routes over.
pub const LINE: &str = "carrier-a";

/// Polls `check` every 25 ms until it yields a value; fails the test after `limit` (a bound
/// against hanging, not a speed goal).
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A pool straight to the test database, bypassing any proxy the app goes through.
pub async fn direct_pool(db_name: &str) -> PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect(&format!("{}/{db_name}", pg_base()))
        .await
        .unwrap()
}

/// Where the test Postgres server listens (from `CALLPLANE_TEST_PG`).
pub fn pg_addr() -> SocketAddr {
    let url = reqwest::Url::parse(&pg_base()).unwrap();
    let host = url.host_str().unwrap_or("127.0.0.1");
    let port = url.port().unwrap_or(5432);
    let host = if host == "localhost" {
        "127.0.0.1"
    } else {
        host
    };
    format!("{host}:{port}").parse().unwrap()
}

/// `url` with its host and port replaced by `addr`.
pub fn via(url: &str, addr: SocketAddr) -> String {
    let mut u = reqwest::Url::parse(url).unwrap();
    u.set_ip_host(addr.ip()).unwrap();
    u.set_port(Some(addr.port())).unwrap();
    u.to_string()
}

/// Fast sweeper and completion waits, the fixed server secret and the simulated node.
pub fn fast_calls(c: &mut Config, esl: SocketAddr) {
    c.secret = Some(Secret::new(SECRET));
    c.esl.nodes = vec![esl.to_string()];
    c.calls.job_timeout_secs = 5;
    c.calls.sweep_interval_ms = 100;
    c.calls.cdr_wait_secs = 1;
    c.calls.recording_wait_secs = 1;
}

/// A compressed retry schedule: 20 ms backoff base, 1 s cap, 20 ms polling. The production
/// schedule is the same function with other numbers (unit-tested in `webhooks::schedule`).
pub fn fast_webhooks(w: &mut WebhookConfig, url: &str) {
    w.url = Some(url.to_string());
    w.secret = Some(Secret::new(WEBHOOK_SECRET));
    w.backoff_base_ms = 20;
    w.backoff_max_secs = 1;
    w.poll_interval_ms = 20;
    w.connect_timeout_ms = 500;
    w.timeout_ms = 2000;
}

/// A simulated FreeSWITCH with phones 1001 and 1002 registered and the line up; calls are
/// answered after 30 ms and last `talk_ms` (0: until killed).
pub async fn start_sim(talk_ms: u64) -> Sim {
    let sim = Sim::start_local(SimConfig {
        heartbeat_secs: 0,
        // Like freeswitch-conf/xml_cdr.conf.xml: the callee legs' CDRs are posted too.
        cdr: fsim::CdrConfig {
            log_b_leg: true,
            ..Default::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap();
    prepare_sim(&sim, talk_ms);
    sim
}

/// Registers the phones and the line on `sim` and sets its default outcome.
pub fn prepare_sim(sim: &Sim, talk_ms: u64) {
    sim.register_extension("1001");
    sim.register_extension("1002");
    sim.set_default_outcome(OutcomeRule {
        ring_ms: 30,
        talk_ms,
        ..OutcomeRule::default()
    });
    sim.add_gateway(GatewayConfig {
        name: LINE.into(),
        state: "NOREG".into(),
        status: "UP".into(),
        ..Default::default()
    });
}

/// An instance's base URL with a shared client.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub client: reqwest::Client,
}

impl Api {
    pub fn at(addr: SocketAddr) -> Api {
        Api {
            base: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .unwrap(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let res = self
            .client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let res = self.client.get(self.url(path)).send().await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// The line (with `extra` fields) and phones 1001 and 1002.
    pub async fn provision(&self, extra: Value) {
        let mut line = json!({"name": LINE, "realm": "203.0.113.7"});
        for (k, v) in extra.as_object().unwrap() {
            line[k] = v.clone();
        }
        let (status, body) = self.post("/v1/gateway/create", line).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        for ext in ["1001", "1002"] {
            let (status, body) = self
                .post(
                    "/v1/extension/create",
                    json!({"extension": ext, "password": "secret-pw-1"}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }

    /// Waits until every FreeSWITCH node shows as connected in `/readyz`.
    pub async fn wait_esl_connected(&self) {
        eventually(
            "the ESL node to be connected",
            Duration::from_secs(15),
            || async {
                let res = self.client.get(self.url("/readyz")).send().await.ok()?;
                let body: Value = res.json().await.ok()?;
                let nodes = body["esl"].as_array()?;
                (!nodes.is_empty() && nodes.iter().all(|n| n["state"] == "connected")).then_some(())
            },
        )
        .await;
    }

    /// Places a click-to-call from phone 1001 to `callee`.
    pub async fn call(&self, callee: &str) -> (StatusCode, Value) {
        self.post(
            "/v1/call/callback",
            json!({"caller": "1001", "callee": callee, "gateways": [LINE]}),
        )
        .await
    }

    /// The call's detail once `done` says yes.
    pub async fn wait_call(&self, uuid: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        eventually(what, Duration::from_secs(20), || async {
            let (_, d) = self.get(&format!("/v1/call/detail?uuid={uuid}")).await;
            done(&d["data"]).then(|| d["data"].clone())
        })
        .await
    }
}

/// Whether a call detail is in a final state.
pub fn ended(d: &Value) -> bool {
    matches!(d["state"].as_str(), Some("completed" | "failed"))
}

/// Another instance of the application on an existing database (a second replica), stopped
/// on drop. The database belongs to the `TestApp` that created it.
pub struct Replica {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Replica {
    pub async fn start(db_name: &str, adjust: impl FnOnce(&mut Config)) -> Replica {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let url = format!("{}/{db_name}", pg_base());
        let mut config = Config {
            listen: addr,
            database_url: DbUrl::new(url.clone()),
            public_url: Some(format!("http://{addr}")),
            ..Config::default()
        };
        adjust(&mut config);
        config.validate().expect("test configuration is valid");
        let pool = callplane::store::connect(&url, &config.database)
            .await
            .unwrap();
        let app = callplane::app::build(config, pool).await.unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.serve(listener, async {
            let _ = rx.await;
        }));
        Replica {
            addr,
            stop: Some(tx),
        }
    }

    pub fn api(&self) -> Api {
        Api::at(self.addr)
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// A directory removed when the test ends.
pub struct Dir(pub std::path::PathBuf);

impl Dir {
    pub fn new() -> Dir {
        let p =
            std::env::temp_dir().join(format!("callplane-drill-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
    pub fn join(&self, p: &str) -> std::path::PathBuf {
        self.0.join(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Sends the application's logs to the test output when `RUST_LOG` is set.
pub fn logs() {
    if let Ok(filter) = std::env::var("RUST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
}
