use super::*;

fn base() -> GatewayFields {
    GatewayFields {
        name: Some("carrier1".into()),
        realm: Some("10.0.0.5".into()),
        ..Default::default()
    }
}

#[test]
fn ip_trunk_needs_only_name_and_realm() {
    let g = GatewaySpec::create(base()).unwrap();
    assert_eq!(
        (g.port, g.transport, g.register, g.ping),
        (5060, Transport::Udp, false, 30)
    );
    assert!(g.caller_id_in_from && g.enabled);
}

#[test]
fn registering_trunk_requires_credentials() {
    let f = GatewayFields {
        register: Some(true),
        username: Some("u1".into()),
        ..base()
    };
    assert_eq!(GatewaySpec::create(f).unwrap_err().field, "password");
    let f = GatewayFields {
        register: Some(true),
        password: Some("p1".into()),
        ..base()
    };
    assert_eq!(GatewaySpec::create(f).unwrap_err().field, "username");
}

#[test]
fn each_invalid_field_is_named() {
    let cases: Vec<(&str, GatewayFields)> = vec![
        (
            "name",
            GatewayFields {
                name: Some("../etc".into()),
                ..base()
            },
        ),
        (
            "realm",
            GatewayFields {
                realm: Some("1.2.3.4;transport=tcp".into()),
                ..base()
            },
        ),
        (
            "port",
            GatewayFields {
                port: Some(0),
                ..base()
            },
        ),
        (
            "transport",
            GatewayFields {
                transport: Some("sctp".into()),
                ..base()
            },
        ),
        (
            "caller_id",
            GatewayFields {
                caller_id: Some("0571${x}".into()),
                ..base()
            },
        ),
        (
            "prefix",
            GatewayFields {
                prefix: Some("9,".into()),
                ..base()
            },
        ),
        (
            "max_concurrent",
            GatewayFields {
                max_concurrent: Some(-1),
                ..base()
            },
        ),
        (
            "callee_daily_limit",
            GatewayFields {
                callee_daily_limit: Some(-2),
                ..base()
            },
        ),
        (
            "blind_areas[0]",
            GatewayFields {
                blind_areas: Some(vec!["Atlantis".into()]),
                ..base()
            },
        ),
        (
            "username",
            GatewayFields {
                username: Some("a b".into()),
                ..base()
            },
        ),
        (
            "password",
            GatewayFields {
                password: Some("$${default_password}".into()),
                ..base()
            },
        ),
        (
            "params.proxy",
            GatewayFields {
                params: Some([("proxy".into(), "x".into())].into()),
                ..base()
            },
        ),
        (
            "params.dtmf-type",
            GatewayFields {
                params: Some([("dtmf-type".into(), "${x}".into())].into()),
                ..base()
            },
        ),
        (
            "params.Bad Name",
            GatewayFields {
                params: Some([("Bad Name".into(), "x".into())].into()),
                ..base()
            },
        ),
    ];
    for (field, f) in cases {
        assert_eq!(GatewaySpec::create(f).unwrap_err().field, field);
    }
}

#[test]
fn update_cannot_rename_and_revalidates_the_whole() {
    let g = GatewaySpec::create(base()).unwrap();
    let e = g
        .clone()
        .patched(GatewayFields {
            name: Some("other".into()),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(e.field, "name");
    let e = g
        .clone()
        .patched(GatewayFields {
            register: Some(true),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(e.field, "username");
    let g2 = g
        .patched(GatewayFields {
            blind_areas: Some(vec!["藏".into(), "新".into()]),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(g2.blind_areas, vec!["西藏", "新疆"]);
    assert_eq!(g2.realm, "10.0.0.5", "fields left out keep their values");
}
