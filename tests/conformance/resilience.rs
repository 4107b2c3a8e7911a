//! Faults of the real parts: the switch restarting under callplane, and callplane down while
//! the switch posts a CDR.

use std::time::Duration;

use serde_json::json;

use crate::phones::{Behaviour, Phone};
use crate::rig::{Rig, eventually};
use crate::switch;

#[tokio::test(flavor = "multi_thread")]
async fn switch_restarted_while_callplane_runs_is_reconnected_and_online_lists_recover() {
    let mut rig = Rig::start("switch-restart", "").await;
    rig.extension("1001", "agent-1001-secret").await;
    let phone = Phone::start("1001", "agent-1001-secret", 5076, Behaviour::Answer, 500);
    assert!(phone.register());
    switch::script("restart");
    eventually("ESL reconnected", Duration::from_secs(60), || async {
        let v: serde_json::Value = rig
            .client()
            .get(rig.url("/readyz"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (v["esl"][0]["state"] == "connected").then_some(())
    })
    .await;
    // The restarted switch forgot the registration (run with a clean database); the phone
    // registers again and the online list follows.
    assert!(phone.register());
    eventually("1001 online again", Duration::from_secs(30), || async {
        let v = rig.get("/v1/extension/online/list").await;
        v["data"]["list"]
            .as_array()?
            .iter()
            .any(|r| r["extension"] == "1001")
            .then_some(())
    })
    .await;
    // And calls work again.
    rig.line("carrier-a", 5080, json!({})).await;
    let data = rig
        .callback(json!({"caller": "1001", "callee": "13800138000", "gateways": ["carrier-a"]}))
        .await;
    let call = data["call_uuid"].as_str().unwrap().to_string();
    let hook = rig.completed(&call, Duration::from_secs(90)).await.body;
    assert_eq!(hook["status"], "answered", "{hook}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cdr_posted_while_callplane_is_down_is_spooled_then_imported_once() {
    let rig = Rig::start("callplane-down-cdr", "").await;
    let mut rig = rig;
    let spool = switch::log_dir().join("xml_cdr_failed");
    let before = count_files(&spool);
    rig.stop_callplane();
    // A call the switch makes by itself: its CDR cannot reach callplane.
    let out = switch::cli(
        "originate {origination_uuid=5b0c7d8e-0000-4000-8000-00000000cd01}sofia/internal/13800138000@127.0.0.1:5080 &park()",
    );
    assert!(out.contains("+OK"), "{out}");
    // mod_xml_cdr tries 1 + 3 retries, 5 s apart, then writes the CDR to err-log-dir.
    let files = eventually("the CDR spooled", Duration::from_secs(60), || async {
        let n = count_files(&spool);
        (n > before).then_some(n)
    })
    .await;
    assert!(files > before);
    rig.start_callplane().await;
    let import = |dir: std::path::PathBuf| {
        std::process::Command::new(env!("CARGO_BIN_EXE_callplane"))
            .args(["import-cdrs"])
            .arg(dir)
            .env(
                "DATABASE_URL",
                format!("postgres://postgres@127.0.0.1:5432/{}", rig.db),
            )
            .output()
            .unwrap()
    };
    let first = import(spool.clone());
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let cdr = rig.cdr("5b0c7d8e-0000-4000-8000-00000000cd01").await;
    assert_eq!(cdr["callee"], "13800138000", "{cdr}");
    let second = import(spool.clone());
    assert!(second.status.success());
    let list = rig.get("/v1/cdr/list?size=500").await;
    let copies = list["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["uuid"] == "5b0c7d8e-0000-4000-8000-00000000cd01")
        .count();
    assert_eq!(copies, 1, "imported once: {list}");
}

fn count_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}
