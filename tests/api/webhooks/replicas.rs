//! Durability and concurrency: the outbox outlives a worker, and several workers on one
//! database share the work without sending anything twice.

use std::collections::HashMap;
use std::time::Duration;

use callplane::webhooks::attempts_for_call;
use uuid::Uuid;

use super::receiver::{Receiver, Reply};
use super::{Replica, completed, enqueue, eventually, fast, wait_for_status};
use crate::helpers::TestApp;

#[tokio::test]
async fn a_worker_restarted_mid_retry_still_delivers_with_the_same_id() {
    let receiver = Receiver::start(vec![Reply::status(500)]).await;
    let db = TestApp::spawn().await; // the database; its own app sends nothing (no URL)
    let call = Uuid::new_v4();
    let id = enqueue(&db.pool, &completed(call)).await;

    // The first replica fails once and schedules the retry far enough out to stop it first.
    let first = Replica::start(&db, |w| {
        fast(w, &receiver.url());
        w.backoff_base_ms = 1500;
    })
    .await;
    eventually("the first attempt", || async {
        let a = attempts_for_call(&db.pool, call).await.unwrap();
        (a.len() == 1).then_some(())
    })
    .await;
    first.stop().await;
    assert_eq!(receiver.received().len(), 1);

    let _second = Replica::start(&db, |w| fast(w, &receiver.url())).await;
    let d = wait_for_status(&db.pool, call, "delivered").await;
    assert_eq!(d.attempts, 2);
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert!(
        got.iter()
            .all(|r| r.header("webhook-id") == Some(id.as_str()))
    );
}

#[tokio::test]
async fn two_workers_on_one_database_deliver_each_event_exactly_once() {
    let receiver = Receiver::start(vec![]).await;
    // Slow answers keep both workers busy at once, so their claims really overlap.
    receiver.then_always(Reply::status(200).after(Duration::from_millis(30)));
    let db = TestApp::spawn().await;
    let calls: Vec<Uuid> = (0..40).map(|_| Uuid::new_v4()).collect();
    for c in &calls {
        enqueue(&db.pool, &completed(*c)).await;
    }
    let workers = [
        Replica::start(&db, |w| {
            fast(w, &receiver.url());
            w.batch_size = 4;
        })
        .await,
        Replica::start(&db, |w| {
            fast(w, &receiver.url());
            w.batch_size = 4;
        })
        .await,
    ];

    eventually("every event delivered", || async {
        let pending: i64 =
            sqlx::query_scalar("SELECT count(*) FROM webhook_outbox WHERE status <> 'delivered'")
                .fetch_one(&db.pool)
                .await
                .unwrap();
        (pending == 0).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(workers);

    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in receiver.received() {
        *seen
            .entry(r.header("webhook-id").unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(seen.len(), calls.len());
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
    assert_eq!(db.count("webhook_attempts").await, calls.len() as i64);
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_receiver_that_hangs_and_the_event_stays_pending() {
    let receiver = Receiver::start(vec![Reply::status(200).after(Duration::from_secs(60))]).await;
    let db = TestApp::spawn().await;
    let call = Uuid::new_v4();
    enqueue(&db.pool, &completed(call)).await;
    let replica = Replica::start(&db, |w| {
        fast(w, &receiver.url());
        w.timeout_ms = 30_000;
    })
    .await;
    eventually("the request in flight", || async {
        (receiver.received().len() == 1).then_some(())
    })
    .await;

    let started = std::time::Instant::now();
    replica.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    // The abandoned attempt is neither delivered nor lost: the lease brings it back later.
    let d = callplane::webhooks::deliveries_for_call(&db.pool, call)
        .await
        .unwrap();
    assert_eq!(d[0].status, "pending");
    assert!(d[0].next_attempt_at.unwrap() > chrono::Utc::now() + chrono::Duration::seconds(30));
}
