//! `POST /fsapi/xml_curl` `section=dialplan`: extension-to-extension calls are bridged, every
//! other call gets an explicit refusal, and no request text reaches an application's data (X14).

use serde_json::json;

use crate::fsdoc::{Node, ask, create_extension, fixture, fixture_bodies, is_not_found};
use crate::helpers::TestApp;

/// A dialplan request as mod_xml_curl posts it, built from the documented 2008 request dump
/// with the caller, destination and context replaced.
pub fn call_from(caller: &str, destination: &str, context: &str) -> String {
    let dump = fixture("fsdocs_2008_dialplan_request_params_quad_colon_dump.txt");
    let mut pairs: Vec<(String, String)> = dump
        .lines()
        .filter_map(|l| l.split_once(" :::: "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for (k, v) in pairs.iter_mut() {
        match k.as_str() {
            "Caller-Destination-Number" | "variable_sip_req_user" | "variable_sip_to_user" => {
                *v = destination.to_string()
            }
            "Caller-Context" | "variable_user_context" => *v = context.to_string(),
            "Caller-Caller-ID-Number" | "variable_user_name" | "Caller-Username" => {
                *v = caller.to_string()
            }
            _ => {}
        }
    }
    // A modern FreeSWITCH adds the hunt profile (mod_dialplan_xml `dialplan_xml_locate`).
    pairs.push(("Hunt-Destination-Number".into(), destination.into()));
    pairs.push(("Hunt-Context".into(), context.into()));
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The one context, and the (application, data) pairs of its one extension.
fn actions(doc: &Node) -> (String, Vec<(String, String)>) {
    assert!(!is_not_found(doc), "a dialplan answer is never not-found");
    let contexts = doc.all("context");
    assert_eq!(contexts.len(), 1);
    assert_eq!(doc.all("extension").len(), 1);
    for c in doc.all("condition") {
        let expr = c.attr("expression").unwrap();
        let inner = expr.strip_prefix('^').unwrap();
        let fixed = inner.is_empty()
            || inner.strip_suffix('$').is_some_and(|n| {
                n.replace("\\.", "")
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "_-".contains(ch))
            });
        assert!(
            fixed,
            "conditions are built from stored numbers only: {expr}"
        );
    }
    let acts = doc
        .all("action")
        .iter()
        .map(|a| {
            (
                a.attr("application").unwrap().to_string(),
                a.attr("data").unwrap_or_default().to_string(),
            )
        })
        .collect();
    (contexts[0].attr("name").unwrap().to_string(), acts)
}

fn hangup(cause: &str) -> Vec<(String, String)> {
    vec![("hangup".into(), cause.into())]
}

#[tokio::test]
async fn a_call_to_an_enabled_extension_is_bridged_to_the_user() {
    let app = TestApp::spawn().await;
    create_extension(&app, json!({"extension": "1001", "password": "pw-1001"})).await;
    create_extension(
        &app,
        json!({"extension": "1002", "domain": "192.168.0.9", "password": "pw-1002"}),
    )
    .await;
    let (context, acts) = actions(&ask(&app, call_from("1000", "1001", "default")).await);
    assert_eq!(context, "default");
    assert_eq!(
        acts,
        vec![
            ("set".into(), "hangup_after_bridge=true".into()),
            // CALLPLANE_DOMAIN=*: the caller's own directory domain, from the channel.
            ("bridge".into(), "user/1001@${domain_name}".into()),
        ]
    );
    let (_, acts) = actions(&ask(&app, call_from("1000", "1002", "default")).await);
    assert_eq!(acts[1], ("bridge".into(), "user/1002@192.168.0.9".into()));
    let doc = ask(&app, call_from("1000", "1001", "default")).await;
    assert_eq!(doc.all("condition")[0].attr("expression"), Some("^1001$"));
}

#[tokio::test]
async fn with_a_configured_domain_the_bridge_names_it() {
    let app = TestApp::spawn_with(|c| c.domain = "192.168.0.9".into()).await;
    create_extension(&app, json!({"extension": "1001", "password": "pw-1001"})).await;
    let (_, acts) = actions(&ask(&app, call_from("1000", "1001", "default")).await);
    assert_eq!(acts[1], ("bridge".into(), "user/1001@192.168.0.9".into()));
}

#[tokio::test]
async fn other_destinations_and_contexts_are_refused_explicitly() {
    let app = TestApp::spawn().await;
    create_extension(&app, json!({"extension": "1001", "password": "pw-1001"})).await;
    create_extension(
        &app,
        json!({"extension": "1003", "password": "pw-1003", "enabled": false}),
    )
    .await;
    create_extension(&app, json!({"extension": "1004"})).await;
    create_extension(
        &app,
        json!({"extension": "1005", "domain": "other.example", "password": "pw-1005"}),
    )
    .await;
    // Digits that are no extension are an external number: no line routing yet, so no route.
    let cases = [
        ("9999", "default", "NO_ROUTE_DESTINATION"),
        ("1003", "default", "NO_ROUTE_DESTINATION"), // disabled
        ("1004", "default", "NO_ROUTE_DESTINATION"), // cannot register without a password
        ("1005", "default", "NO_ROUTE_DESTINATION"), // another domain's extension
        ("+8613800138000", "default", "NO_ROUTE_DESTINATION"),
        ("sales", "default", "UNALLOCATED_NUMBER"),
        ("", "default", "UNALLOCATED_NUMBER"),
        ("1001", "public", "CALL_REJECTED"),
    ];
    for (dest, ctx, cause) in cases {
        let (context, acts) = actions(&ask(&app, call_from("1000", dest, ctx)).await);
        assert_eq!(context, ctx);
        assert_eq!(acts, hangup(cause), "{dest}@{ctx}");
    }
}

#[tokio::test]
async fn hostile_destinations_never_reach_application_data() {
    let app = TestApp::spawn().await;
    create_extension(&app, json!({"extension": "1001", "password": "pw-1001"})).await;
    for dest in [
        "100,sofia/gateway/x/0011234",
        "1001,sofia/gateway/x/0011234",
        "${system(id)}",
        "1001|user/1002",
        "1001\n<X-PRE-PROCESS cmd=\"exec\" data=\"id\"/>",
        "^1001$",
        "1001' OR '1'='1",
    ] {
        let doc = ask(&app, call_from("1000", dest, "default")).await;
        let (_, acts) = actions(&doc);
        assert_eq!(acts, hangup("UNALLOCATED_NUMBER"), "{dest:?}");
    }
    for ctx in ["default\"><context name=\"x", "${x}", "a b"] {
        let doc = ask(&app, call_from("1000", "1001", ctx)).await;
        let (context, acts) = actions(&doc);
        assert_eq!(context, "default", "an odd context is not echoed");
        assert_eq!(acts, hangup("CALL_REJECTED"));
    }
}

#[tokio::test]
async fn the_legacy_dialplan_request_is_answered() {
    let app = TestApp::spawn().await;
    let body =
        fixture_bodies("fsdocs_legacy_dialplan_request_query_string_portaudio.txt").remove(0);
    let (context, acts) = actions(&ask(&app, body).await);
    assert_eq!(context, "default");
    assert_eq!(acts, hangup("NO_ROUTE_DESTINATION"), "556 is no extension");
}

#[tokio::test]
async fn an_extension_dialling_out_is_routed_over_the_lines_like_a_click_to_call() {
    let app = TestApp::spawn().await;
    create_extension(&app, json!({"extension": "1000", "password": "pw-1000"})).await;
    for (name, extra) in [
        ("carrier-a", json!({"blind_areas": ["新疆"], "priority": 1})),
        ("carrier-b", json!({"prefix": "9", "priority": 2})),
    ] {
        let mut g = json!({"name": name, "realm": "192.0.2.1", "caller_id": "057188880000"});
        for (k, v) in extra.as_object().unwrap() {
            g[k] = v.clone();
        }
        assert_eq!(
            app.post("/v1/gateway/create", g).await.0,
            reqwest::StatusCode::OK
        );
    }
    // A 新疆 number: carrier-a cannot reach it, so only carrier-b, with its prefix.
    let (context, acts) = actions(&ask(&app, call_from("1000", "13000960001", "default")).await);
    assert_eq!(context, "default");
    let find = |app_name: &str| {
        acts.iter()
            .filter(|(a, _)| a == app_name)
            .map(|(_, d)| d.clone())
            .collect::<Vec<_>>()
    };
    let bridge = &find("bridge")[0];
    assert!(
        bridge.contains("sofia/gateway/carrier-b/913000960001") && !bridge.contains("carrier-a"),
        "{bridge}"
    );
    assert!(bridge.contains("origination_caller_id_number=057188880000"));
    let sets = find("set");
    assert!(
        sets.iter()
            .any(|s| s.starts_with("callplane_call_uuid=388b125c-58ff-11dd-9892-8f5d58364073")),
        "the channel's uuid is the call's: {sets:?}"
    );
    assert!(sets.contains(
        &"fail_on_single_reject=USER_BUSY,CALL_REJECTED,NO_ANSWER,ALLOTTED_TIMEOUT".to_string()
    ));
    // The customer's ring limit on every leg; the bridge's own limit 2 s later, so that the
    // per-leg one fires first.
    assert_eq!(
        sets.iter()
            .filter(|s| s.starts_with("call_timeout="))
            .collect::<Vec<_>>(),
        vec!["call_timeout=47"]
    );
    assert!(
        bridge.contains(",leg_timeout=45]sofia/gateway/carrier-b/"),
        "{bridge}"
    );
    assert!(
        find("export")
            .iter()
            .any(|e| e.starts_with("nolocal:execute_on_answer_upload=set:api_hangup_hook=")),
        "the upload is armed at answer"
    );
    assert!(
        find("export")
            .iter()
            .any(|e| e.contains("execute_on_answer=record_session:")),
        "recorded like click-to-call"
    );
    // The call is tracked like an API call.
    let (_, d) = app
        .get("/v1/call/detail?uuid=388b125c-58ff-11dd-9892-8f5d58364073")
        .await;
    assert_eq!(d["data"]["gateways"], json!(["carrier-b"]));
    assert_eq!(d["data"]["caller"], "1000");
    assert_eq!(
        d["data"]["routing"]["callee"]["skipped"][0]["reason"],
        "blind_area"
    );
    // An emergency number is refused by the same policy as click-to-call.
    let (_, acts) = actions(&ask(&app, call_from("1000", "110", "default")).await);
    assert_eq!(acts, hangup("UNALLOCATED_NUMBER"));
}
