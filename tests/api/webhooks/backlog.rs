//! The webhook backlog on `/metrics`: events waiting, the age of the oldest, events given up.

use crate::helpers::TestApp;

async fn enqueue(app: &TestApp, id: &str, status: &str, age_secs: i64) {
    sqlx::query(
        "INSERT INTO webhook_outbox (webhook_id, call_uuid, event_type, payload, body, status, created_at)
         VALUES ($1, gen_random_uuid(), 'call.completed', '{}', '{}', $2,
                 now() - make_interval(secs => $3))",
    )
    .bind(id)
    .bind(status)
    .bind(age_secs as f64)
    .execute(&app.pool)
    .await
    .unwrap();
}

fn value(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} missing:\n{metrics}"))
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn metrics_show_the_webhook_backlog_its_oldest_event_and_failures() {
    let app = TestApp::spawn().await;
    let scrape = || async {
        let res = app.client.get(app.url("/metrics")).send().await.unwrap();
        res.text().await.unwrap()
    };
    let empty = scrape().await;
    assert_eq!(value(&empty, "callplane_webhooks_pending"), 0.0);
    assert_eq!(
        value(&empty, "callplane_webhooks_oldest_pending_seconds"),
        0.0
    );

    enqueue(&app, "msg_old", "pending", 600).await;
    enqueue(&app, "msg_new", "pending", 5).await;
    enqueue(&app, "msg_gone", "failed", 90_000).await;
    enqueue(&app, "msg_done", "delivered", 90_000).await;
    let m = scrape().await;
    assert_eq!(value(&m, "callplane_webhooks_pending"), 2.0, "{m}");
    let oldest = value(&m, "callplane_webhooks_oldest_pending_seconds");
    assert!((600.0..610.0).contains(&oldest), "{oldest}");
    assert_eq!(value(&m, "callplane_webhooks_failed"), 1.0, "{m}");
}
