//! callplane killed with SIGKILL under load and started again. The real binary runs against a
//! database of its own, fsim and a webhook receiver; click-to-calls (each with an
//! Idempotency-Key), CDR posts and recording uploads stream in, the process is killed mid-load
//! and started again on the same address. Every poster retries what was not answered 2xx, as
//! FreeSWITCH (mod_xml_cdr's `retries`), curl (`--retry`) and a careful API client (same
//! Idempotency-Key) do. Afterwards nothing is lost and nothing is doubled: one call per key,
//! one CDR per leg, one recording per call, every call ended with exactly one `call.completed`
//! event under one `webhook-id`, delivered.
//!
//! The recording upload of the hangup hook is not used here: the hook's curl does not retry
//! (see `docs/drills.md`), so the test posts the recordings itself with curl's retry rules.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fsim::{CdrConfig, Sim, SimConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{drop_database, pg_base};
use crate::posters::{self, until_accepted};
use crate::receiver::{Receiver, url_at};
use crate::rig::{
    Api, Dir, LINE, SECRET, WEBHOOK_SECRET, direct_pool, eventually, files_under, prepare_sim,
};

/// The service as `callplane serve`, killed (SIGKILL) on drop.
struct Service {
    child: Child,
}

impl Service {
    fn start(env: &[(&str, String)], log: &std::path::Path) -> Service {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_callplane"))
            .arg("serve")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        Service { child }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Drops the drill's database when the test ends.
struct Database(String);

impl Drop for Database {
    fn drop(&mut self) {
        drop_database(&self.0);
    }
}

/// Places a click-to-call, retrying with the same Idempotency-Key until callplane answers
/// with a verdict; returns the call's uuid.
async fn place(api: Api, callee: String, key: String) -> String {
    let body = json!({"caller": "1001", "callee": callee, "gateways": [LINE]});
    for _ in 0..200 {
        let sent = api
            .client
            .post(api.url("/v1/call/callback"))
            .header("idempotency-key", &key)
            .json(&body)
            .send()
            .await;
        if let Ok(res) = sent {
            let status = res.status();
            let v: Value = res.json().await.unwrap_or(Value::Null);
            if status == StatusCode::OK {
                return v["data"]["call_uuid"].as_str().unwrap().to_string();
            }
            assert!(status.is_server_error(), "{status} {v}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the call {key} was never accepted");
}

#[tokio::test]
async fn sigkill_under_load_loses_and_duplicates_nothing() {
    let receiver = Receiver::start(vec![]).await;
    let sim = Sim::start_local(SimConfig {
        heartbeat_secs: 0,
        cdr: CdrConfig {
            log_b_leg: true,
            retries: 30,
            delay_secs: 1,
            ..CdrConfig::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap();
    prepare_sim(&sim, 300);
    let files = Dir::new();
    let db = Database(format!("callplane_test_{}", Uuid::new_v4().simple()));
    let addr: SocketAddr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let config = files.join("drill.toml");
    std::fs::write(
        &config,
        format!(
            "[calls]\nsweep_interval_ms = 100\ncdr_wait_secs = 2\njob_timeout_secs = 5\n\
             [recording]\nupload = \"none\"\n\
             [storage]\nspool_dir = \"{}\"\n\
             [webhook]\nbackoff_base_ms = 20\nbackoff_max_secs = 1\npoll_interval_ms = 20\n\
             connect_timeout_ms = 500\ntimeout_ms = 2000\n",
            files.join("spool").display()
        ),
    )
    .unwrap();
    let env = [
        ("CALLPLANE_CONFIG", config.display().to_string()),
        ("CALLPLANE_LISTEN", addr.to_string()),
        ("DATABASE_URL", format!("{}/{}", pg_base(), db.0)),
        ("CALLPLANE_ESL", sim.addr().to_string()),
        (
            "CALLPLANE_STORAGE",
            format!("file://{}", files.join("recordings").display()),
        ),
        ("CALLPLANE_WEBHOOK_URL", url_at(receiver.addr)),
        ("CALLPLANE_WEBHOOK_SECRET", WEBHOOK_SECRET.to_string()),
        ("CALLPLANE_SECRET", SECRET.to_string()),
        ("RUST_LOG", "warn".to_string()),
    ];
    let log = files.join("callplane.log");
    let mut service = Service::start(&env, &log);
    let api = Api::at(addr);
    api.wait_esl_connected().await;
    api.provision(json!({})).await;
    sim.set_cdr_url(Some(api.url("/fsapi/cdr")));

    // The load, spread over about two seconds.
    let mut calls = Vec::new();
    let mut cdrs = Vec::new();
    let mut uploads = Vec::new();
    let load = {
        let api = api.clone();
        async move {
            for i in 0..16u8 {
                let (a, callee, key) =
                    (api.clone(), format!("1380013{i:04}"), format!("drill-{i}"));
                calls.push(tokio::spawn(place(a, callee, key)));
                let (a, u) = (api.clone(), Uuid::new_v4());
                cdrs.push((
                    u,
                    tokio::spawn(async move {
                        until_accepted(100, Duration::from_millis(100), || {
                            posters::post_cdr(&a.client, &a.base, &u)
                        })
                        .await
                    }),
                ));
                let (a, u) = (api.clone(), Uuid::new_v4());
                uploads.push((
                    u,
                    tokio::spawn(async move {
                        until_accepted(100, Duration::from_millis(100), || {
                            posters::upload(&a.client, &a.base, &u, posters::wav(i))
                        })
                        .await
                    }),
                ));
                tokio::time::sleep(Duration::from_millis(120)).await;
            }
            (calls, cdrs, uploads)
        }
    };
    let load = tokio::spawn(load);

    // Killed mid-load, started again.
    tokio::time::sleep(Duration::from_millis(800)).await;
    service.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _service = Service::start(&env, &log);
    let (calls, mut cdrs, mut uploads) = load.await.unwrap();

    let db_pool = direct_pool(&db.0).await;
    let mut call_uuids = Vec::new();
    for c in calls {
        call_uuids.push(c.await.unwrap());
    }
    let mut refused = 0;
    for (u, t) in cdrs.iter_mut().chain(uploads.iter_mut()) {
        let tries = t.await.unwrap();
        assert!(tries.succeeded(), "{u}: {tries:?}");
        refused += tries.failures();
    }
    assert!(refused > 0, "the kill fell in the middle of the load");

    // One call per Idempotency-Key, every one ended.
    let distinct: HashSet<&String> = call_uuids.iter().collect();
    assert_eq!(distinct.len(), 16);
    let per_key: Vec<(String, i64)> =
        sqlx::query_as("SELECT idempotency_key, count(*) FROM calls GROUP BY idempotency_key")
            .fetch_all(&db_pool)
            .await
            .unwrap();
    assert_eq!(per_key.len(), 16, "{per_key:?}");
    assert!(per_key.iter().all(|(_, n)| *n == 1), "{per_key:?}");
    for c in &call_uuids {
        api.wait_call(c, "the call to end", crate::rig::ended).await;
    }

    // Every CDR stored once: the posted ones and the caller legs fsim posted for answered calls.
    let posted: Vec<String> = cdrs.iter().map(|(u, _)| u.to_string()).collect();
    let stored: Vec<(String, i64)> =
        sqlx::query_as("SELECT uuid, count(*) FROM cdrs GROUP BY uuid")
            .fetch_all(&db_pool)
            .await
            .unwrap();
    let stored: HashMap<String, i64> = stored.into_iter().collect();
    assert!(stored.values().all(|n| *n == 1), "{stored:?}");
    for u in &posted {
        assert_eq!(stored.get(u), Some(&1), "CDR {u}");
    }
    eventually(
        "fsim's CDRs for the answered calls",
        Duration::from_secs(30),
        || async {
            let answered: Vec<String> =
                sqlx::query_scalar("SELECT uuid::text FROM calls WHERE answered_at IS NOT NULL")
                    .fetch_all(&db_pool)
                    .await
                    .unwrap();
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM cdrs WHERE uuid = ANY($1)")
                .bind(&answered)
                .fetch_one(&db_pool)
                .await
                .unwrap();
            (n == answered.len() as i64).then_some(())
        },
    )
    .await;

    // Every recording stored once, one file each.
    let recordings: i64 =
        sqlx::query_scalar("SELECT count(*) FROM recordings WHERE status = 'stored'")
            .fetch_one(&db_pool)
            .await
            .unwrap();
    assert_eq!(recordings, 16);
    // A put cut short by the kill may leave the local backend's staging file (`KEY#N`) behind;
    // what counts is one complete recording per call.
    let stored_files = files_under(&files.join("recordings"))
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "wav"))
        .count();
    assert_eq!(stored_files, 16);

    // One call.completed per call, delivered; the receiver saw one id per event. A kill
    // during a delivery may send that id again once its lease ends (at least once).
    eventually("every webhook delivered", Duration::from_secs(45), || async {
        let delivered: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM webhook_outbox WHERE event_type = 'call.completed' AND status = 'delivered'",
        )
        .fetch_one(&db_pool)
        .await
        .unwrap();
        (delivered == 16).then_some(())
    })
    .await;
    let mut ids: HashMap<(String, String), HashSet<String>> = HashMap::new();
    for r in receiver.received() {
        let body: Value = serde_json::from_str(&r.body).unwrap();
        ids.entry((
            body["call_uuid"].as_str().unwrap().to_string(),
            body["type"].as_str().unwrap().to_string(),
        ))
        .or_default()
        .insert(r.header("webhook-id").unwrap().to_string());
    }
    for c in &call_uuids {
        let got = ids.get(&(c.clone(), "call.completed".to_string()));
        assert_eq!(got.map(HashSet::len), Some(1), "call {c}: {ids:?}");
    }
}
