//! The service against fsim over real TCP: node state in `/readyz` and `/metrics`, the online
//! lists merged across two nodes, a node that is down, and no node at all.

use std::time::Duration;

use fsim::{GatewayConfig, RegistrationConfig, Sim, SimConfig};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;

async fn sim(hostname: &str) -> Sim {
    Sim::start_local(SimConfig {
        hostname: hostname.into(),
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// An address nothing listens on.
async fn dead_addr() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().to_string()
}

async fn app_with_nodes(nodes: Vec<String>, password: &str) -> TestApp {
    let password = password.to_string();
    TestApp::spawn_with(move |c| {
        c.esl.nodes = nodes;
        c.esl.password = callplane::config::Secret::new(password);
    })
    .await
}

/// Polls `/readyz` until every node listed reaches `state`.
async fn wait_for_states(app: &TestApp, want: &[(&str, &str)]) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let body: Value = app
            .client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ok = want.iter().all(|(node, state)| {
            body["esl"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["node"] == *node && n["state"] == *state)
        });
        if ok {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "nodes never reached {want:?}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn readyz_and_metrics_report_each_node() {
    let fs = sim("fs-a").await;
    let node = fs.addr().to_string();
    let dead = dead_addr().await;
    let app = app_with_nodes(vec![node.clone(), dead.clone()], "ClueCon").await;
    let body = wait_for_states(&app, &[(&node, "connected")]).await;
    let a = body["esl"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node"] == node.as_str())
        .unwrap()
        .clone();
    assert_eq!(a["hostname"], "fs-a");
    assert_eq!(body["database"], "ok");
    let d = body["esl"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node"] == dead.as_str())
        .unwrap()
        .clone();
    assert_ne!(d["state"], "connected");
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "FreeSWITCH trouble does not make the service unready"
    );
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "callplane_esl_node_state{{node=\"{node}\",state=\"connected\"}} 1"
        )),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_wrong_esl_password_shows_auth_failed() {
    let fs = sim("fs-a").await;
    let node = fs.addr().to_string();
    let app = app_with_nodes(vec![node.clone()], "not-the-password").await;
    let body = wait_for_states(&app, &[(&node, "auth_failed")]).await;
    let n = &body["esl"][0];
    assert!(
        n["error"].as_str().unwrap_or("").len() > 3,
        "the error says why: {n}"
    );
    assert!(
        !body.to_string().contains("not-the-password"),
        "the password is not echoed"
    );
}

#[tokio::test]
async fn online_lists_merge_two_nodes_and_name_each_row() {
    let (a, b) = (sim("fs-a").await, sim("fs-b").await);
    a.register(RegistrationConfig {
        user: "1001".into(),
        user_agent: "Yealink SIP-T46S".into(),
        ..Default::default()
    });
    b.register(RegistrationConfig {
        user: "1002".into(),
        network_proto: "tcp".into(),
        ..Default::default()
    });
    a.add_gateway(GatewayConfig {
        name: "carrier-a".into(),
        state: "NOREG".into(),
        status: "UP".into(),
        ..Default::default()
    });
    b.add_gateway(GatewayConfig {
        name: "carrier-a".into(),
        state: "FAIL_WAIT".into(),
        status: "DOWN".into(),
        ..Default::default()
    });
    let (na, nb) = (a.addr().to_string(), b.addr().to_string());
    let app = app_with_nodes(vec![na.clone(), nb.clone()], "ClueCon").await;
    wait_for_states(&app, &[(&na, "connected"), (&nb, "connected")]).await;

    let (status, body) = app.get("/v1/extension/online/list").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let list = body["data"]["list"].as_array().unwrap();
    assert_eq!(body["data"]["total"], 2);
    assert_eq!(
        (list[0]["extension"].as_str(), list[0]["node"].as_str()),
        (Some("1001"), Some(na.as_str()))
    );
    assert_eq!(list[0]["agent"], "Yealink SIP-T46S");
    assert_eq!(list[0]["profile"], "internal");
    assert!(
        list[0]["contact"]
            .as_str()
            .unwrap()
            .starts_with("sip:1001@"),
        "{}",
        list[0]
    );
    assert!(list[0]["expires"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(
        (list[1]["extension"].as_str(), list[1]["node"].as_str()),
        (Some("1002"), Some(nb.as_str()))
    );
    assert_eq!(list[1]["network_proto"], "tcp");
    assert_eq!(body["data"]["nodes"].as_array().unwrap().len(), 2);

    let (_, only) = app.get("/v1/extension/online/list?name=1002").await;
    assert_eq!(only["data"]["total"], 1);

    let (status, body) = app.get("/v1/gateway/online/list").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let gws = body["data"]["list"].as_array().unwrap();
    assert_eq!(gws.len(), 2);
    let on_a = gws.iter().find(|g| g["node"] == na.as_str()).unwrap();
    let on_b = gws.iter().find(|g| g["node"] == nb.as_str()).unwrap();
    assert_eq!(
        (on_a["name"].as_str(), on_a["profile"].as_str()),
        (Some("carrier-a"), Some("external"))
    );
    assert_eq!(
        (on_a["state"].as_str(), on_a["status"].as_str()),
        (Some("NOREG"), Some("UP"))
    );
    assert_eq!(
        (on_b["state"].as_str(), on_b["status"].as_str()),
        (Some("FAIL_WAIT"), Some("DOWN"))
    );
    assert_eq!(on_a["registered"], false);
}

#[tokio::test]
async fn a_down_node_is_reported_not_skipped() {
    let a = sim("fs-a").await;
    a.register_extension("1001");
    let (na, dead) = (a.addr().to_string(), dead_addr().await);
    let app = app_with_nodes(vec![na.clone(), dead.clone()], "ClueCon").await;
    wait_for_states(&app, &[(&na, "connected")]).await;
    let (status, body) = app.get("/v1/extension/online/list").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["total"], 1);
    let nodes = body["data"]["nodes"].as_array().unwrap();
    let down = nodes
        .iter()
        .find(|n| n["node"] == dead.as_str())
        .expect("the dead node is listed");
    assert_ne!(down["state"], "connected");
    assert!(down["error"].is_string(), "{down}");
    let up = nodes.iter().find(|n| n["node"] == na.as_str()).unwrap();
    assert!(up["error"].is_null());
}

#[tokio::test]
async fn with_no_node_reachable_online_lists_are_503() {
    let dead = dead_addr().await;
    let app = app_with_nodes(vec![dead.clone()], "ClueCon").await;
    for path in ["/v1/extension/online/list", "/v1/gateway/online/list"] {
        let (status, body) = app.get(path).await;
        assert_eq!(
            (status, body["code"].as_u64()),
            (StatusCode::SERVICE_UNAVAILABLE, Some(50301)),
            "{path}"
        );
        let msg = body["message"].as_str().unwrap();
        assert!(
            msg.contains("no FreeSWITCH node is reachable") && msg.contains(&dead),
            "{msg}"
        );
    }
}

#[tokio::test]
async fn a_restarted_node_is_reconnected_and_resubscribed() {
    let a = sim("fs-a").await;
    let na = a.addr().to_string();
    let app = app_with_nodes(vec![na.clone()], "ClueCon").await;
    wait_for_states(&app, &[(&na, "connected")]).await;
    a.wait_for_command("event ", Duration::from_secs(5))
        .await
        .expect("subscribed once");
    let before = a
        .commands_received()
        .iter()
        .filter(|c| c.starts_with("event "))
        .count();
    a.restart();
    // Every connection dropped; the supervisor reconnects and subscribes again.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let subs = a
            .commands_received()
            .iter()
            .filter(|c| c.starts_with("event "))
            .count();
        if subs > before {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no re-subscription after restart"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_for_states(&app, &[(&na, "connected")]).await;
    a.register_extension("1009");
    let (status, body) = app.get("/v1/extension/online/list").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["list"][0]["extension"], "1009");
}
