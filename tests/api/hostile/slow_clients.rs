//! Slow and greedy clients against the HTTP server (`http::server`): connections that trickle
//! their headers or body are closed on their deadline, one peer address cannot hold more than
//! its share of connections, and FreeSWITCH's `/fsapi/xml_curl` keeps answering throughout.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::fsdoc::{ask, create_extension, fixture_bodies};
use crate::helpers::TestApp;

/// A connection to the app from `source` (another loopback address than FreeSWITCH's).
async fn connect_from(source: &str, app: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(app).await.unwrap()
}

/// Waits up to `within` for the server to close `conn`; what it sent before closing.
async fn closed_within(conn: &mut TcpStream, within: Duration) -> Option<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&got).into_owned()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return None,
        }
    }
}

fn addr(app: &TestApp) -> SocketAddr {
    app.url("")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap()
}

#[tokio::test]
async fn hostile_slow_header_clients_are_cut_off_and_xml_curl_still_answers() {
    let app = TestApp::spawn_with(|c| {
        c.http.header_read_timeout_ms = 1000;
        c.http.max_connections_per_peer = 20;
        c.http.max_connections = 200;
    })
    .await;
    create_extension(&app, json!({"extension": "1000", "password": "pw-1000"})).await;
    let server = addr(&app);

    // A slowloris client: 60 connections from one address, each with half a request.
    let mut held = Vec::new();
    for _ in 0..60 {
        let mut c = connect_from("127.0.0.2", server).await;
        let _ = c
            .write_all(b"POST /fsapi/xml_curl HTTP/1.1\r\nHost: x\r\n")
            .await;
        held.push(c);
    }
    // Past its share of 20 the peer's connections are closed at once.
    let mut cut_at_once = 0;
    for c in held.iter_mut().skip(20) {
        if closed_within(c, Duration::from_millis(300)).await.is_some() {
            cut_at_once += 1;
        }
    }
    assert_eq!(
        cut_at_once, 40,
        "connections over the per-peer cap are closed on accept"
    );

    // FreeSWITCH (another address) is answered while the slow connections are open.
    let body = fixture_bodies("bob1118_2021_directory_sip_auth_REGISTER_body.txt").remove(0);
    let started = Instant::now();
    let doc = ask(&app, body).await;
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert!(
        !doc.all("user").is_empty(),
        "the directory answered for user 1000"
    );

    // The 20 admitted ones are closed once their header deadline passes, trickle or not.
    for c in held.iter_mut().take(20) {
        let _ = c.write_all(b"X-Slow: 1\r\n").await;
    }
    for (i, c) in held.iter_mut().take(20).enumerate() {
        assert!(
            closed_within(c, Duration::from_secs(3)).await.is_some(),
            "slow connection {i} is still open past the header deadline"
        );
    }
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics.contains(
            r#"callplane_http_connections_refused_total{cap="max_connections_per_peer"} 40"#
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn hostile_a_body_sent_a_byte_at_a_time_gets_an_answer_on_its_deadline() {
    let app = TestApp::spawn_with(|c| c.http.body_read_timeout_ms = 1000).await;
    let mut c = connect_from("127.0.0.3", addr(&app)).await;
    c.write_all(
        b"POST /v1/extension/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 200\r\n\r\n{",
    )
    .await
    .unwrap();
    let started = Instant::now();
    let trickle = async {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if c.write_all(b" ").await.is_err() {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_millis(1500), trickle).await;
    let answer = closed_within(&mut c, Duration::from_secs(3))
        .await
        .expect("the server gave up on the trickled body");
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(answer.starts_with("HTTP/1.1 4"), "a client error: {answer}");
    assert_eq!(app.count("extensions").await, 0);
}
