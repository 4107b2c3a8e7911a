//! The node supervisor over real TCP: states, re-subscription after a restart, several nodes,
//! a consumer that does not keep up, and shutdown.

use std::sync::atomic::Ordering;
use std::time::Duration;

use callplane::esl::{
    NodeState, NodeStatus, SUBSCRIBED_EVENTS, Supervisor, SupervisorHandle, SupervisorOptions,
};
use tokio::sync::{broadcast::error::RecvError, watch};
use tokio::time::{Instant, timeout};

use crate::server::{FakeSwitch, event_frame};

const PW: &str = "ClueCon";
const PROMPT: Duration = Duration::from_secs(5);

fn fast() -> SupervisorOptions {
    SupervisorOptions {
        connect_timeout: Duration::from_secs(2),
        idle_timeout: None,
        backoff_initial: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        ..SupervisorOptions::default()
    }
}

fn start(nodes: &[&str], options: SupervisorOptions) -> (SupervisorHandle, watch::Sender<bool>) {
    let (stop, shutdown) = watch::channel(false);
    let nodes = nodes.iter().map(|n| n.to_string()).collect();
    (
        Supervisor::start_with(nodes, PW.into(), options, shutdown),
        stop,
    )
}

async fn wait_status(
    sup: &SupervisorHandle,
    node: &str,
    pred: impl Fn(&NodeStatus) -> bool,
) -> NodeStatus {
    let deadline = Instant::now() + PROMPT;
    loop {
        let status = sup
            .statuses()
            .into_iter()
            .find(|s| s.node == node)
            .expect("node listed");
        if pred(&status) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "status never matched, last: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn connected(sup: &SupervisorHandle, node: &str) -> NodeStatus {
    wait_status(sup, node, |s| s.state == NodeState::Connected).await
}

#[tokio::test]
async fn connects_subscribes_and_reports_connected_with_hostname() {
    let switch = FakeSwitch::start(PW, "fs-alpha").await;
    let (sup, _stop) = start(&[&switch.addr], fast());
    let status = connected(&sup, &switch.addr).await;
    assert_eq!(status.hostname.as_deref(), Some("fs-alpha"));
    assert_eq!(status.error, None);
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(json["state"], "connected");
    assert_eq!(json["node"], switch.addr.as_str());

    let expected = format!("event plain {}", SUBSCRIBED_EVENTS.join(" "));
    assert!(expected.ends_with("CUSTOM sofia::register sofia::unregister sofia::gateway_state"));
    assert_eq!(switch.commands()[0], [expected.as_str(), "api hostname"]);
    let handle = sup.node(&switch.addr).expect("handle while connected");
    assert_eq!(handle.api("echo ready").await.unwrap(), "ready");
    assert!(sup.node("10.9.9.9:8021").is_none());
}

#[tokio::test]
async fn configured_filters_are_applied_on_every_connection_and_duplicates_ignored() {
    let switch = FakeSwitch::start(PW, "fs").await;
    let options = SupervisorOptions {
        event_format: callplane::esl::EventFormat::Json,
        events: vec!["HEARTBEAT".into()],
        filters: vec![("Event-Name".into(), "HEARTBEAT".into())],
        ..fast()
    };
    let (sup, _stop) = start(&[&switch.addr, &switch.addr], options);
    connected(&sup, &switch.addr).await;
    assert_eq!(sup.statuses().len(), 1);
    switch.drop_connections();
    switch.wait_subscribed(2).await;
    connected(&sup, &switch.addr).await;
    for commands in switch.commands() {
        assert_eq!(
            commands,
            [
                "event json HEARTBEAT",
                "filter Event-Name HEARTBEAT",
                "api hostname"
            ]
        );
    }
}

#[tokio::test]
async fn wrong_password_reports_auth_failed() {
    let switch = FakeSwitch::start("not-ClueCon", "fs").await;
    let (sup, _stop) = start(&[&switch.addr], fast());
    let status = wait_status(&sup, &switch.addr, |s| s.state == NodeState::AuthFailed).await;
    assert_eq!(status.error.as_deref(), Some("-ERR invalid"));
    assert_eq!(
        serde_json::to_value(&status).unwrap()["state"],
        "auth_failed"
    );
    assert!(sup.node(&switch.addr).is_none());
    // It keeps retrying (the password may be fixed on the switch) without hiding the state.
    let attempts = switch.shared.attempts.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(switch.shared.attempts.load(Ordering::SeqCst) > attempts);
    assert_eq!(sup.statuses()[0].state, NodeState::AuthFailed);
    *switch.shared.password.lock().unwrap() = PW.to_string();
    connected(&sup, &switch.addr).await;
}

#[tokio::test]
async fn rude_rejection_reports_down_with_the_reason() {
    let switch = FakeSwitch::start(PW, "fs").await;
    switch
        .shared
        .rude
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let (sup, _stop) = start(&[&switch.addr], fast());
    let status = wait_status(&sup, &switch.addr, |s| s.error.is_some()).await;
    assert!(matches!(
        status.state,
        NodeState::Down | NodeState::Connecting
    ));
    assert!(status.error.unwrap().contains("Access Denied, go away."));
}

#[tokio::test]
async fn restart_reconnects_and_resubscribes_once_per_connection() {
    let switch = FakeSwitch::start(PW, "fs").await;
    let (sup, _stop) = start(&[&switch.addr], fast());
    let mut events = sup.subscribe();
    connected(&sup, &switch.addr).await;
    let old_handle = sup.node(&switch.addr).unwrap();

    switch.restart();
    let down = wait_status(&sup, &switch.addr, |s| s.state != NodeState::Connected).await;
    assert!(down.error.unwrap_or_default().contains("shut down"));
    assert!(sup.node(&switch.addr).is_none());
    tokio::time::sleep(Duration::from_millis(100)).await; // a few refused attempts
    switch.come_back();
    switch.wait_subscribed(2).await;
    let status = connected(&sup, &switch.addr).await;
    assert_eq!(status.hostname.as_deref(), Some("fs"));

    let per_connection: Vec<usize> = switch
        .commands()
        .iter()
        .map(|c| c.iter().filter(|l| l.starts_with("event ")).count())
        .collect();
    assert_eq!(
        per_connection,
        [1, 1],
        "one subscription per connection, none piled up"
    );
    assert!(
        old_handle.api("echo x").await.is_err(),
        "old handle is dead"
    );

    switch.push_event(&[("Event-Name", "HEARTBEAT")], None);
    let (node, ev) = timeout(PROMPT, events.recv()).await.unwrap().unwrap();
    assert_eq!(&*node, switch.addr.as_str());
    assert_eq!(ev.name(), "HEARTBEAT");
    assert_eq!(
        ev.core_uuid().map(str::to_string),
        Some(switch.shared.core_uuid.lock().unwrap().clone())
    );
}

#[tokio::test]
async fn two_nodes_at_once_and_every_event_carries_its_node() {
    let a = FakeSwitch::start(PW, "fs-a").await;
    let b = FakeSwitch::start(PW, "fs-b").await;
    let (sup, _stop) = start(&[&a.addr, &b.addr], fast());
    let mut events = sup.subscribe();
    connected(&sup, &a.addr).await;
    connected(&sup, &b.addr).await;
    let nodes: Vec<String> = sup.connected().into_iter().map(|(n, _)| n).collect();
    let mut expected = vec![a.addr.clone(), b.addr.clone()];
    expected.sort();
    assert_eq!(nodes, expected);
    assert_eq!(
        sup.node(&b.addr).unwrap().api("hostname").await.unwrap(),
        "fs-b"
    );

    a.push_event(
        &[("Event-Name", "CHANNEL_CREATE"), ("Unique-ID", "from-a")],
        None,
    );
    b.push_event(
        &[("Event-Name", "CHANNEL_CREATE"), ("Unique-ID", "from-b")],
        None,
    );
    let mut seen = Vec::new();
    for _ in 0..2 {
        let (node, ev) = timeout(PROMPT, events.recv()).await.unwrap().unwrap();
        seen.push((
            node.to_string(),
            ev.unique_id().unwrap().to_string(),
            ev.hostname().unwrap().to_string(),
        ));
    }
    seen.sort();
    let mut want = vec![
        (a.addr.clone(), "from-a".to_string(), "fs-a".to_string()),
        (b.addr.clone(), "from-b".to_string(), "fs-b".to_string()),
    ];
    want.sort();
    assert_eq!(seen, want);

    let job = sup
        .node(&a.addr)
        .unwrap()
        .bgapi("originate user/1 &park()")
        .await
        .unwrap();
    assert!(
        timeout(PROMPT, job.result())
            .await
            .unwrap()
            .unwrap()
            .is_ok()
    );
}

#[tokio::test]
async fn an_unreachable_node_is_down_and_does_not_hold_up_the_others() {
    let dead = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().to_string()
    };
    let live = FakeSwitch::start(PW, "fs").await;
    let (sup, _stop) = start(&[&dead, &live.addr], fast());
    connected(&sup, &live.addr).await;
    let status = wait_status(&sup, &dead, |s| s.error.is_some()).await;
    assert!(status.error.unwrap().contains("cannot connect"));
    assert_ne!(status.state, NodeState::Connected);
    assert_eq!(sup.statuses()[0].node, dead, "configuration order kept");
}

#[tokio::test]
async fn a_stalled_consumer_lags_while_the_reader_keeps_draining() {
    let switch = FakeSwitch::start(PW, "fs").await;
    let options = SupervisorOptions {
        event_capacity: 16,
        ..fast()
    };
    let (sup, _stop) = start(&[&switch.addr], options);
    let mut stalled = sup.subscribe();
    let mut watcher = sup.subscribe();
    connected(&sup, &switch.addr).await;
    // 2000 events in one write, then a marker: the wire order is fixed.
    let mut burst = Vec::new();
    for i in 0..2000 {
        let id = format!("u{i}");
        burst.extend(event_frame(
            "plain",
            &[("Event-Name", "CHANNEL_PROGRESS"), ("Unique-ID", &id)],
            None,
        ));
    }
    switch.push_raw(&burst);
    switch.push_event(
        &[("Event-Name", "CUSTOM"), ("Event-Subclass", "test::marker")],
        None,
    );
    // Another consumer, tolerating lag, sees the marker: the reader got through the burst
    // although one subscriber reads nothing at all.
    loop {
        match timeout(PROMPT, watcher.recv()).await.unwrap() {
            Ok((_, ev)) if ev.subclass() == Some("test::marker") => break,
            Ok(_) | Err(RecvError::Lagged(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    // The socket is still served: a background job round trip completes.
    let job = sup
        .node(&switch.addr)
        .unwrap()
        .bgapi("originate user/1 &park()")
        .await
        .unwrap();
    timeout(PROMPT, job.result()).await.unwrap().unwrap();
    match stalled.recv().await {
        Err(RecvError::Lagged(n)) => assert!(n >= 1980, "lagged {n}"),
        other => panic!("expected a lag report, got {other:?}"),
    }
    // After the lag report the stalled consumer resumes with the newest buffered events.
    let (_, ev) = stalled.recv().await.unwrap();
    assert_eq!(ev.name(), "CHANNEL_PROGRESS");
}

#[tokio::test]
async fn shutdown_sends_exit_and_stops_every_node_task() {
    let a = FakeSwitch::start(PW, "fs-a").await;
    let dead = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().to_string()
    };
    let (sup, stop) = start(&[&a.addr, &dead], fast());
    connected(&sup, &a.addr).await;
    stop.send(true).unwrap();
    timeout(PROMPT, sup.stopped()).await.expect("tasks stop");
    assert_eq!(a.commands()[0].last().map(String::as_str), Some("exit"));
    for status in sup.statuses() {
        assert_eq!(status.state, NodeState::Down);
        assert_eq!(status.error.as_deref(), Some("shut down"));
    }
    assert!(sup.connected().is_empty());
}
