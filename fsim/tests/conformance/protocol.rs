//! mod_event_socket behaviour: auth, replies, bgapi, subscriptions, filters, heartbeats, exit.

use crate::client::{Client, start_sim};
use crate::fixture;
use fsim::SimConfig;

/// Frames of the NEventSocket inbound capture, split on the blank line that ends a header
/// block (this capture was turned from a C# literal into real newlines, nothing else).
fn inbound_capture() -> Vec<String> {
    let raw = fixture!(
        "esl/neventsocket_inbound_stream_auth_bgapi_originate_err_recovery_on_timer_expire.txt"
    );
    raw.split_inclusive("\n\n").map(str::to_string).collect()
}

#[tokio::test]
async fn connect_sends_auth_request_and_accepts_the_password() {
    let sim = start_sim(SimConfig::default()).await;
    let capture = inbound_capture();
    let (mut c, first) = Client::connect(&sim).await;
    assert_eq!(first.raw(), capture[0]);
    let reply = c.cmd("auth ClueCon").await;
    assert_eq!(reply.raw(), capture[1]);
}

#[tokio::test]
async fn wrong_password_is_rejected_then_disconnected() {
    let sim = start_sim(SimConfig::default()).await;
    let (mut c, _) = Client::connect(&sim).await;
    let reply = c.cmd("auth nope").await;
    assert_eq!(reply.header("Content-Type"), Some("command/reply"));
    assert_eq!(reply.header("Reply-Text"), Some("-ERR invalid"));
    let notice = c.frame().await;
    assert_eq!(
        notice.header("Content-Type"),
        Some("text/disconnect-notice")
    );
    assert_eq!(notice.header("Content-Length"), Some("67"));
    c.expect_eof().await;
}

#[tokio::test]
async fn commands_before_auth_are_refused_without_closing() {
    let sim = start_sim(SimConfig::default()).await;
    let (mut c, _) = Client::connect(&sim).await;
    let reply = c.cmd("api status").await;
    assert_eq!(reply.header("Reply-Text"), Some("-ERR command not found"));
    let reply = c.cmd("auth ClueCon").await;
    assert_eq!(reply.header("Reply-Text"), Some("+OK accepted"));
}

#[tokio::test]
async fn exit_says_bye_then_sends_the_captured_disconnect_notice() {
    let sim = start_sim(SimConfig::default()).await;
    let mut c = Client::authed(&sim).await;
    let bye = c.cmd("exit").await;
    assert_eq!(
        bye.raw(),
        "Content-Type: command/reply\nReply-Text: +OK bye\n\n"
    );
    let notice = c.frame().await;
    // The outbound capture's notice adds session headers; its body is the same text.
    let capture =
        fixture!("esl/neventsocket_outbound_stream_connect_bridge_hangup_linger_disconnect.txt");
    assert!(capture.ends_with(&notice.body), "body {:?}", notice.body);
    assert_eq!(
        notice.head,
        "Content-Type: text/disconnect-notice\nContent-Length: 67\n"
    );
    c.expect_eof().await;
}

#[tokio::test]
async fn event_subscription_reply_matches_capture() {
    let sim = start_sim(SimConfig::default()).await;
    let mut c = Client::authed(&sim).await;
    let reply = c.cmd("event plain BACKGROUND_JOB CHANNEL_ANSWER").await;
    assert_eq!(reply.raw(), inbound_capture()[2]);
    let json = c.cmd("event json ALL").await;
    assert_eq!(
        json.header("Reply-Text"),
        Some("+OK event listener enabled json")
    );
    let none = c.cmd("event plain NOT_AN_EVENT").await;
    assert_eq!(none.header("Reply-Text"), Some("-ERR no keywords supplied"));
}

#[tokio::test]
async fn bgapi_repeats_a_client_job_uuid_as_in_the_docs_capture() {
    // Docs-derived capture (copied from a fenced block in the mod_event_socket page).
    let capture = fixture!("esl/fsdocs_bgapi_command_reply_with_custom_job_uuid.txt");
    let sim = start_sim(SimConfig::default()).await;
    let mut c = Client::authed(&sim).await;
    let reply = c
        .cmd("bgapi status\nJob-UUID: d8c7f660-37a6-4e73-9170-1a731c442148")
        .await;
    assert_eq!(reply.head, capture);
}

#[tokio::test]
async fn bgapi_without_job_uuid_generates_one_and_fires_background_job() {
    let sim = start_sim(SimConfig {
        hostname: "box1".into(),
        ..SimConfig::default()
    })
    .await;
    let mut c = Client::authed(&sim).await;
    c.cmd("event plain BACKGROUND_JOB").await;
    let reply = c.cmd("bgapi hostname").await;
    let job = reply
        .header("Job-UUID")
        .expect("Job-UUID header")
        .to_string();
    assert_eq!(
        reply.header("Reply-Text").unwrap(),
        format!("+OK Job-UUID: {job}")
    );
    assert_eq!(uuid::Uuid::parse_str(&job).map(|_| ()), Ok(()));
    let frame = c.frame().await;
    assert_eq!(frame.header("Content-Type"), Some("text/event-plain"));
    let ev = frame.event();
    assert_eq!(ev.get("Job-UUID"), Some(job.as_str()));
    assert_eq!(ev.get("Job-Command"), Some("hostname"));
    assert_eq!(ev.get("Job-Command-Arg"), None);
    assert_eq!(ev.body.as_deref(), Some("box1"));
}

#[tokio::test]
async fn background_job_frame_has_the_captured_shape() {
    let capture = inbound_capture();
    let cap_frame = format!("{}{}", capture[4], capture[5]);
    let (cap_head, cap_body) = cap_frame.split_once("\n\n").unwrap();
    let cap_names: Vec<&str> = cap_body
        .lines()
        .map_while(|l| l.split_once(": ").map(|(k, _)| k))
        .collect();
    let sim = start_sim(SimConfig::default()).await;
    let mut c = Client::authed(&sim).await;
    c.cmd("event plain BACKGROUND_JOB").await;
    c.cmd("bgapi originate sofia/gateway/nogw/1000 &park()")
        .await;
    let frame = c.frame().await;
    // Outer framing: Content-Length first, then Content-Type, as in the capture.
    let outer: Vec<&str> = frame
        .head
        .lines()
        .map(|l| l.split_once(": ").unwrap().0)
        .collect();
    let cap_outer: Vec<&str> = cap_head
        .lines()
        .map(|l| l.split_once(": ").unwrap().0)
        .collect();
    assert_eq!(outer, cap_outer);
    assert_eq!(
        frame.header("Content-Length").unwrap(),
        frame.body.len().to_string()
    );
    let names: Vec<&str> = frame
        .body
        .lines()
        .map_while(|l| l.split_once(": ").map(|(k, _)| k))
        .collect();
    assert_eq!(names, cap_names);
    let ev = frame.event();
    assert_eq!(
        ev.get("Job-Command-Arg"),
        Some("sofia/gateway/nogw/1000 &park()")
    );
    // `&` is URL-unsafe: the docs capture shows `Job-Command-Arg: sofia/default/1005%20'%26park'`.
    assert!(
        frame
            .body
            .contains("Job-Command-Arg: sofia/gateway/nogw/1000%20%26park()\n")
    );
    assert_eq!(ev.body.as_deref(), Some("-ERR INVALID_GATEWAY\n"));
}

#[tokio::test]
async fn unknown_api_command_matches_the_captured_reply() {
    let capture = fixture!("api/fsdocs_api_version_status_command_not_found_transcript.txt");
    // The transcript mixes the client's two lines with the server's frame.
    let server_part = capture.split_once("\n\n").unwrap().1;
    let sim = start_sim(SimConfig::default()).await;
    let mut c = Client::authed(&sim).await;
    let reply = c.cmd("api version;;status").await;
    assert_eq!(reply.raw(), server_part);
}

#[tokio::test]
async fn json_events_carry_raw_values_and_body() {
    let sim = start_sim(SimConfig {
        hostname: "json host".into(),
        ..SimConfig::default()
    })
    .await;
    let mut c = Client::authed(&sim).await;
    c.cmd("event json BACKGROUND_JOB").await;
    c.cmd("bgapi hostname\nJob-UUID: 11111111-2222-3333-4444-555555555555")
        .await;
    let frame = c.frame().await;
    assert_eq!(frame.header("Content-Type"), Some("text/event-json"));
    let v: serde_json::Value = serde_json::from_str(&frame.body).expect("valid JSON");
    assert_eq!(v["Event-Name"], "BACKGROUND_JOB");
    assert_eq!(v["FreeSWITCH-Hostname"], "json host");
    assert_eq!(v["Job-UUID"], "11111111-2222-3333-4444-555555555555");
    assert_eq!(v["Content-Length"], "9");
    assert_eq!(v["_body"], "json host");
    assert!(
        frame
            .body
            .starts_with("{\"Event-Name\":\"BACKGROUND_JOB\",\"Core-UUID\":")
    );
}

#[tokio::test]
async fn plain_event_values_are_url_encoded() {
    let sim = start_sim(SimConfig::default()).await;
    let mut c = Client::authed(&sim).await;
    c.cmd("event plain CUSTOM fsim::test").await;
    sim.fire_event(
        "CUSTOM",
        &[("Event-Subclass", "fsim::test"), ("X-Value", "a b:c@d+e%")],
        None,
    );
    let frame = c.frame().await;
    assert!(
        frame.body.contains("\nX-Value: a%20b%3Ac%40d%2Be%25\n"),
        "{}",
        frame.body
    );
    assert!(frame.body.ends_with("\n\n"));
}

#[tokio::test]
async fn heartbeat_arrives_at_the_configured_interval() {
    let sim = start_sim(SimConfig {
        heartbeat_secs: 1,
        ..SimConfig::default()
    })
    .await;
    let mut c = Client::authed(&sim).await;
    c.cmd("event plain HEARTBEAT").await;
    let ev = c.event_named("HEARTBEAT").await;
    assert_eq!(ev.get("Event-Info"), Some("System Ready"));
    assert_eq!(ev.get("Event-Calling-Function"), Some("send_heartbeat"));
    assert!(ev.get("Up-Time").unwrap().contains(" years, "));
}

#[tokio::test]
async fn custom_subclass_subscription_gets_sofia_register() {
    let capture = fsim::Event::parse_plain(&fixture!(
        "esl/fsdocs_2009_custom_sofia_register_event_plain_body.txt"
    ));
    let sim = start_sim(SimConfig::default()).await;
    let mut c = Client::authed(&sim).await;
    c.cmd("event plain CUSTOM sofia::register").await;
    sim.fire_event("CUSTOM", &[("Event-Subclass", "sofia::unregister")], None);
    sim.register_extension("1001");
    let ev = c.event_named("CUSTOM").await;
    assert_eq!(ev.subclass(), Some("sofia::register"));
    assert_eq!(ev.headers[0].0, "Event-Subclass");
    for name in [
        "profile-name",
        "from-user",
        "from-host",
        "contact",
        "call-id",
        "expires",
        "network-ip",
        "network-port",
        "username",
        "realm",
        "user-agent",
    ] {
        assert!(capture.get(name).is_some(), "capture lacks {name}");
        assert!(ev.get(name).is_some(), "event lacks {name}");
    }
    assert_eq!(ev.get("from-user"), Some("1001"));
}

#[tokio::test]
async fn filter_limits_delivery_to_matching_events() {
    let sim = start_sim(SimConfig::default()).await;
    let mut c = Client::authed(&sim).await;
    c.cmd("event plain ALL").await;
    let added = c.cmd("filter X-Tag keep").await;
    assert_eq!(
        added.header("Reply-Text"),
        Some("+OK filter added. [X-Tag]=[keep]")
    );
    sim.fire_event(
        "CUSTOM",
        &[("Event-Subclass", "t"), ("X-Tag", "drop")],
        None,
    );
    sim.fire_event(
        "CUSTOM",
        &[("Event-Subclass", "t"), ("X-Tag", "keep")],
        None,
    );
    let ev = c.frame().await.event();
    assert_eq!(ev.get("X-Tag"), Some("keep"));
    let deleted = c.cmd("filter delete X-Tag keep").await;
    assert_eq!(
        deleted.header("Reply-Text"),
        Some("+OK filter deleted. [X-Tag][keep]")
    );
}

#[tokio::test]
async fn noevents_stops_delivery() {
    let sim = start_sim(SimConfig::default()).await;
    let mut c = Client::authed(&sim).await;
    c.cmd("event plain CUSTOM t").await;
    let off = c.cmd("noevents").await;
    assert_eq!(
        off.header("Reply-Text"),
        Some("+OK no longer listening for events")
    );
    sim.fire_event("CUSTOM", &[("Event-Subclass", "t")], None);
    let again = c.cmd("noevents").await;
    assert_eq!(
        again.header("Reply-Text"),
        Some("-ERR not listening for events")
    );
}

#[tokio::test]
async fn every_command_line_is_recorded() {
    let sim = start_sim(SimConfig::default()).await;
    let mut c = Client::authed(&sim).await;
    c.api("hostname").await;
    c.cmd("event plain HEARTBEAT").await;
    assert_eq!(
        sim.commands_received(),
        vec!["auth ClueCon", "api hostname", "event plain HEARTBEAT"]
    );
}

#[tokio::test]
async fn restart_drops_connections_and_changes_core_uuid() {
    let sim = start_sim(SimConfig::default()).await;
    let mut c = Client::authed(&sim).await;
    c.cmd("event plain BACKGROUND_JOB").await;
    c.cmd("bgapi hostname").await;
    let before = c
        .frame()
        .await
        .event()
        .get("Core-UUID")
        .unwrap()
        .to_string();
    sim.restart();
    c.expect_eof().await;
    let mut c = Client::authed(&sim).await;
    c.cmd("event plain BACKGROUND_JOB").await;
    c.cmd("bgapi hostname").await;
    let after = c
        .frame()
        .await
        .event()
        .get("Core-UUID")
        .unwrap()
        .to_string();
    assert_ne!(before, after);
    sim.stop();
    c.expect_eof().await;
    // After stop the listener is gone: a new client is refused, or at least never greeted.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    if let Ok(s) = tokio::net::TcpStream::connect(sim.addr()).await {
        let mut buf = [0u8; 16];
        s.readable().await.unwrap();
        let n = s.try_read(&mut buf).unwrap_or(0);
        assert_eq!(n, 0, "a stopped sim must not greet new clients");
    }
}

#[tokio::test]
async fn xml_events_and_sendevent_round_trip() {
    let sim = start_sim(SimConfig::default()).await;
    let mut c = Client::authed(&sim).await;
    c.cmd("event xml CUSTOM app::ping").await;
    let reply = c
        .cmd("sendevent CUSTOM\nEvent-Subclass: app::ping\nX-Note: a<b")
        .await;
    let id = reply
        .header("Reply-Text")
        .unwrap()
        .strip_prefix("+OK ")
        .expect("+OK <uuid>")
        .to_string();
    let frame = c.frame().await;
    assert_eq!(frame.header("Content-Type"), Some("text/event-xml"));
    assert!(frame.body.starts_with("<event>\n  <headers>\n"));
    assert!(
        frame
            .body
            .contains(&format!("    <Event-UUID>{id}</Event-UUID>\n"))
    );
    assert!(frame.body.contains("    <X-Note>a%3Cb</X-Note>\n"));
    assert!(frame.body.ends_with("</event>"));
}
