//! Postgres restarted while CDRs and recordings stream in. The app reaches its database through
//! a proxy the drill cuts: every connection closes and new ones are refused, as during a
//! restart. During the outage `/fsapi/cdr` and `/fsapi/upload_audio` answer 503 promptly (the
//! pool's acquire timeout, not a hang), so FreeSWITCH retries; fsim's CDR poster retries as
//! mod_xml_cdr does (`retries`, `delay`) and the test retries uploads as `curl --retry` does.
//! After the restore the same process recovers and every CDR and recording is stored once.

use std::time::Duration;

use fsim::{CdrConfig, Sim, SimConfig};
use reqwest::StatusCode;
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::posters::{self, until_accepted};
use crate::proxy::Proxy;
use crate::rig::{Api, SECRET, direct_pool, eventually, files_under, pg_addr, prepare_sim, via};

/// A raw ESL connection to fsim (no callplane involved), kept open for the whole drill.
struct Esl(TcpStream);

impl Esl {
    async fn connect(sim: &Sim) -> Esl {
        let mut s = TcpStream::connect(sim.addr()).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let _ = s.read(&mut buf).await.unwrap();
        s.write_all(b"auth ClueCon\n\n").await.unwrap();
        let _ = s.read(&mut buf).await.unwrap();
        Esl(s)
    }

    /// Originates one call per uuid: each is answered and hung up at once, and fsim posts
    /// its CDR. Returns once every leg has come and gone.
    async fn originate(&mut self, sim: &Sim, uuids: &[Uuid]) {
        for u in uuids {
            let cmd = format!(
                "bgapi originate {{origination_uuid={u}}}sofia/gateway/carrier-a/13800000000 &hangup()\n\n"
            );
            self.0.write_all(cmd.as_bytes()).await.unwrap();
        }
        let last = uuids.last().unwrap().to_string();
        eventually(
            "the originates to arrive",
            Duration::from_secs(10),
            || async {
                sim.commands_received()
                    .iter()
                    .any(|c| c.contains(&last))
                    .then_some(())
            },
        )
        .await;
        eventually("the legs to hang up", Duration::from_secs(10), || async {
            sim.channels().is_empty().then_some(())
        })
        .await;
    }
}

async fn stored_cdrs(db: &PgPool, uuids: &[Uuid]) -> i64 {
    let ids: Vec<String> = uuids.iter().map(Uuid::to_string).collect();
    sqlx::query_scalar("SELECT count(*) FROM cdrs WHERE uuid = ANY($1)")
        .bind(&ids)
        .fetch_one(db)
        .await
        .unwrap()
}

/// Every stored CDR's leg uuid, sorted (a duplicate shows twice).
async fn cdr_uuids(db: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT uuid FROM cdrs ORDER BY uuid")
        .fetch_all(db)
        .await
        .unwrap()
}

async fn count(db: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db).await.unwrap()
}

#[tokio::test]
async fn postgres_restart_answers_503_then_stores_every_cdr_and_recording_exactly_once() {
    crate::rig::logs();
    let proxy = Proxy::start(pg_addr()).await;
    let sim = Sim::start_local(SimConfig {
        heartbeat_secs: 0,
        cdr: CdrConfig {
            log_b_leg: true,
            retries: 10,
            delay_secs: 1,
            ..CdrConfig::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap();
    prepare_sim(&sim, 0);
    let proxied = proxy.addr;
    let app = TestApp::spawn_with(|c| {
        c.database_url = callplane::config::DbUrl::new(via(c.database_url.expose(), proxied));
        c.database.acquire_timeout_ms = 500;
        c.secret = Some(callplane::config::Secret::new(SECRET));
    })
    .await;
    let db = direct_pool(&app.db_name).await;
    let api = Api::at(app.addr);
    sim.set_cdr_url(Some(api.url("/fsapi/cdr")));

    // Before: traffic flows.
    let mut esl = Esl::connect(&sim).await;
    let before: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
    esl.originate(&sim, &before).await;
    eventually("the first CDRs", Duration::from_secs(10), || async {
        (stored_cdrs(&db, &before).await == 3).then_some(())
    })
    .await;
    for (i, u) in before.iter().enumerate() {
        let s = posters::upload(&api.client, &api.base, u, posters::wav(i as u8)).await;
        assert_eq!(s, Some(StatusCode::OK));
    }

    // The outage.
    proxy.cut();
    let direct = Uuid::new_v4();
    let s = posters::post_cdr(&api.client, &api.base, &direct).await;
    assert_eq!(
        s,
        Some(StatusCode::SERVICE_UNAVAILABLE),
        "a CDR during the outage"
    );
    let s = posters::upload(&api.client, &api.base, &direct, posters::wav(40)).await;
    assert_eq!(
        s,
        Some(StatusCode::SERVICE_UNAVAILABLE),
        "an upload during the outage"
    );
    let ready = api.client.get(api.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);

    // Calls keep ending on the switch: fsim posts their CDRs into the outage and retries.
    let during: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
    esl.originate(&sim, &during).await;
    // Their recordings too, each first refused, then retried like curl --retry.
    let mut uploads = Vec::new();
    for (i, u) in during.iter().chain([&direct]).enumerate() {
        let first = posters::upload(&api.client, &api.base, u, posters::wav(10 + i as u8)).await;
        assert_eq!(
            first,
            Some(StatusCode::SERVICE_UNAVAILABLE),
            "upload {i} in the outage"
        );
        let (api, u, seed) = (api.clone(), *u, 10 + i as u8);
        uploads.push(tokio::spawn(async move {
            until_accepted(40, Duration::from_millis(250), || {
                posters::upload(&api.client, &api.base, &u, posters::wav(seed))
            })
            .await
        }));
    }
    let cdr_retry = {
        let api = api.clone();
        tokio::spawn(async move {
            until_accepted(40, Duration::from_millis(250), || {
                posters::post_cdr(&api.client, &api.base, &direct)
            })
            .await
        })
    };
    // Nothing reached the database while it was away.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(stored_cdrs(&db, &during).await, 0);
    assert_eq!(count(&db, "SELECT count(*) FROM recordings").await, 3);

    // Postgres is back; the same process recovers.
    proxy.restore();
    for u in uploads {
        let tries = u.await.unwrap();
        assert!(tries.succeeded(), "{tries:?}");
    }
    let tries = cdr_retry.await.unwrap();
    assert!(tries.succeeded(), "{tries:?}");
    eventually("fsim's retried CDRs", Duration::from_secs(20), || async {
        (stored_cdrs(&db, &during).await == 5).then_some(())
    })
    .await;

    // Exactly once: one CDR per leg, one recording row and one file per call.
    let all: Vec<Uuid> = before
        .iter()
        .chain(&during)
        .chain([&direct])
        .copied()
        .collect();
    let mut want: Vec<String> = all.iter().map(Uuid::to_string).collect();
    want.sort();
    assert_eq!(cdr_uuids(&db).await, want);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM recordings WHERE status = 'stored'"
        )
        .await,
        9
    );
    assert_eq!(files_under(&app.files.join("recordings")).len(), 9);
    assert!(files_under(&app.files.join("spool/incoming")).is_empty());
    // Posting again what is stored changes nothing (FreeSWITCH's retry after a lost 200).
    assert_eq!(
        posters::post_cdr(&api.client, &api.base, &direct).await,
        Some(StatusCode::OK)
    );
    assert_eq!(cdr_uuids(&db).await, want);
    let ready = api.client.get(api.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
}
