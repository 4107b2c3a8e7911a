//! One scenario's world: a fresh database, callplane (the release binary's code, started as
//! `callplane serve` with the environment an operator sets) behind the recording proxy, a
//! signature-checking webhook receiver, an Event Socket capture, and the lines the scenario
//! created, loaded into the switch the way the README tells an operator (detail_xml into
//! `sip_profiles/external/`, then `sofia profile external rescan`). Dropping it stops
//! callplane, unloads the lines and writes the artifacts.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderMap;
use serde_json::{Value, json};

use crate::switch::{self, Capture};
use crate::{proxy, switch::work};

pub const FSAPI_USER: &str = "fsapi";
pub const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

pub fn fsapi_password() -> String {
    std::env::var("CONFORMANCE_FSAPI_PASSWORD")
        .unwrap_or_else(|_| "conformance-fsapi-secret-0123".into())
}

/// A webhook as received, with whether its signature verified.
#[derive(Debug, Clone)]
pub struct Hook {
    pub body: Value,
    pub signed: bool,
}

pub struct Rig {
    pub dir: PathBuf,
    pub db: String,
    pub esl: Capture,
    client: reqwest::Client,
    callplane: Option<Child>,
    settings: String,
    hooks: Arc<Mutex<Vec<Hook>>>,
    hook_url: String,
    lines: Vec<String>,
    _proxy: tokio::sync::oneshot::Sender<()>,
}

/// Polls `check` every 100 ms until it yields a value; fails after `limit` (a bound against
/// hanging, not a speed goal).
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Rig {
    /// Starts everything for scenario `name`; `settings` is extra TOML for callplane's config
    /// file (whole sections, e.g. "[calls]\ncallee_ring_timeout_secs = 8\n").
    pub async fn start(name: &str, settings: &str) -> Rig {
        let dir = work().join("artifacts").join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db = format!("callplane_conformance_{}", uuid::Uuid::new_v4().simple());
        let hooks = Arc::new(Mutex::new(Vec::new()));
        let hook_url = start_receiver(hooks.clone()).await;
        let proxy = proxy::start(dir.join("fsapi.log")).await;
        let mut rig = Rig {
            dir,
            db,
            esl: Capture::start().await,
            client: reqwest::Client::new(),
            callplane: None,
            settings: settings.into(),
            hooks,
            hook_url,
            lines: Vec::new(),
            _proxy: proxy,
        };
        rig.start_callplane().await;
        rig
    }

    /// `callplane serve` with the operator's environment; returns once it is ready and
    /// connected to the switch.
    pub async fn start_callplane(&mut self) {
        let config = self.dir.join("callplane.toml");
        std::fs::write(
            &config,
            format!(
                "[recording]\ndir = \"{}\"\n{}",
                switch::recordings_dir().join("callplane").display(),
                with_fast_calls(&self.settings)
            ),
        )
        .unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("callplane.log"))
            .unwrap();
        let pg = std::env::var("CALLPLANE_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        let child = Command::new(env!("CARGO_BIN_EXE_callplane"))
            .args(["serve", "--config"])
            .arg(&config)
            .env("CALLPLANE_LISTEN", proxy::UPSTREAM)
            .env("CALLPLANE_PUBLIC_URL", format!("http://{}", proxy::PUBLIC))
            .env("DATABASE_URL", format!("{pg}/{}", self.db))
            .env("CALLPLANE_ESL", switch::ESL)
            .env("CALLPLANE_ESL_PASSWORD", switch::esl_password())
            .env("CALLPLANE_FSAPI_USER", FSAPI_USER)
            .env("CALLPLANE_FSAPI_PASSWORD", fsapi_password())
            .env(
                "CALLPLANE_STORAGE",
                format!("file://{}", self.dir.join("store").display()),
            )
            .env("CALLPLANE_WEBHOOK_URL", &self.hook_url)
            .env("CALLPLANE_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .env(
                "CALLPLANE_SECRET",
                "conformance-server-secret-0123456789abcdef",
            )
            .env("RUST_LOG", "info,callplane=debug")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("the callplane binary starts");
        self.callplane = Some(child);
        let client = self.client.clone();
        eventually(
            "callplane ready and connected to FreeSWITCH",
            Duration::from_secs(60),
            || {
                let client = client.clone();
                async move {
                    let res = client
                        .get(format!("http://{}/readyz", proxy::UPSTREAM))
                        .send()
                        .await
                        .ok()?;
                    let body: Value = res.json().await.ok()?;
                    (body["esl"][0]["state"] == "connected").then_some(())
                }
            },
        )
        .await;
    }

    /// Stops callplane (SIGTERM, as an operator would) and waits for it to exit.
    pub fn stop_callplane(&mut self) {
        if let Some(mut child) = self.callplane.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if child.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", proxy::UPSTREAM)
    }

    pub async fn get(&self, path: &str) -> Value {
        let res = self.client.get(self.url(path)).send().await.unwrap();
        res.json().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let res = self
            .client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        res.json().await.unwrap()
    }

    /// POSTs and insists on `code: 0`.
    pub async fn ok(&self, path: &str, body: Value) -> Value {
        let v = self.post(path, body.clone()).await;
        assert_eq!(v["code"], 0, "{path} {body}: {v}");
        v["data"].clone()
    }

    pub async fn extension(&self, user: &str, password: &str) {
        self.ok(
            "/v1/extension/create",
            json!({"extension": user, "password": password}),
        )
        .await;
    }

    /// Creates a line to the carrier stand-in on `port` and loads it into the switch.
    pub async fn line(&mut self, name: &str, port: u16, extra: Value) {
        let mut body = json!({"name": name, "realm": "127.0.0.1", "port": port, "register": false});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        self.ok("/v1/gateway/create", body).await;
        self.load_line(name).await;
        self.lines.push(name.into());
    }

    /// detail_xml into sip_profiles/external/NAME.xml, then a rescan (README step 6); waits
    /// until the switch lists the gateway.
    pub async fn load_line(&self, name: &str) {
        let res = self
            .client
            .get(self.url(&format!("/v1/gateway/detail_xml?name={name}")))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "detail_xml {name}");
        let xml = res.text().await.unwrap();
        let path = switch::conf_dir().join(format!("sip_profiles/external/{name}.xml"));
        std::fs::write(&path, xml).unwrap();
        // A gateway of the same name from an earlier scenario must go first (a rescan does not
        // update a gateway that exists).
        switch::cli(&format!("sofia profile external killgw {name}"));
        eventually("the old gateway gone", Duration::from_secs(10), || async {
            (!switch::cli("sofia status").contains(&format!("external::{name}\t"))).then_some(())
        })
        .await;
        switch::cli("sofia profile external rescan");
        eventually(
            &format!("gateway {name} loaded"),
            Duration::from_secs(15),
            || async {
                switch::cli(&format!("sofia status gateway {name}"))
                    .contains("Name")
                    .then_some(())
            },
        )
        .await;
    }

    /// Places a click-to-call; returns the answer's `data`.
    pub async fn callback(&self, body: Value) -> Value {
        self.ok("/v1/call/callback", body).await
    }

    pub async fn detail(&self, call: &str) -> Value {
        let v = self.get(&format!("/v1/call/detail?uuid={call}")).await;
        assert_eq!(v["code"], 0, "{v}");
        v["data"].clone()
    }

    /// The stored CDR of leg `uuid` (parsed fields), once it is there.
    pub async fn cdr(&self, uuid: &str) -> Value {
        eventually(
            &format!("CDR of leg {uuid}"),
            Duration::from_secs(60),
            || async {
                let v = self.get(&format!("/v1/cdr/detail?uuid={uuid}")).await;
                (v["code"] == 0).then(|| v["data"].clone())
            },
        )
        .await
    }

    /// The one `call.completed` webhook of `call` (waits for it; fails on a second one).
    pub async fn completed(&self, call: &str, limit: Duration) -> Hook {
        let hook = eventually(&format!("call.completed for {call}"), limit, || async {
            self.hooks_of(call)
                .into_iter()
                .find(|h| h.body["type"] == "call.completed")
        })
        .await;
        assert!(hook.signed, "the webhook signature verifies");
        hook
    }

    pub fn hooks_of(&self, call: &str) -> Vec<Hook> {
        self.hooks
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.body["call_uuid"] == call)
            .cloned()
            .collect()
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

/// The suite's timing: short waits so scenarios end quickly; a scenario's own settings win.
fn with_fast_calls(settings: &str) -> String {
    let mut calls = String::from(
        "[calls]\noriginate_timeout_secs = 15\ncdr_wait_secs = 60\nrecording_wait_secs = 30\nsweep_interval_ms = 500\n",
    );
    let mut rest = String::new();
    // Keys the scenario sets in [calls] replace the defaults above.
    let mut in_calls = false;
    for line in settings.lines() {
        if line.trim_start().starts_with('[') {
            in_calls = line.trim() == "[calls]";
            if in_calls {
                continue;
            }
        }
        if in_calls {
            if let Some((key, _)) = line.split_once('=') {
                let key = key.trim();
                calls = calls
                    .lines()
                    .filter(|l| l.split_once('=').map(|(k, _)| k.trim()) != Some(key))
                    .map(|l| format!("{l}\n"))
                    .collect();
            }
            calls.push_str(line);
            calls.push('\n');
        } else {
            rest.push_str(line);
            rest.push('\n');
        }
    }
    format!("{calls}{rest}")
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = std::fs::write(self.dir.join("esl-events.txt"), self.esl.raw());
        let hooks: Vec<String> = self
            .hooks
            .lock()
            .map(|h| h.iter().map(|h| h.body.to_string()).collect())
            .unwrap_or_default();
        let _ = std::fs::write(self.dir.join("webhooks.jsonl"), hooks.join("\n"));
        self.stop_callplane();
        for name in &self.lines {
            switch::cli(&format!("sofia profile external killgw {name}"));
            let _ = std::fs::remove_file(
                switch::conf_dir().join(format!("sip_profiles/external/{name}.xml")),
            );
        }
        // Nothing of this scenario may ring into the next one.
        switch::cli("hupall MANAGER_REQUEST");
        let pg = std::env::var("CALLPLANE_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        let _ = Command::new("psql")
            .arg(format!("{pg}/postgres"))
            .args([
                "-qc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.db),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

async fn start_receiver(hooks: Arc<Mutex<Vec<Hook>>>) -> String {
    let key = callplane::webhooks::SigningKey::parse(WEBHOOK_SECRET).unwrap();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let hooks = hooks.clone();
            let key = key.clone();
            async move {
                let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
                let ts: i64 = h("webhook-timestamp").parse().unwrap_or(0);
                let expected = key.sign(h("webhook-id"), ts, &body);
                let signed = h("webhook-signature")
                    .split(' ')
                    .any(|s| s == expected || s.strip_prefix("v1,") == Some(expected.as_str()));
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                hooks.lock().unwrap().push(Hook { body, signed });
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    format!("http://{addr}/hook")
}
