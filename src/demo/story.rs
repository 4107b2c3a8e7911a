//! The demo's sample flow, told as it happens: it creates an extension and a line, places one
//! click-to-call through the real HTTP API with the demo's key, then follows the call detail
//! and the webhook receiver and prints each step once: answered, ended, CDR stored, recording
//! stored, webhook delivered with its signature verified.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

use super::receiver::Received;

/// The sample data, also used to script the simulated switch.
pub const EXTENSION: &str = "1001";
pub const GATEWAY: &str = "demo-carrier";
pub const CUSTOMER: &str = "13800138000";

/// How long the sample call may take from placing to its webhook before the demo gives up.
const CALL_DEADLINE: Duration = Duration::from_secs(60);

/// A `/v1` client holding the demo's key.
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
    pub key: String,
}

impl Api {
    /// Sends `req` with the key and returns the whole envelope.
    async fn envelope(&self, req: reqwest::RequestBuilder, what: &str) -> anyhow::Result<Value> {
        let res = req
            .bearer_auth(&self.key)
            .send()
            .await
            .with_context(|| format!("{what}: callplane did not answer"))?;
        serde_json::from_slice(&res.bytes().await?)
            .with_context(|| format!("{what}: the answer is not JSON"))
    }

    async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> anyhow::Result<Value> {
        let body = self.envelope(req, what).await?;
        if body["code"] != 0 {
            bail!("{what}: {} {}", body["code"], body["message"]);
        }
        Ok(body["data"].clone())
    }

    fn json_post(&self, path: &str, body: &Value) -> reqwest::RequestBuilder {
        self.client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string())
    }

    /// Creates a sample record, or, when an earlier demo run left it in the demo database
    /// (409, code 40900), updates it back to the sample values. Returns whether it was new.
    async fn create_or_update(&self, resource: &str, body: Value) -> anyhow::Result<bool> {
        let create = format!("/v1/{resource}/create");
        let answer = self
            .envelope(self.json_post(&create, &body), &format!("POST {create}"))
            .await?;
        match answer["code"].as_u64() {
            Some(0) => Ok(true),
            Some(40900) => {
                self.post(&format!("/v1/{resource}/update"), body).await?;
                Ok(false)
            }
            _ => bail!("POST {create}: {} {}", answer["code"], answer["message"]),
        }
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let req = self.client.get(format!("{}{path}", self.base));
        self.send(req, &format!("GET {path}")).await
    }

    pub async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let req = self.json_post(path, &body);
        self.send(req, &format!("POST {path}")).await
    }

    /// Waits until the simulated switch's Event Socket is connected (`/readyz`).
    pub async fn wait_for_switch(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let res = self
                .client
                .get(format!("{}/readyz", self.base))
                .send()
                .await?;
            let ready: Value = serde_json::from_slice(&res.bytes().await?)?;
            let node = &ready["esl"][0];
            if node["state"] == "connected" {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("the simulated FreeSWITCH did not connect: {node}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Prints one line of the story at once (stdout may be a pipe).
pub fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Creates the sample extension and line (or restores them, on a later run).
pub async fn set_up(api: &Api) -> anyhow::Result<()> {
    let how = |new: bool| {
        if new {
            "created"
        } else {
            "restored (kept from an earlier run)"
        }
    };
    let new = api
        .create_or_update(
            "extension",
            json!({"extension": EXTENSION, "password": "demo-password-1001", "display_name": "Demo agent", "enabled": true}),
        )
        .await?;
    say(&format!(
        "  extension {EXTENSION} {} through /v1/extension; the simulated switch has it registered",
        how(new)
    ));
    let new = api
        .create_or_update(
            "gateway",
            json!({"name": GATEWAY, "realm": "192.0.2.1", "caller_id": "057188880000", "max_concurrent": 10, "enabled": true}),
        )
        .await?;
    say(&format!(
        "  line {GATEWAY} {} through /v1/gateway: caller ID 057188880000, 10 calls at once",
        how(new)
    ));
    Ok(())
}

/// Places the sample call and follows it to its webhook; returns the call's uuid.
pub async fn follow_call(
    api: &Api,
    webhooks: &mut UnboundedReceiver<Received>,
) -> anyhow::Result<String> {
    let placed = api
        .post(
            "/v1/call/callback",
            json!({"caller": EXTENSION, "callee": CUSTOMER, "gateways": [GATEWAY], "ext_data": "demo order 42"}),
        )
        .await?;
    let uuid = placed["call_uuid"].as_str().unwrap_or_default().to_string();
    say(&format!(
        "1. call placed (POST /v1/call/callback): {EXTENSION} rings first, then {CUSTOMER} over {GATEWAY}; call_uuid {uuid}"
    ));
    let mut told = Told::default();
    let deadline = Instant::now() + CALL_DEADLINE;
    loop {
        let detail = api.get(&format!("/v1/call/detail?uuid={uuid}")).await?;
        // A webhook only goes out once the CDR and the recording are settled, so the detail
        // read after it arrived has every earlier step to tell.
        let hook = webhooks.try_recv().ok();
        let detail = match hook {
            Some(_) => api.get(&format!("/v1/call/detail?uuid={uuid}")).await?,
            None => detail,
        };
        told.tell(&detail);
        if let Some(hook) = hook {
            if !hook.verified {
                bail!(
                    "a webhook arrived ({}) but its signature did not verify",
                    hook.webhook_id
                );
            }
            if hook.body["call_uuid"] == uuid.as_str() {
                say(&format!(
                    "{}. webhook delivered: {} (status {}, recording {}), webhook-id {}, signature verified",
                    told.next(),
                    hook.body["type"].as_str().unwrap_or("?"),
                    hook.body["status"].as_str().unwrap_or("?"),
                    hook.body["recording"]["status"].as_str().unwrap_or("?"),
                    hook.webhook_id
                ));
                return Ok(uuid);
            }
        }
        if Instant::now() > deadline {
            bail!(
                "the sample call did not finish within {CALL_DEADLINE:?}; last state {}",
                detail["state"]
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Which steps have been printed. Steps are told in the order of the call's life even when
/// one poll sees several at once (the recording is often stored before the call's end is).
#[derive(Default)]
struct Told {
    /// Steps printed so far after "call placed".
    done: usize,
}

impl Told {
    fn tell(&mut self, d: &Value) {
        let steps: [fn(&Value) -> Option<String>; 4] = [answered, ended, cdr, recording];
        while let Some(step) = steps.get(self.done) {
            let Some(line) = step(d) else { break };
            say(&format!("{}. {line}", self.done + 2));
            self.done += 1;
        }
    }

    /// The number the next line of the story gets.
    fn next(&self) -> usize {
        self.done + 2
    }
}

fn answered(d: &Value) -> Option<String> {
    if !d["answered_at"].is_null() {
        Some(format!(
            "call answered: agent {EXTENSION} picked up, then the customer; they are bridged (state {})",
            d["state"].as_str().unwrap_or("?")
        ))
    } else if !d["ended_at"].is_null() {
        Some("call not answered".into())
    } else {
        None
    }
}

fn ended(d: &Value) -> Option<String> {
    (!d["ended_at"].is_null()).then(|| {
        format!(
            "call ended: status {}, hangup cause {}",
            d["status"].as_str().unwrap_or("?"),
            d["hangup_cause"].as_str().unwrap_or("?")
        )
    })
}

fn cdr(d: &Value) -> Option<String> {
    let cdr = &d["cdr"];
    (!cdr.is_null()).then(|| {
        format!(
            "CDR stored (POST /fsapi/cdr from the switch): duration {}s, billsec {}s, {}",
            cdr["duration"],
            cdr["billsec"],
            cdr["hangup_cause"].as_str().unwrap_or("?")
        )
    })
}

fn recording(d: &Value) -> Option<String> {
    let rec = &d["recording"];
    (rec["status"] == "ok").then(|| {
        format!(
            "recording stored (POST /fsapi/upload_audio): {} bytes of {}, signed URL {}",
            rec["size"],
            rec["format"].as_str().unwrap_or("?"),
            rec["url"].as_str().unwrap_or("?")
        )
    })
}
