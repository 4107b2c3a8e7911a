//! `/v1/gateway/*` end to end, including the FreeSWITCH gateway XML.

use std::collections::BTreeMap;

use quick_xml::Reader;
use quick_xml::events::Event;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, assert_invalid};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/conf/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Gateway name and `param` name/value pairs of a gateway include, read by a strict XML parser
/// (so the document must be well-formed), attributes unescaped.
fn gateway_params(xml: &str) -> (String, BTreeMap<String, String>) {
    let mut reader = Reader::from_str(xml);
    let (mut name, mut params) = (String::new(), BTreeMap::new());
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => {
                let attr = |key: &str| {
                    e.try_get_attribute(key)
                        .unwrap()
                        .map(|a| {
                            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .unwrap()
                                .into_owned()
                        })
                        .unwrap_or_default()
                };
                match e.name().0 {
                    "gateway" => name = attr("name"),
                    "param" => {
                        params.insert(attr("name"), attr("value"));
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    (name, params)
}

/// The `<param name=...>` names FreeSWITCH's reference gateway template lists (commented out).
fn reference_param_names() -> Vec<String> {
    let text = fixture("vanilla_sip_profiles_external_example_gateway.xml");
    text.split("<param name=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn ip_trunk_xml_has_the_params_freeswitch_needs_and_no_credentials() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post(
            "/v1/gateway/create",
            json!({"name": "carrier-a", "realm": "203.0.113.7", "port": 5080, "caller_id": "057188880000",
                   "prefix": "9", "max_concurrent": 30, "callee_daily_limit": 1, "blind_areas": ["新疆", "藏"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["blind_areas"], json!(["新疆", "西藏"]));

    let res = app
        .client
        .get(app.url("/v1/gateway/detail_xml?name=carrier-a"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/xml")
    );
    let xml = res.text().await.unwrap();
    assert!(
        xml.starts_with("<include>"),
        "no <?xml?> line: FreeSWITCH includes carry none"
    );
    let (name, params) = gateway_params(&xml);
    assert_eq!(name, "carrier-a");
    assert_eq!(params["realm"], "203.0.113.7");
    assert_eq!(params["proxy"], "203.0.113.7:5080");
    assert_eq!(params["register"], "false");
    assert_eq!(params["caller-id-in-from"], "true");
    assert_eq!(params["ping"], "30");
    assert!(!params.contains_key("password") && !params.contains_key("username"));
    let known = reference_param_names();
    for p in params.keys() {
        assert!(
            known.contains(p),
            "{p} is a gateway param FreeSWITCH's reference template lists"
        );
    }
}

#[tokio::test]
async fn registering_trunk_xml_carries_credentials_and_register_proxy() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post(
            "/v1/gateway/create",
            json!({"name": "sip-carrier", "realm": "sip.carrier.example", "register": true, "username": "acct01",
                   "password": "p&ss<word>", "transport": "tcp", "from_user": "acct01",
                   "from_domain": "carrier.example", "expire_seconds": 600}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["password_set"], true);
    assert!(!body.to_string().contains("p&ss"), "password not echoed");
    let xml = app
        .client
        .get(app.url("/v1/gateway/detail_xml?name=sip-carrier"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (_, params) = gateway_params(&xml);
    assert_eq!(params["username"], "acct01");
    assert_eq!(
        params["password"], "p&ss<word>",
        "escaped in the document, exact after parsing"
    );
    assert!(xml.contains("p&amp;ss&lt;word&gt;"));
    assert_eq!(params["register"], "true");
    assert_eq!(params["register-proxy"], "sip.carrier.example:5060");
    assert_eq!(params["register-transport"], "tcp");
    assert_eq!(params["expire-seconds"], "600");
    assert_eq!(params["from-user"], "acct01");
    assert_eq!(params["from-domain"], "carrier.example");
}

#[tokio::test]
async fn xml_matches_freeswitchs_own_test_gateway() {
    // FreeSWITCH's unit-test gateway (fixture, byte-for-byte from its tree) is an IP trunk with
    // dummy credentials. Recreate it through the API and compare param by param.
    let fixture_xml = fixture("unit_test_gateway_test_gateway.xml");
    // The fixture is not well-formed on its own (a self-closing <include/> then a stray
    // </include>, as in FreeSWITCH's source), so read only the <gateway> element.
    let start = fixture_xml.find("<gateway").unwrap();
    let end = fixture_xml.find("</gateway>").unwrap() + "</gateway>".len();
    let (_, want) = gateway_params(&fixture_xml[start..end]);

    let app = TestApp::spawn().await;
    let (status, body) = app
        .post(
            "/v1/gateway/create",
            json!({"name": "test_gateway", "realm": "127.0.0.1", "username": "not-used", "password": "not-used",
                   "register": false, "retry_seconds": 30, "params": {"dtmf-type": "rfc2833"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let xml = app
        .client
        .get(app.url("/v1/gateway/detail_xml?name=test_gateway"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (name, got) = gateway_params(&xml);
    assert_eq!(name, "test_gateway");
    for (k, v) in &want {
        match k.as_str() {
            // We always name the port; sofia reads host:port the same as a bare host on 5060.
            "proxy" => assert_eq!(got[k], format!("{v}:5060")),
            _ => assert_eq!(got.get(k), Some(v), "param {k}"),
        }
    }
}

#[tokio::test]
async fn stored_values_cannot_inject_preprocessor_directives() {
    let app = TestApp::spawn().await;
    let (status, _) = app
        .post(
            "/v1/gateway/create",
            json!({"name": "gw1", "realm": "10.0.0.1",
                   "params": {"sip-cid-type": "<X-PRE-PROCESS cmd=\"exec\" data=\"id\"/>", "x-note": "<!--#exec:id-->"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let xml = app
        .client
        .get(app.url("/v1/gateway/detail_xml?name=gw1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !xml.contains("<X-PRE-PROCESS") && !xml.contains("<!--#"),
        "{xml}"
    );
    let (_, params) = gateway_params(&xml);
    assert_eq!(
        params["sip-cid-type"], "<X-PRE-PROCESS cmd=\"exec\" data=\"id\"/>",
        "round-trips as inert text"
    );
}

#[tokio::test]
async fn each_invalid_field_is_a_400_naming_it_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let base = json!({"name": "gw1", "realm": "10.0.0.1"});
    let with = |k: &str, v: serde_json::Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases = [
        (json!({"realm": "10.0.0.1"}), "name"),
        (json!({"name": "gw1"}), "realm"),
        (with("name", json!("../../etc/passwd")), "name"),
        (with("name", json!("gw1|gw2")), "name"),
        (with("realm", json!("10.0.0.1;transport=tcp")), "realm"),
        (with("port", json!(70000)), "port"),
        (with("port", json!("x")), "port"),
        (with("transport", json!("sctp")), "transport"),
        (with("register", json!(true)), "username"),
        (with("caller_id", json!("0571-8888")), "caller_id"),
        (with("prefix", json!("9${x}")), "prefix"),
        (with("max_concurrent", json!(-1)), "max_concurrent"),
        (with("callee_daily_limit", json!(1.5)), "callee_daily_limit"),
        (with("blind_areas", json!(["火星"])), "blind_areas[0]"),
        (with("blind_areas", json!(["北京", "广"])), "blind_areas[1]"),
        (with("priority", json!(-5)), "priority"),
        (with("ping", json!(99999)), "ping"),
        (with("password", json!("$${default_password}")), "password"),
        (with("from_domain", json!("a b")), "from_domain"),
        (with("params", json!({"password": "x"})), "params.password"),
        (
            with("params", json!({"dtmf-type": "${system(id)}"})),
            "params.dtmf-type",
        ),
        (with("enabled", json!("yes")), "enabled"),
        (with("bogus", json!(1)), "bogus"),
    ];
    for (body, field) in cases {
        assert_invalid(&app.post("/v1/gateway/create", body).await, field);
    }
    assert_eq!(app.count("gateways").await, 0, "no partial rows");
}

#[tokio::test]
async fn ambiguous_and_unknown_provinces_list_what_is_accepted() {
    let app = TestApp::spawn().await;
    let (_, body) = app
        .post(
            "/v1/gateway/create",
            json!({"name": "g", "realm": "h", "blind_areas": ["湖"]}),
        )
        .await;
    let msg = body["message"].as_str().unwrap();
    assert!(
        msg.contains("ambiguous") && msg.contains("湖北") && msg.contains("湖南"),
        "{msg}"
    );
    let (_, body) = app
        .post(
            "/v1/gateway/create",
            json!({"name": "g", "realm": "h", "blind_areas": "京,Mars"}),
        )
        .await;
    let msg = body["message"].as_str().unwrap();
    assert!(
        msg.contains("blind_areas[1]") && msg.contains("北京") && msg.contains("新疆"),
        "{msg}"
    );
}

#[tokio::test]
async fn duplicate_name_is_a_409() {
    let app = TestApp::spawn().await;
    let body = json!({"name": "gw1", "realm": "10.0.0.1"});
    assert_eq!(
        app.post("/v1/gateway/create", body.clone()).await.0,
        StatusCode::OK
    );
    let (status, res) = app.post("/v1/gateway/create", body).await;
    assert_eq!(
        (status, res["code"].as_u64()),
        (StatusCode::CONFLICT, Some(40900))
    );
    assert_eq!(app.count("gateways").await, 1);
}

#[tokio::test]
async fn update_is_partial_and_a_rejected_update_changes_nothing() {
    let app = TestApp::spawn().await;
    app.post(
        "/v1/gateway/create",
        json!({"name": "gw1", "realm": "10.0.0.1", "prefix": "9", "priority": 5}),
    )
    .await;
    let (status, body) = app
        .post_form(
            "/v1/gateway/update",
            &[("name", "gw1"), ("max_concurrent", "12")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["max_concurrent"], 12);
    assert_eq!(body["data"]["prefix"], "9");
    assert_eq!(body["data"]["priority"], 5);

    let res = app
        .post(
            "/v1/gateway/update",
            json!({"name": "gw1", "prefix": "8", "register": true}),
        )
        .await;
    assert_invalid(&res, "username");
    assert_invalid(
        &app.post("/v1/gateway/update", json!({"name": "gw1", "port": 0}))
            .await,
        "port",
    );
    let (_, d) = app.get("/v1/gateway/detail?name=gw1").await;
    assert_eq!(
        d["data"]["prefix"], "9",
        "rejected update left the row as it was"
    );
    assert_eq!(d["data"]["register"], false);
    assert_eq!(d["data"]["port"], 5060);
}

#[tokio::test]
async fn missing_gateways_are_404_and_delete_works() {
    let app = TestApp::spawn().await;
    for res in [
        app.get("/v1/gateway/detail?name=nope").await,
        app.post("/v1/gateway/update", json!({"name": "nope", "priority": 1}))
            .await,
        app.post("/v1/gateway/delete", json!({"name": "nope"}))
            .await,
    ] {
        assert_eq!(
            (res.0, res.1["code"].as_u64()),
            (StatusCode::NOT_FOUND, Some(40400)),
            "{}",
            res.1
        );
    }
    let res = app
        .client
        .get(app.url("/v1/gateway/detail_xml?name=nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    app.post(
        "/v1/gateway/create",
        json!({"name": "gw1", "realm": "10.0.0.1"}),
    )
    .await;
    assert_eq!(
        app.post("/v1/gateway/delete", json!({"name": "gw1"}))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(app.count("gateways").await, 0);
}

#[tokio::test]
async fn list_is_in_routing_order() {
    let app = TestApp::spawn().await;
    for (name, prio) in [("b", 10), ("a", 10), ("c", 1)] {
        app.post(
            "/v1/gateway/create",
            json!({"name": name, "realm": "10.0.0.1", "priority": prio}),
        )
        .await;
    }
    let (_, list) = app.get("/v1/gateway/list").await;
    let names: Vec<&str> = list["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["c", "a", "b"]);
    assert_eq!(list["data"]["total"], 3);
}
