//! One connection over real TCP against the scripted server: handshake outcomes, api/bgapi,
//! events, and what happens to in-flight work when the socket goes away.

use std::time::Duration;

use callplane::esl::{
    ConnectOptions, Connection, EslError, EslHandle, EventFormat, NodeEvent, connect,
};
use tokio::sync::broadcast;
use tokio::time::timeout;
use uuid::Uuid;

use crate::fixtures::{fixture, frames};
use crate::server::FakeSwitch;

const PW: &str = "ClueCon";
const PROMPT: Duration = Duration::from_secs(2);

async fn open(switch: &FakeSwitch) -> (EslHandle, Connection, broadcast::Receiver<NodeEvent>) {
    let (tx, rx) = broadcast::channel(1024);
    let (handle, conn) = connect(
        &switch.addr,
        PW,
        ConnectOptions::new(switch.addr.as_str(), tx),
    )
    .await
    .expect("connects");
    (handle, conn, rx)
}

async fn try_open(
    switch: &FakeSwitch,
    password: &str,
) -> Result<(EslHandle, Connection), EslError> {
    let (tx, _) = broadcast::channel(16);
    connect(&switch.addr, password, ConnectOptions::new("n", tx)).await
}

#[tokio::test]
async fn auth_success_then_api_returns_the_body() {
    let switch = FakeSwitch::start(PW, "fs-one").await;
    let (esl, _conn, _events) = open(&switch).await;
    assert_eq!(esl.api("hostname").await.unwrap(), "fs-one");
    assert_eq!(esl.api("echo hello world").await.unwrap(), "hello world");
    assert_eq!(esl.node(), switch.addr);
}

#[tokio::test]
async fn api_err_body_is_a_command_failure_that_is_not_retryable() {
    let switch = FakeSwitch::start(PW, "fs").await;
    let (esl, _conn, _events) = open(&switch).await;
    let err = esl.api("version;;status").await.unwrap_err();
    assert!(
        matches!(&err, EslError::CommandFailed(m) if m == "-ERR version;;status Command not found!"),
        "{err}"
    );
    assert!(!err.is_retryable());
    // The connection is still usable afterwards.
    assert_eq!(esl.api("echo ok").await.unwrap(), "ok");
}

#[tokio::test]
async fn wrong_password_is_auth_failed() {
    let switch = FakeSwitch::start(PW, "fs").await;
    let err = try_open(&switch, "wrong").await.unwrap_err();
    assert!(
        matches!(&err, EslError::AuthFailed(m) if m == "-ERR invalid"),
        "{err}"
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn rude_rejection_is_reported_as_rejected() {
    let switch = FakeSwitch::start(PW, "fs").await;
    switch
        .shared
        .rude
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let err = try_open(&switch, PW).await.unwrap_err();
    assert!(
        matches!(&err, EslError::Rejected(m) if m == "Access Denied, go away."),
        "{err}"
    );
}

#[tokio::test]
async fn connection_refused_is_a_retryable_connect_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    drop(listener);
    let (tx, _) = broadcast::channel(1);
    let err = connect(&addr, PW, ConnectOptions::new(addr.as_str(), tx))
        .await
        .unwrap_err();
    assert!(matches!(err, EslError::Connect { .. }), "{err}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn in_flight_command_fails_promptly_when_the_socket_drops() {
    let switch = FakeSwitch::start(PW, "fs").await;
    let (esl, mut conn, _events) = open(&switch).await;
    esl.subscribe(EventFormat::Plain, &["BACKGROUND_JOB"])
        .await
        .unwrap();
    let job = esl.bgapi("hold").await.unwrap();
    let waiting = tokio::spawn({
        let esl = esl.clone();
        async move { esl.api("hold").await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    switch.drop_connections();

    let err = timeout(PROMPT, waiting)
        .await
        .expect("fails promptly")
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, EslError::ConnectionLost(_)), "{err}");
    assert!(err.to_string().contains("connection lost"), "{err}");
    assert!(err.is_retryable());
    let job_err = timeout(PROMPT, job.result()).await.unwrap().unwrap_err();
    assert!(matches!(job_err, EslError::ConnectionLost(_)), "{job_err}");
    assert!(matches!(conn.closed().await, EslError::ConnectionLost(_)));
    // Later calls on the stale handle fail the same way instead of hanging.
    assert!(matches!(
        esl.api("echo x").await,
        Err(EslError::ConnectionLost(_))
    ));
    assert!(!esl.is_connected());
}

#[tokio::test]
async fn disconnect_notice_ends_the_connection_with_its_text() {
    let switch = FakeSwitch::start(PW, "fs").await;
    let (esl, mut conn, _events) = open(&switch).await;
    let waiting = tokio::spawn({
        let esl = esl.clone();
        async move { esl.api("hold").await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    switch.restart();
    let err = timeout(PROMPT, waiting)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert!(
        err.to_string().contains("The system is being shut down."),
        "{err}"
    );
    let reason = timeout(PROMPT, conn.closed()).await.unwrap();
    assert!(
        matches!(&reason, EslError::ConnectionLost(m) if m.contains("disconnect notice")),
        "{reason}"
    );
}

#[tokio::test]
async fn bgapi_sends_our_job_uuid_and_gets_the_matching_background_job() {
    let switch = FakeSwitch::start(PW, "fs").await;
    let (esl, _conn, mut events) = open(&switch).await;
    esl.subscribe(EventFormat::Plain, &["BACKGROUND_JOB"])
        .await
        .unwrap();
    let id = Uuid::new_v4();
    let job = esl
        .bgapi_with_job_uuid("originate {origination_uuid=abc}user/1000 &park()", id)
        .await
        .unwrap();
    assert_eq!(job.job_uuid, id);
    let result = timeout(PROMPT, job.result()).await.unwrap().unwrap();
    assert!(result.is_ok(), "{}", result.body);
    assert_eq!(result.event.job_uuid(), Some(id.to_string().as_str()));
    assert_eq!(result.event.header("Job-Command"), Some("originate"));
    // The same event is also published to subscribers, tagged with the node.
    let (node, event) = timeout(PROMPT, events.recv()).await.unwrap().unwrap();
    assert_eq!(&*node, switch.addr.as_str());
    assert_eq!(event.job_uuid(), Some(id.to_string().as_str()));
}

#[tokio::test]
async fn background_job_is_matched_even_when_it_arrives_before_the_reply() {
    let switch = FakeSwitch::start(PW, "fs").await;
    switch
        .shared
        .job_event_first
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let (esl, _conn, _events) = open(&switch).await;
    esl.subscribe(EventFormat::Json, &["BACKGROUND_JOB"])
        .await
        .unwrap();
    let job = esl.bgapi("fail originate user/1000 &park()").await.unwrap();
    let result = timeout(PROMPT, job.result()).await.unwrap().unwrap();
    assert!(!result.is_ok());
    assert_eq!(result.body, "-ERR NO_ANSWER\n");
}

#[tokio::test]
async fn concurrent_background_jobs_each_get_their_own_result() {
    let switch = FakeSwitch::start(PW, "fs").await;
    let (esl, _conn, _events) = open(&switch).await;
    esl.subscribe(EventFormat::Plain, &["BACKGROUND_JOB"])
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let esl = esl.clone();
        tasks.push(tokio::spawn(async move {
            let cmd = if i % 3 == 0 {
                "fail originate x"
            } else {
                "originate x"
            };
            let job = esl.bgapi(cmd).await.unwrap();
            let id = job.job_uuid;
            let result = job.result().await.unwrap();
            assert_eq!(result.event.job_uuid(), Some(id.to_string().as_str()));
            assert_eq!(result.is_ok(), i % 3 != 0);
        }));
    }
    for t in tasks {
        timeout(PROMPT, t).await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn writer_refuses_crlf_before_anything_reaches_the_socket() {
    let switch = FakeSwitch::start(PW, "fs").await;
    let (esl, _conn, _events) = open(&switch).await;
    let err = esl.api("status\r\n\r\nbgapi system id").await.unwrap_err();
    assert!(matches!(err, EslError::InvalidArgument(_)), "{err}");
    let err = esl
        .bgapi("originate user/1000 &park()\nJob-UUID: x")
        .await
        .unwrap_err();
    assert!(matches!(err, EslError::InvalidArgument(_)), "{err}");
    let err = esl.filter("Unique-ID", "x\n\nexit").await.unwrap_err();
    assert!(matches!(err, EslError::InvalidArgument(_)), "{err}");
    esl.api("echo fence").await.unwrap();
    let sent = switch.commands().concat();
    assert_eq!(sent, ["api echo fence"]);
}

#[tokio::test]
async fn api_originate_is_refused_in_favour_of_bgapi() {
    let switch = FakeSwitch::start(PW, "fs").await;
    let (esl, _conn, _events) = open(&switch).await;
    let err = esl.api("originate user/1000 &park()").await.unwrap_err();
    assert!(
        matches!(&err, EslError::InvalidArgument(m) if m.contains("bgapi")),
        "{err}"
    );
    let err = esl.api("  ORIGINATE user/1000 &park()").await.unwrap_err();
    assert!(matches!(err, EslError::InvalidArgument(_)), "{err}");
    assert!(switch.commands()[0].is_empty(), "nothing sent");
}

#[tokio::test]
async fn a_caller_giving_up_does_not_shift_later_replies() {
    let switch = FakeSwitch::start(PW, "fs").await;
    let (esl, _conn, _events) = open(&switch).await;
    let abandoned = tokio::spawn({
        let esl = esl.clone();
        async move { esl.api("echo first").await }
    });
    abandoned.abort();
    for i in 0..20 {
        assert_eq!(
            esl.api(&format!("echo n{i}")).await.unwrap(),
            format!("n{i}")
        );
    }
}

#[tokio::test]
async fn plain_and_json_events_are_published_with_their_node() {
    let switch = FakeSwitch::start(PW, "fs").await;
    let (esl, _conn, mut events) = open(&switch).await;
    esl.subscribe(EventFormat::Json, &["CHANNEL_ANSWER"])
        .await
        .unwrap();
    esl.filter("Unique-ID", "u-1").await.unwrap();
    switch.push_event(
        &[
            ("Event-Name", "CHANNEL_ANSWER"),
            ("Unique-ID", "u-1"),
            ("Caller-Caller-ID-Name", "Zoë & co"),
        ],
        None,
    );
    let (node, ev) = timeout(PROMPT, events.recv()).await.unwrap().unwrap();
    assert_eq!(&*node, switch.addr.as_str());
    assert_eq!(ev.name(), "CHANNEL_ANSWER");
    assert_eq!(ev.header("caller-caller-id-name"), Some("Zoë & co"));
    assert_eq!(ev.hostname(), Some("fs"));
    assert_eq!(
        switch.commands()[0],
        ["event json CHANNEL_ANSWER", "filter Unique-ID u-1"]
    );
}

/// Replays capture bytes through a real socket: the inbound BACKGROUND_JOB frame and every event
/// of an outbound session, all in one write, which the client must split into events in order.
#[tokio::test]
async fn captured_event_bytes_replayed_over_tcp() {
    let switch = FakeSwitch::start(PW, "fs").await;
    let (esl, _conn, mut events) = open(&switch).await;
    esl.subscribe(EventFormat::Plain, &["ALL"]).await.unwrap();

    let inbound = fixture(
        "neventsocket_inbound_stream_auth_bgapi_originate_err_recovery_on_timer_expire.txt",
    );
    let start = inbound
        .windows(19)
        .position(|w| w == b"Content-Length: 759")
        .unwrap();
    let mut wire = inbound[start..].to_vec();
    let outbound = frames(&fixture(
        "neventsocket_outbound_stream_dtmf_events_bridge.txt",
    ));
    let mut expected = vec!["BACKGROUND_JOB".to_string()];
    for f in outbound
        .iter()
        .filter(|f| f.content_type() == Some("text/event-plain"))
    {
        let body = f.body.as_ref().unwrap();
        wire.extend(
            format!(
                "Content-Length: {}\nContent-Type: text/event-plain\n\n",
                body.len()
            )
            .bytes(),
        );
        wire.extend_from_slice(body);
        let name = callplane::esl::Event::parse_plain(body)
            .unwrap()
            .name()
            .to_string();
        expected.push(name);
    }
    switch.push_raw(&wire);

    let mut got = Vec::new();
    while got.len() < expected.len() {
        let (_, ev) = timeout(PROMPT, events.recv()).await.unwrap().unwrap();
        if got.is_empty() {
            assert_eq!(ev.job_uuid(), Some("43e14ab9-38b1-4187-9f08-e13f35136bb2"));
            assert_eq!(ev.body(), Some("-ERR RECOVERY_ON_TIMER_EXPIRE\n"));
        }
        got.push(ev.name().to_string());
    }
    assert_eq!(got, expected);
    assert_eq!(got.iter().filter(|n| *n == "DTMF").count(), 12);
}

#[tokio::test]
async fn exit_closes_the_connection_cleanly() {
    let switch = FakeSwitch::start(PW, "fs").await;
    let (esl, mut conn, _events) = open(&switch).await;
    esl.exit().await.unwrap();
    let reason = timeout(PROMPT, conn.closed()).await.unwrap();
    assert!(matches!(reason, EslError::Closed), "{reason}");
    assert_eq!(switch.commands()[0], ["exit"]);
}

#[tokio::test]
async fn a_silent_connection_is_dropped_after_the_idle_limit() {
    let switch = FakeSwitch::start(PW, "fs").await;
    let (tx, _rx) = broadcast::channel(4);
    let mut options = ConnectOptions::new("idle", tx);
    options.idle_timeout = Some(Duration::from_millis(150));
    let (_esl, mut conn) = connect(&switch.addr, PW, options).await.unwrap();
    let reason = timeout(PROMPT, conn.closed()).await.unwrap();
    assert!(matches!(reason, EslError::Idle(_)), "{reason}");
}

#[tokio::test]
async fn garbage_from_the_peer_ends_the_connection_with_a_protocol_error() {
    let switch = FakeSwitch::start(PW, "fs").await;
    let (esl, mut conn, _events) = open(&switch).await;
    let waiting = tokio::spawn({
        let esl = esl.clone();
        async move { esl.api("hold").await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    switch.push_raw(b"HTTP/1.1 400 Bad Request\n\n");
    let reason = timeout(PROMPT, conn.closed()).await.unwrap();
    assert!(matches!(reason, EslError::Protocol(_)), "{reason}");
    let err = timeout(PROMPT, waiting)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, EslError::ConnectionLost(_)), "{err}");
}
