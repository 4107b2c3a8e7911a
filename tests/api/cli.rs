//! The `callplane` binary itself: help, configuration errors, print-config, migrate, a full
//! serve run that ends with SIGTERM, and the demo from its first request to a verified webhook.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::{drop_database, pg_base};

fn callplane() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_callplane"));
    for var in [
        "CALLPLANE_CONFIG",
        "CALLPLANE_LISTEN",
        "CALLPLANE_API_KEYS",
        "DATABASE_URL",
        "RUST_LOG",
    ] {
        c.env_remove(var);
    }
    c
}

struct Db(String);
impl Db {
    fn fresh() -> Db {
        Db(format!("callplane_cli_{}", uuid::Uuid::new_v4().simple()))
    }
    /// A database the demo accepts: its name starts with `callplane_demo`.
    fn demo() -> Db {
        Db(format!("callplane_demo_{}", uuid::Uuid::new_v4().simple()))
    }
    fn url(&self) -> String {
        format!("{}/{}", pg_base(), self.0)
    }
}
impl Drop for Db {
    fn drop(&mut self) {
        drop_database(&self.0);
    }
}

#[test]
fn help_lists_every_subcommand() {
    let out = callplane().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for cmd in ["serve", "migrate", "print-config", "import-cdrs", "demo"] {
        assert!(text.contains(cmd), "{cmd} in --help:\n{text}");
    }
    let serve = String::from_utf8(
        callplane()
            .args(["serve", "--help"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(serve.contains("--no-migrate"));
}

#[test]
fn invalid_configuration_exits_2_naming_the_key() {
    let out = callplane()
        .arg("print-config")
        .env("CALLPLANE_LISTEN", "not-an-address")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("listen (CALLPLANE_LISTEN)") && err.contains("not-an-address"),
        "{err}"
    );
}

#[test]
fn print_config_redacts_secrets() {
    let out = callplane()
        .arg("print-config")
        .env(
            "DATABASE_URL",
            "postgres://app:db-pass-4242@127.0.0.1/callplane",
        )
        .env("CALLPLANE_ESL_PASSWORD", "esl-pass-4242")
        .env("CALLPLANE_API_KEYS", "api-key-4242-abcdefgh")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("postgres://app:<redacted>@127.0.0.1/callplane"),
        "{text}"
    );
    for secret in ["db-pass-4242", "esl-pass-4242", "api-key-4242"] {
        assert!(!text.contains(secret), "{secret} leaked:\n{text}");
    }
}

#[test]
fn serve_refuses_a_public_address_without_api_keys() {
    let out = callplane()
        .arg("serve")
        .env("CALLPLANE_LISTEN", "0.0.0.0:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("CALLPLANE_API_KEYS") && err.contains("0.0.0.0:0"),
        "{err}"
    );
}

#[test]
fn migrate_creates_the_database_and_the_schema() {
    let db = Db::fresh();
    let out = callplane()
        .arg("migrate")
        .env("DATABASE_URL", db.url())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tables: i64 = rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&db.url()).await.unwrap();
        sqlx::query_scalar("SELECT count(*) FROM information_schema.tables WHERE table_name IN ('extensions', 'gateways', 'calls', 'cdrs', 'recordings', 'webhook_outbox')")
            .fetch_one(&mut c)
            .await
            .unwrap()
    });
    assert_eq!(tables, 6);
    // Running it again is a no-op, not an error.
    assert!(
        callplane()
            .arg("migrate")
            .env("DATABASE_URL", db.url())
            .output()
            .unwrap()
            .status
            .success()
    );
}

#[test]
fn serve_logs_where_it_listens_and_exits_0_on_sigterm() {
    let db = Db::fresh();
    let mut child = callplane()
        .arg("serve")
        .env("DATABASE_URL", db.url())
        .env("CALLPLANE_LISTEN", "127.0.0.1:0")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut log = String::new();
    let addr = loop {
        let line = lines.next().expect("serve logs a listening line").unwrap();
        log.push_str(&line);
        log.push('\n');
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    assert!(log.contains("created the database"), "{log}");
    assert!(log.contains("migrations applied"), "{log}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async {
        reqwest::get(format!("http://{addr}/healthz"))
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let mut waited = Duration::ZERO;
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            waited < Duration::from_secs(10),
            "serve did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
        waited += Duration::from_millis(50);
    };
    assert_eq!(exit.code(), Some(0));
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        rest.iter().any(|l| l.contains("SIGTERM received")),
        "{rest:?}"
    );
}

#[test]
fn demo_once_tells_one_call_from_request_to_verified_webhook() {
    let db = Db::demo();
    let out = callplane()
        .args([
            "demo",
            "--once",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
        ])
        .arg(db.url())
        .output()
        .unwrap();
    let story = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{story}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = |needle: &str| {
        story
            .lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{story}"))
    };
    let placed = line("call placed");
    let cdr = line("CDR stored");
    let recording = line("recording stored");
    let webhook = line("webhook delivered: call.completed");
    assert!(
        story
            .lines()
            .nth(webhook)
            .unwrap()
            .contains("signature verified"),
        "{story}"
    );
    assert!(
        placed < cdr && cdr < webhook && recording < webhook,
        "{story}"
    );
    // The printed key opens /v1 and the printed recording URL is a signed one.
    assert!(story.contains("API key (shown once): demo_"), "{story}");
    assert!(
        story.contains("/recordings/") && story.contains("&sig="),
        "{story}"
    );
}

#[test]
fn demo_refuses_a_public_address_and_a_database_not_its_own() {
    let out = callplane()
        .args(["demo", "--once", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("0.0.0.0:0") && err.contains("loopback"),
        "{err}"
    );

    let db = Db::fresh(); // callplane_cli_...: not a demo database
    let out = callplane()
        .args([
            "demo",
            "--once",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
        ])
        .arg(db.url())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("--database-url") && err.contains("callplane_demo"),
        "{err}"
    );
    let exists: bool = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(&format!("{}/postgres", pg_base()))
                .await
                .unwrap();
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(&db.0)
                .fetch_one(&mut c)
                .await
                .unwrap()
        });
    assert!(!exists, "the demo created a database that is not its own");
}
