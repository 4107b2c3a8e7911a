//! `POST /fsapi/xml_curl`, directory side: the recorded mod_xml_curl request bodies
//! (tests/fixtures/xml_curl, beside the repository) and the domain rules, answered by the real app.

use serde_json::json;

use crate::fsdoc::{Node, ask, create_extension, fixture_bodies, is_not_found};
use crate::helpers::TestApp;

fn md5_hex(s: &str) -> String {
    use md5::{Digest, Md5};
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The user element of a directory answer, after checking the domain and user ids.
fn user_of<'a>(doc: &'a Node, domain: &str, id: &str) -> &'a Node {
    assert!(!is_not_found(doc), "expected a user: {doc:?}");
    let domains = doc.all("domain");
    assert_eq!(domains.len(), 1);
    assert_eq!(domains[0].attr("name"), Some(domain));
    let users = doc.all("user");
    assert_eq!(users.len(), 1, "one user per answer");
    assert_eq!(users[0].attr("id"), Some(id));
    assert_eq!(users[0].attr("cacheable"), None);
    users[0]
}

#[tokio::test]
async fn sip_auth_fixtures_get_the_user_with_an_a1_hash_and_no_password() {
    let app = TestApp::spawn().await;
    create_extension(
        &app,
        json!({"extension": "1000", "password": "s3cret-1000", "display_name": "坐席 1000"}),
    )
    .await;
    create_extension(&app, json!({"extension": "1004", "password": "pw-1004"})).await;
    let cases = [
        (
            "bob1118_2021_directory_sip_auth_REGISTER_body.txt",
            "1000",
            "10.10.10.25",
            "s3cret-1000",
        ),
        (
            "bob1118_2021_directory_sip_auth_INVITE_body.txt",
            "1000",
            "10.10.10.25",
            "s3cret-1000",
        ),
        (
            "bob1118_2021_directory_sip_auth_SUBSCRIBE_body.txt",
            "1000",
            "10.10.10.25",
            "s3cret-1000",
        ),
        (
            "fsdocs_2009_directory_sip_auth_request_php_print_r.txt",
            "1004",
            "domain1.awesomevoipdomain.faketld",
            "pw-1004",
        ),
    ];
    for (name, id, domain, password) in cases {
        let doc = ask(&app, fixture_bodies(name).remove(0)).await;
        let user = user_of(&doc, domain, id);
        assert_eq!(
            user.named("param", "a1-hash").as_deref(),
            Some(md5_hex(&format!("{id}:{domain}:{password}")).as_str()),
            "{name}"
        );
        assert_eq!(user.named("param", "password"), None, "{name}");
        let dial = user.named("param", "dial-string").unwrap();
        assert!(
            dial.contains("${sofia_contact(*/${dialed_user}@${dialed_domain})}"),
            "{dial}"
        );
        assert_eq!(
            user.named("variable", "user_context").as_deref(),
            Some("default")
        );
        assert_eq!(
            user.named("variable", "effective_caller_id_number")
                .as_deref(),
            Some(id)
        );
    }
    let doc = ask(&app, fixture_bodies(cases[0].0).remove(0)).await;
    assert_eq!(
        user_of(&doc, "10.10.10.25", "1000")
            .named("variable", "effective_caller_id_name")
            .as_deref(),
        Some("坐席 1000")
    );
}

#[tokio::test]
async fn unknown_disabled_and_passwordless_extensions_are_not_found() {
    let app = TestApp::spawn().await;
    let register = fixture_bodies("bob1118_2021_directory_sip_auth_REGISTER_body.txt").remove(0);
    assert!(
        is_not_found(&ask(&app, register.clone()).await),
        "no such user"
    );
    create_extension(
        &app,
        json!({"extension": "1000", "password": "pw-1000", "enabled": false}),
    )
    .await;
    assert!(is_not_found(&ask(&app, register.clone()).await), "disabled");
    create_extension(&app, json!({"extension": "1001"})).await;
    let no_password = register.replace("user=1000", "user=1001");
    assert!(is_not_found(&ask(&app, no_password).await), "no password");
}

#[tokio::test]
async fn message_count_user_call_and_reverse_auth_get_the_user() {
    let app = TestApp::spawn().await;
    for (ext, domain) in [("1000", ""), ("1004", ""), ("walker", "domain-name")] {
        create_extension(
            &app,
            json!({"extension": ext, "domain": domain, "password": "pw-x1"}),
        )
        .await;
    }
    let doc = ask(
        &app,
        fixture_bodies("bob1118_2021_directory_action_message_count_body.txt").remove(0),
    )
    .await;
    user_of(&doc, "10.10.10.25", "1000");
    let doc = ask(
        &app,
        fixture_bodies("fsdocs_2009_directory_action_message_count_request_php_print_r.txt")
            .remove(0),
    )
    .await;
    user_of(&doc, "domain1.awesomevoipdomain.faketld", "1004");
    let user_call = fixture_bodies("bob1118_2021_directory_sip_auth_REGISTER_body.txt")
        .remove(0)
        .replace("action=sip_auth", "action=user_call");
    let doc = ask(&app, user_call).await;
    let user = user_of(&doc, "10.10.10.25", "1000");
    assert!(user.named("param", "dial-string").is_some());
    assert_eq!(user.named("param", "reverse-auth-pass"), None);
    // Only reverse-auth-lookup carries the credentials FreeSWITCH answers a phone's challenge with.
    let doc = ask(
        &app,
        fixture_bodies(
            "fsdocs_directory_action_reverse_auth_lookup_request_php_var_dump_fragment.txt",
        )
        .remove(0),
    )
    .await;
    let user = user_of(&doc, "domain-name", "walker");
    assert_eq!(
        user.named("param", "reverse-auth-user").as_deref(),
        Some("walker")
    );
    assert_eq!(
        user.named("param", "reverse-auth-pass").as_deref(),
        Some("pw-x1")
    );
    let group_call = "section=directory&tag_name=domain&key_name=name&key_value=10.10.10.25\
                      &action=group_call&group_name=sales&domain=10.10.10.25";
    assert!(
        is_not_found(&ask(&app, group_call).await),
        "no groups are kept"
    );
}

#[tokio::test]
async fn every_lookup_callplane_does_not_serve_is_not_found() {
    let app = TestApp::spawn().await;
    create_extension(&app, json!({"extension": "1000", "password": "pw-1000"})).await;
    let mut bodies = Vec::new();
    for name in [
        "bob1118_2021_directory_purpose_gateways_profile_external_body.txt",
        "bob1118_2021_directory_purpose_gateways_profile_internal_body.txt",
        "bob1118_2021_directory_purpose_network_list_body.txt",
        "bob1118_2022_boot_sequence_request_bodies_one_per_line.txt",
        "bob1118_2022_configuration_conference_conf_request_body_event_command.txt",
        "bob1118_2022_configuration_odbc_cdr_conf_request_body_minimal.txt",
        "bob1118_2022_configuration_sofia_conf_request_body.txt",
        "bob1118_xml_curl_http_request_headers_and_body_example.txt",
        "fsdocs_2009_directory_purpose_gateways_request_php_print_r.txt",
        "fsdocs_2012_directory_purpose_gateways_request_params_colon_dump.txt",
        "fsdocs_2012_directory_purpose_network_list_request_params_colon_dump.txt",
        "fsdocs_directory_purpose_network_list_request_php_print_r.txt",
        "fsdocs_configuration_request_query_string_sofia_conf.txt",
    ] {
        bodies.extend(fixture_bodies(name));
    }
    assert!(bodies.len() >= 40, "{}", bodies.len());
    bodies.extend(
        [
            "",
            "section=languages&tag_name=language&key_name=name&key_value=en",
            "section=phrases",
            "section=directory&tag_name=nonsense&user=1000",
            "section=chatplan&user=1000&domain=x",
            "%%%&&&===",
            "section=directory&action=sip_auth&user=1000&domain=10.10.10.25&purpose=gateways",
        ]
        .map(String::from),
    );
    for body in bodies {
        let doc = ask(&app, body.clone()).await;
        assert!(is_not_found(&doc), "{body}");
    }
}

fn sip_auth(user: &str, domain: &str, realm: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("hostname", "fs1"),
            ("section", "directory"),
            ("tag_name", "domain"),
            ("key_name", "name"),
            ("key_value", domain),
            ("Event-Name", "REQUEST_PARAMS"),
            ("action", "sip_auth"),
            ("sip_auth_username", user),
            ("sip_auth_realm", realm),
            ("key", "id"),
            ("user", user),
            ("domain", domain),
        ])
        .finish()
}

#[tokio::test]
async fn a_configured_domain_limits_where_extensions_without_one_answer() {
    let app = TestApp::spawn_with(|c| c.domain = "pbx.example".into()).await;
    create_extension(&app, json!({"extension": "1000", "password": "pw-1000"})).await;
    create_extension(
        &app,
        json!({"extension": "2000", "domain": "other.example", "password": "pw-2000"}),
    )
    .await;
    let doc = ask(&app, sip_auth("1000", "pbx.example", "pbx.example")).await;
    user_of(&doc, "pbx.example", "1000");
    // SIP domains compare case-insensitively; the answer names the domain as asked.
    let doc = ask(&app, sip_auth("1000", "PBX.example", "PBX.example")).await;
    user_of(&doc, "PBX.example", "1000");
    for (user, domain) in [
        ("1000", "10.10.10.25"),
        ("2000", "pbx.example"),
        ("1000", "other.example"),
    ] {
        let doc = ask(&app, sip_auth(user, domain, domain)).await;
        assert!(is_not_found(&doc), "{user}@{domain}");
    }
    let doc = ask(&app, sip_auth("2000", "other.example", "other.example")).await;
    user_of(&doc, "other.example", "2000");
}

#[tokio::test]
async fn with_any_domain_only_extensions_without_one_follow_the_request() {
    let app = TestApp::spawn().await;
    create_extension(&app, json!({"extension": "1000", "password": "pw-1000"})).await;
    create_extension(
        &app,
        json!({"extension": "2000", "domain": "other.example", "password": "pw-2000"}),
    )
    .await;
    for domain in ["10.10.10.25", "a.example", "other.example"] {
        let doc = ask(&app, sip_auth("1000", domain, domain)).await;
        user_of(&doc, domain, "1000");
    }
    let doc = ask(&app, sip_auth("2000", "a.example", "a.example")).await;
    assert!(is_not_found(&doc));
    // Both a default-domain 1000 and a 1000@other.example: the exact domain wins.
    create_extension(
        &app,
        json!({"extension": "1000", "domain": "other.example", "password": "pw-other"}),
    )
    .await;
    let doc = ask(&app, sip_auth("1000", "other.example", "other.example")).await;
    let user = user_of(&doc, "other.example", "1000");
    assert_eq!(
        user.named("param", "a1-hash").unwrap(),
        md5_hex("1000:other.example:pw-other")
    );
}

#[tokio::test]
async fn the_a1_hash_uses_the_digest_realm_the_phone_answered() {
    let app = TestApp::spawn().await;
    create_extension(&app, json!({"extension": "1000", "password": "pw-1000"})).await;
    let doc = ask(&app, sip_auth("1000", "10.10.10.25", "sip.example")).await;
    let user = user_of(&doc, "10.10.10.25", "1000");
    assert_eq!(
        user.named("param", "a1-hash").unwrap(),
        md5_hex("1000:sip.example:pw-1000")
    );
    let doc = ask(&app, sip_auth("1000", "10.10.10.25", "not a realm")).await;
    let user = user_of(&doc, "10.10.10.25", "1000");
    assert_eq!(
        user.named("param", "a1-hash").unwrap(),
        md5_hex("1000:10.10.10.25:pw-1000")
    );
}

/// A documented FreeSWITCH response fixture, without its `<?xml ?>` line.
fn reference_document(name: &str) -> Node {
    let text = crate::fsdoc::fixture(name);
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("<?xml"))
        .collect::<Vec<_>>()
        .join("\n");
    crate::fsdoc::parse(&body)
}

/// Element names from the root down, depth-first, with the `name` attribute where present.
fn shape(n: &Node, depth: usize, out: &mut Vec<String>) {
    let name = n.attr("name").map(|v| format!("[{v}]")).unwrap_or_default();
    out.push(format!("{depth}:{}{name}", n.name));
    for c in &n.children {
        shape(c, depth + 1, out);
    }
}

#[tokio::test]
async fn answers_have_the_shape_of_freeswitchs_documented_ones() {
    let app = TestApp::spawn().await;
    let ours = ask(&app, "section=configuration").await;
    let theirs = reference_document("fsdocs_result_not_found_response_document.xml");
    let (mut a, mut b) = (Vec::new(), Vec::new());
    shape(&ours, 0, &mut a);
    shape(&theirs, 0, &mut b);
    assert_eq!(a, b);
    assert!(is_not_found(&theirs));

    create_extension(&app, json!({"extension": "1002", "password": "pw-1002"})).await;
    let ours = ask(&app, sip_auth("1002", "domain-name", "domain-name")).await;
    let theirs = reference_document("fsdocs_directory_response_cacheable_user_a1_hash.xml");
    let path = |d: &Node| -> Vec<String> {
        let user = d.all("user")[0];
        let mut p = vec![d.all("domain")[0].attr("name").unwrap().to_string()];
        p.push(user.attr("id").unwrap().to_string());
        p.extend(user.children.iter().map(|c| c.name.clone()));
        p.extend(["a1-hash", "dial-string"].map(|k| user.named("param", k).is_some().to_string()));
        p
    };
    assert_eq!(path(&ours), path(&theirs));
}

/// The a1-hash the directory answers for 1000@10.10.10.25 right now.
async fn answered_hash(app: &TestApp) -> Option<String> {
    let doc = ask(app, sip_auth("1000", "10.10.10.25", "10.10.10.25")).await;
    (!is_not_found(&doc)).then(|| {
        user_of(&doc, "10.10.10.25", "1000")
            .named("param", "a1-hash")
            .unwrap()
    })
}

async fn set_password_silently(app: &TestApp, password: &str) {
    // With the notification trigger disabled, as if a change had not reached this replica.
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("ALTER TABLE extensions DISABLE TRIGGER extensions_changed")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE extensions SET password = $1")
        .bind(password)
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("ALTER TABLE extensions ENABLE TRIGGER extensions_changed")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn directory_answers_come_from_memory_and_every_change_clears_them() {
    let app = TestApp::spawn().await;
    create_extension(&app, json!({"extension": "1000", "password": "pw-one"})).await;
    let one = md5_hex("1000:10.10.10.25:pw-one");
    // Once the change listener is up, a remembered user is answered without the database: a
    // change that sends no notification is not seen.
    let mut from_memory = false;
    for _ in 0..100 {
        assert_eq!(answered_hash(&app).await.as_deref(), Some(one.as_str()));
        set_password_silently(&app, "pw-two").await;
        if answered_hash(&app).await.as_deref() == Some(one.as_str()) {
            from_memory = true;
            break;
        }
        set_password_silently(&app, "pw-one").await;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(from_memory, "the directory never answered from memory");
    // A change through the API (any replica) notifies every replica and clears the cache.
    let (status, _) = app
        .post(
            "/v1/extension/update",
            json!({"extension": "1000", "password": "pw-three"}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let three = md5_hex("1000:10.10.10.25:pw-three");
    let mut seen = None;
    for _ in 0..100 {
        seen = answered_hash(&app).await;
        if seen.as_deref() == Some(three.as_str()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(seen.as_deref(), Some(three.as_str()));
    app.post(
        "/v1/extension/update",
        json!({"extension": "1000", "enabled": false}),
    )
    .await;
    let mut gone = false;
    for _ in 0..100 {
        if answered_hash(&app).await.is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(gone, "a disabled extension stops being answered");
}
