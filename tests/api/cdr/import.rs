//! `callplane import-cdrs DIR` over an err-log-dir as mod_xml_cdr and mod_json_cdr leave it
//! (`[a_]<uuid>.cdr.xml` / `.cdr.json` holding the text as it would have been posted after
//! `cdr=`), run twice: the second run stores nothing new (HOSTILE_INPUTS R13).

use std::path::PathBuf;
use std::process::Command;

use reqwest::StatusCode;

use super::{b64, detail, fixture, fs_url_encode, post_cdr};
use crate::helpers::{TestApp, pg_base};

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const ZH1: &str = "4b3b36af-3d98-4670-bc14-0ee08890d7d6";
const ZH2: &str = "6a7ccd66-6d2f-46c4-abd9-07cf37fc161e";
const TINY: &str = "91353230-461f-11de-aa7f-b10b4edc0c92";
const CG: &str = "86cfd6e2-dbda-45a3-b59d-f683ec368e8b";

fn err_log_dir() -> TempDir {
    let dir = std::env::temp_dir().join(format!("callplane-errlog-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let zh1 = fixture("zhouhailin_a_4b3b36af_inbound_bridged_via_gateway_avaya_answered.cdr.xml");
    let zh2 = fixture("zhouhailin_a_6a7ccd66_inbound_bridged_via_gateway_avaya_answered.cdr.xml");
    let tiny = fixture("tinycdr_2009_xml_cdr_originator_cancel_via_gateway_unanswered.cdr.xml");
    let cg = fixture("cgrates_2014_json_cdr_inbound_1001_to_1002_bridged.json");
    let files: [(String, Vec<u8>); 6] = [
        // encode=true (the default): URL-encoded.
        (format!("a_{ZH1}.cdr.xml"), fs_url_encode(&zh1).into_bytes()),
        // encode=base64, prefix-a-leg off.
        (format!("{ZH2}.cdr.xml"), b64(&zh2).into_bytes()),
        // encode=false / textxml: the document itself.
        (format!("a_{TINY}.cdr.xml"), tiny.into_bytes()),
        // mod_json_cdr without encode: the JSON and a newline (backup_cdr).
        (format!("{CG}.cdr.json"), format!("{cg}\n").into_bytes()),
        ("broken.cdr.xml".into(), vec![0, 1, 2, 255]),
        ("notes.txt".into(), b"not a CDR file".to_vec()),
    ];
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    TempDir(dir)
}

fn import(app: &TestApp, dir: &TempDir) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_callplane"))
        .arg("import-cdrs")
        .arg(&dir.0)
        .env_remove("CALLPLANE_CONFIG")
        .env("DATABASE_URL", format!("{}/{}", pg_base(), app.db_name))
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

#[tokio::test]
async fn import_cdrs_loads_the_err_log_dir_once() {
    let app = TestApp::spawn().await;
    // One of the CDRs reached callplane live after all (FreeSWITCH's last retry).
    let zh1 = fixture("zhouhailin_a_4b3b36af_inbound_bridged_via_gateway_avaya_answered.cdr.xml");
    assert_eq!(post_cdr(&app, "", "text/xml", zh1).await, StatusCode::OK);
    let dir = err_log_dir();

    let first = import(&app, &dir);
    assert!(first.contains("import-cdrs: 5/5 files"), "{first}");
    assert!(
        first.contains("imported 3 (0 kept unparsed), already present 1, unreadable 1"),
        "{first}"
    );
    let second = import(&app, &dir);
    assert!(
        second.contains("imported 0 (0 kept unparsed), already present 4, unreadable 1"),
        "{second}"
    );
    assert_eq!(app.count("cdrs").await, 4);

    let zh2 = detail(&app, ZH2).await;
    assert_eq!(
        (zh2["late"].as_bool(), zh2["parsed"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(zh2["encoding"], "base64");
    assert_eq!(zh2["gateway"], "avaya");
    assert_eq!(
        detail(&app, ZH1).await["late"],
        false,
        "the live post came first"
    );
    assert_eq!(detail(&app, TINY).await["encoding"], "xml");
    let cg = detail(&app, CG).await;
    assert_eq!(
        (cg["format"].as_str(), cg["billsec"].as_i64()),
        (Some("json"), Some(15))
    );
}

#[tokio::test]
async fn import_cdrs_library_call_reports_progress_and_counts() {
    let app = TestApp::spawn().await;
    let dir = err_log_dir();
    let mut progress = Vec::new();
    let sum = callplane::import::import_cdrs(&app.pool, &dir.0, &mut progress)
        .await
        .unwrap();
    assert_eq!(
        (sum.imported, sum.already_present, sum.unreadable),
        (4, 0, 1)
    );
    assert_eq!(
        String::from_utf8(progress).unwrap(),
        "import-cdrs: 5/5 files\n"
    );
}
