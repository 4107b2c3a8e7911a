//! Failures: retries with the same id, a receiver that is down, redirects, Retry-After,
//! 410 Gone, the end of the retry window and a backlog older than it.

use std::time::Duration;

use callplane::webhooks::{attempts_for_call, deliveries_for_call};
use uuid::Uuid;

use super::receiver::{Receiver, Reply, closed_port, url_at};
use super::{app_posting_to, completed, enqueue, eventually, wait_for_status};

#[tokio::test]
async fn a_500_then_200_is_delivered_on_the_retry_with_the_same_id_and_body() {
    let receiver = Receiver::start(vec![Reply::status(500)]).await;
    let app = app_posting_to(&receiver.url(), |_| {}).await;
    let call = Uuid::new_v4();
    let id = enqueue(&app.pool, &completed(call)).await;

    let d = wait_for_status(&app.pool, call, "delivered").await;
    assert_eq!(d.attempts, 2);
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    for r in &got {
        assert_eq!(r.header("webhook-id"), Some(id.as_str()));
        assert_eq!(r.body, got[0].body);
    }
    let attempts = attempts_for_call(&app.pool, call).await.unwrap();
    let codes: Vec<_> = attempts.iter().map(|a| a.status_code).collect();
    assert_eq!(codes, [Some(500), Some(200)]);
    let err = attempts[0].error.as_deref().unwrap();
    assert!(
        err.contains("500") && err.contains("receiver says hi"),
        "{err}"
    );
    assert!(attempts.iter().all(|a| a.webhook_id == id));
}

#[tokio::test]
async fn a_receiver_that_is_down_gets_the_event_once_it_is_up() {
    let addr = closed_port().await;
    let app = app_posting_to(&url_at(addr), |_| {}).await;
    let call = Uuid::new_v4();
    enqueue(&app.pool, &completed(call)).await;

    let failed = eventually("two refused attempts", || async {
        let a = attempts_for_call(&app.pool, call).await.unwrap();
        (a.len() >= 2).then_some(a)
    })
    .await;
    assert!(failed.iter().all(|a| a.status_code.is_none()));
    let err = failed[0].error.as_deref().unwrap();
    assert!(err.starts_with("connect failed"), "{err}");
    assert!(
        !err.contains("hooks/calls"),
        "the URL is kept out of errors: {err}"
    );

    let receiver = Receiver::start_on(addr, vec![]).await;
    wait_for_status(&app.pool, call, "delivered").await;
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_counts_as_a_failed_attempt() {
    let receiver = Receiver::start(vec![
        Reply::status(302).header("location", "/elsewhere"),
        Reply::status(308).header("location", "http://127.0.0.1:1/internal"),
    ])
    .await;
    let app = app_posting_to(&receiver.url(), |_| {}).await;
    let call = Uuid::new_v4();
    enqueue(&app.pool, &completed(call)).await;

    wait_for_status(&app.pool, call, "delivered").await;
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter()
            .all(|r| r.method == "POST" && r.path == "/hooks/calls")
    );
    let attempts = attempts_for_call(&app.pool, call).await.unwrap();
    assert_eq!(attempts[0].status_code, Some(302));
    let err = attempts[0].error.as_deref().unwrap();
    assert!(err.contains("redirect to /elsewhere not followed"), "{err}");
    assert_eq!(attempts[1].status_code, Some(308));
}

#[tokio::test]
async fn retry_after_on_429_is_honoured_instead_of_the_backoff() {
    let receiver = Receiver::start(vec![Reply::status(429).header("retry-after", "1")]).await;
    // A backoff of ten minutes: only Retry-After can bring the second attempt within the test.
    let app = app_posting_to(&receiver.url(), |w| {
        w.backoff_base_ms = 600_000;
        w.backoff_max_secs = 600;
    })
    .await;
    let call = Uuid::new_v4();
    enqueue(&app.pool, &completed(call)).await;

    wait_for_status(&app.pool, call, "delivered").await;
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    let gap = got[1].at - got[0].at;
    assert!(gap >= Duration::from_millis(950), "waited {gap:?}");
    assert!(gap < Duration::from_secs(5), "waited {gap:?}");
}

#[tokio::test]
async fn retry_after_is_bounded_by_the_configured_maximum() {
    let receiver = Receiver::start(vec![Reply::status(503).header("retry-after", "86400")]).await;
    let app = app_posting_to(&receiver.url(), |w| w.retry_after_max_secs = 1).await;
    let call = Uuid::new_v4();
    enqueue(&app.pool, &completed(call)).await;
    wait_for_status(&app.pool, call, "delivered").await;
    assert_eq!(receiver.received().len(), 2);
}

#[tokio::test]
async fn gone_stops_retrying_that_event() {
    let receiver = Receiver::start(vec![Reply::status(410)]).await;
    let app = app_posting_to(&receiver.url(), |_| {}).await;
    let call = Uuid::new_v4();
    enqueue(&app.pool, &completed(call)).await;

    let d = wait_for_status(&app.pool, call, "failed").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1, "no retry after 410");
    assert!(d.last_error.as_deref().unwrap().contains("410"), "{d:?}");
    assert_eq!(d.next_attempt_at, None);
}

#[tokio::test]
async fn an_event_still_failing_when_the_retry_window_ends_is_failed() {
    let receiver = Receiver::start(vec![]).await;
    receiver.then_always(Reply::status(500));
    let app = app_posting_to(&receiver.url(), |w| {
        w.retry_for_secs = 1;
        w.backoff_base_ms = 300;
    })
    .await;
    let call = Uuid::new_v4();
    let queued = std::time::Instant::now();
    enqueue(&app.pool, &completed(call)).await;

    let d = wait_for_status(&app.pool, call, "failed").await;
    let sent = receiver.received().len();
    assert!(sent >= 2, "retried within the window: {sent}");
    assert_eq!(d.attempts as usize, sent);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), sent, "nothing after the window");
    // The last attempt is made at the end of the window (1 s after queueing), not skipped.
    let last = receiver.received()[sent - 1].at - queued;
    assert!(last >= Duration::from_millis(900), "{last:?}");
}

#[tokio::test]
async fn the_attempt_cap_fails_an_event_early() {
    let receiver = Receiver::start(vec![]).await;
    receiver.then_always(Reply::status(500));
    let app = app_posting_to(&receiver.url(), |w| w.max_attempts = 3).await;
    let call = Uuid::new_v4();
    enqueue(&app.pool, &completed(call)).await;
    let d = wait_for_status(&app.pool, call, "failed").await;
    assert_eq!(d.attempts, 3);
    assert_eq!(receiver.received().len(), 3);
}

#[tokio::test]
async fn a_backlog_older_than_the_retry_window_is_failed_without_being_sent() {
    let receiver = Receiver::start(vec![]).await;
    let app = app_posting_to(&receiver.url(), |w| w.retry_for_secs = 3600).await;
    let (old, fresh) = (Uuid::new_v4(), Uuid::new_v4());
    // Queued two hours ago, while no URL was configured: insert and age it in one
    // transaction so the worker never sees it young.
    let mut tx = app.pool.begin().await.unwrap();
    callplane::webhooks::enqueue(&mut tx, &completed(old))
        .await
        .unwrap();
    sqlx::query(
        "UPDATE webhook_outbox SET retry_from = now() - interval '2 hours',
             next_attempt_at = now() - interval '2 hours' WHERE call_uuid = $1",
    )
    .bind(old)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    enqueue(&app.pool, &completed(fresh)).await;

    wait_for_status(&app.pool, fresh, "delivered").await;
    let d = wait_for_status(&app.pool, old, "failed").await;
    assert_eq!(d.attempts, 0);
    assert!(d.last_error.unwrap().contains("not sent"));
    assert_eq!(receiver.received().len(), 1);
    assert!(
        attempts_for_call(&app.pool, old).await.unwrap().is_empty()
            && deliveries_for_call(&app.pool, old).await.unwrap().len() == 1
    );
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out_and_is_retried() {
    let receiver = Receiver::start(vec![Reply::status(200).after(Duration::from_secs(30))]).await;
    let app = app_posting_to(&receiver.url(), |w| w.timeout_ms = 300).await;
    let call = Uuid::new_v4();
    enqueue(&app.pool, &completed(call)).await;

    wait_for_status(&app.pool, call, "delivered").await;
    let attempts = attempts_for_call(&app.pool, call).await.unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].status_code, None);
    let err = attempts[0].error.as_deref().unwrap();
    assert!(err.starts_with("timed out"), "{err}");
    let waited = attempts[0].latency_ms.unwrap();
    assert!((300..3000).contains(&waited), "{waited} ms");
}
