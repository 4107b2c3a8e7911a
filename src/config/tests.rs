use super::*;
use std::collections::HashMap;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

#[test]
fn default_toml_documents_exactly_the_defaults() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/default.toml"))
        .unwrap();
    assert_eq!(Config::from_toml(&text).unwrap(), Config::default());
}

#[test]
fn environment_overrides_file_and_defaults() {
    let cfg = Config::load(
        None,
        env_of(&[
            ("CALLPLANE_LISTEN", "127.0.0.1:9090"),
            ("CALLPLANE_ESL", "10.0.0.1:8021, 10.0.0.2:8021"),
            (
                "CALLPLANE_API_KEYS",
                "key-aaaaaaaaaaaaaaaa,key-bbbbbbbbbbbbbbbb",
            ),
            ("CALLPLANE_DOMAIN", "pbx.example.com"),
            ("CALLPLANE_STORAGE", "s3://recordings/cc"),
        ]),
    )
    .unwrap();
    assert_eq!(cfg.listen.port(), 9090);
    assert_eq!(cfg.esl.nodes, vec!["10.0.0.1:8021", "10.0.0.2:8021"]);
    assert_eq!(cfg.api.keys.len(), 2);
    assert_eq!(cfg.domain, "pbx.example.com");
    assert_eq!(cfg.public_url(), "http://127.0.0.1:9090");
}

#[test]
fn file_values_apply_and_unknown_keys_are_named() {
    let dir = std::env::temp_dir().join(format!("callplane-cfg-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        "listen = \"127.0.0.1:7000\"\n[esl]\nnodes = [\"fs1:8021\"]\n",
    )
    .unwrap();
    let cfg = Config::load(Some(&good), env_of(&[])).unwrap();
    assert_eq!(
        (cfg.listen.port(), cfg.esl.nodes.clone()),
        (7000, vec!["fs1:8021".to_string()])
    );

    let typo = dir.join("typo.toml");
    std::fs::write(&typo, "listen = \"127.0.0.1:7000\"\n\n[esl]\nnodez = []\n").unwrap();
    let e = Config::load(Some(&typo), env_of(&[])).unwrap_err();
    assert!(e.key.contains("line 4"), "{e}");
    assert!(e.problem.contains("nodez"), "{e}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn each_bad_value_names_its_key() {
    let cases = [
        ("CALLPLANE_LISTEN", "localhost", "listen"),
        ("DATABASE_URL", "mysql://x/y", "database_url"),
        ("DATABASE_URL", "postgres://127.0.0.1:5432", "database_url"),
        ("CALLPLANE_PUBLIC_URL", "ftp://x", "public_url"),
        ("CALLPLANE_ESL", "10.0.0.1", "esl.nodes"),
        ("CALLPLANE_ESL", "", "esl.nodes"),
        ("CALLPLANE_API_KEYS", "short", "api.keys"),
        ("CALLPLANE_FSAPI_USER", "fs", "fsapi.user"),
        ("CALLPLANE_FSAPI_ALLOW", "10.0.0.0/40", "fsapi.allow"),
        ("CALLPLANE_STORAGE", "/var/lib/x", "storage.url"),
        ("CALLPLANE_STORAGE", "s3://B", "storage.url"),
        ("CALLPLANE_WEBHOOK_URL", "crm.example.com", "webhook.url"),
        ("CALLPLANE_DOMAIN", "a b", "domain"),
        ("CALLPLANE_SECRET", "tiny", "secret"),
        ("CALLPLANE_RECORDING_DIR", "recordings", "recording.dir"),
        ("CALLPLANE_RECORDING_DIR", "/srv/rec/$(id)", "recording.dir"),
    ];
    for (var, value, key) in cases {
        let e = Config::load(None, env_of(&[(var, value)])).unwrap_err();
        assert!(e.key.starts_with(key), "{var}={value}: got {e}");
        assert!(
            e.to_string().contains(var) || var == "DATABASE_URL" || e.to_string().contains(key),
            "{e}"
        );
    }
}

#[test]
fn serving_on_a_public_address_needs_api_keys() {
    let open = Config::load(None, env_of(&[("CALLPLANE_LISTEN", "0.0.0.0:8080")])).unwrap();
    let e = open.check_serve().unwrap_err();
    assert!(e.key.contains("CALLPLANE_API_KEYS") && e.problem.contains("0.0.0.0:8080"));
    let keyed = Config::load(
        None,
        env_of(&[
            ("CALLPLANE_LISTEN", "0.0.0.0:8080"),
            ("CALLPLANE_API_KEYS", "0123456789abcdef"),
        ]),
    )
    .unwrap();
    assert!(keyed.check_serve().is_ok());
    assert!(
        Config::default().check_serve().is_ok(),
        "loopback without keys is allowed"
    );
}

#[test]
fn secrets_never_appear_in_debug_or_printed_config() {
    let cfg = Config::load(
        None,
        env_of(&[
            (
                "DATABASE_URL",
                "postgres://app:dbpass-123@127.0.0.1/callplane",
            ),
            ("CALLPLANE_API_KEYS", "apikey-secret-0001"),
            ("CALLPLANE_ESL_PASSWORD", "eslpass-777"),
            ("CALLPLANE_FSAPI_USER", "fs"),
            ("CALLPLANE_FSAPI_PASSWORD", "fsapi-pass-9"),
            ("CALLPLANE_WEBHOOK_SECRET", "whsec_c2VjcmV0LXNpZ25pbmc="),
            ("CALLPLANE_SECRET", "server-secret-0123456789"),
        ]),
    )
    .unwrap();
    let printed = cfg.to_redacted_toml();
    let debug = format!("{cfg:?}");
    for secret in [
        "dbpass-123",
        "apikey-secret-0001",
        "eslpass-777",
        "fsapi-pass-9",
        "c2VjcmV0",
        "server-secret",
    ] {
        assert!(!printed.contains(secret), "printed config leaks {secret}");
        assert!(!debug.contains(secret), "debug leaks {secret}");
    }
    assert!(printed.contains("<redacted>") && printed.contains("listen = \"127.0.0.1:8080\""));
}

#[test]
fn database_url_is_shown_without_its_password() {
    let u = DbUrl::new("postgres://app:pw@db:5432/callplane");
    assert_eq!(u.redacted(), "postgres://app:<redacted>@db:5432/callplane");
    assert_eq!(
        DbUrl::new("postgres://postgres@127.0.0.1/x").redacted(),
        "postgres://postgres@127.0.0.1/x"
    );
}

#[test]
fn click_to_call_limits_are_checked_by_key() {
    let ok = Config::from_toml(
        "[limits]\ncallback_per_key_per_sec = 0.5\ncallback_per_key_burst = 3\ncallback_per_node_per_sec = 25\n",
    )
    .unwrap();
    assert!(ok.validate().is_ok());
    assert_eq!(ok.limits.callback_per_node_per_sec, 25.0);
    for (text, key) in [
        (
            "callback_per_key_per_sec = -1.0",
            "limits.callback_per_key_per_sec",
        ),
        (
            "callback_per_key_per_sec = nan",
            "limits.callback_per_key_per_sec",
        ),
        (
            "callback_per_node_per_sec = inf",
            "limits.callback_per_node_per_sec",
        ),
        (
            "callback_per_key_burst = 0",
            "limits.callback_per_key_burst",
        ),
    ] {
        let cfg = Config::from_toml(&format!("[limits]\n{text}\n")).unwrap();
        let e = cfg.validate().unwrap_err();
        assert_eq!(e.key, key, "{text}: {e}");
    }
}

#[test]
fn the_recording_dir_comes_from_the_environment() {
    let cfg = Config::load(
        None,
        env_of(&[(
            "CALLPLANE_RECORDING_DIR",
            "/usr/local/freeswitch/recordings",
        )]),
    )
    .unwrap();
    assert_eq!(cfg.recording.dir, "/usr/local/freeswitch/recordings");
}

#[test]
fn the_callee_ring_timeout_is_checked_and_the_default_stops_failover_on_no_answer() {
    let d = Config::default();
    assert_eq!(d.calls.callee_ring_timeout_secs, 45);
    for cause in [
        "USER_BUSY",
        "CALL_REJECTED",
        "NO_ANSWER",
        "ALLOTTED_TIMEOUT",
    ] {
        assert!(
            d.calls.stop_failover_on.iter().any(|c| c == cause),
            "{cause}"
        );
    }
    let ok = Config::from_toml("[calls]\ncallee_ring_timeout_secs = 20\n").unwrap();
    assert!(ok.validate().is_ok());
    assert_eq!(ok.calls.callee_ring_timeout_secs, 20);
    for bad in [0, 4, 601] {
        let cfg =
            Config::from_toml(&format!("[calls]\ncallee_ring_timeout_secs = {bad}\n")).unwrap();
        let e = cfg.validate().unwrap_err();
        assert_eq!(e.key, "calls.callee_ring_timeout_secs", "{bad}: {e}");
    }
}
