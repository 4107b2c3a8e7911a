//! Phones registering through callplane's directory (mod_xml_curl `sip_auth`), and the lines
//! created through the API showing up in the switch and in the online lists.

use std::time::Duration;

use serde_json::json;

use crate::phones::register;
use crate::rig::{Rig, eventually};

#[tokio::test(flavor = "multi_thread")]
async fn registration_follows_the_extension_as_stored_without_a_restart() {
    let rig = Rig::start("registration", "").await;
    rig.extension("1001", "first-secret-1001").await;
    assert!(
        register("1001", "first-secret-1001", 5075, 60),
        "right password: 200"
    );
    assert!(
        !register("1001", "wrong-secret-1001", 5075, 60),
        "wrong password: refused"
    );
    assert!(
        !register("1009", "first-secret-1001", 5075, 60),
        "unknown extension: refused"
    );

    // The online list shows the registration (it may lag the REGISTER briefly).
    eventually("1001 online", Duration::from_secs(30), || async {
        let v = rig.get("/v1/extension/online/list").await;
        v["data"]["list"]
            .as_array()?
            .iter()
            .any(|r| r["extension"] == "1001")
            .then_some(())
    })
    .await;

    rig.ok(
        "/v1/extension/update",
        json!({"extension": "1001", "password": "second-secret-1001"}),
    )
    .await;
    assert!(
        !register("1001", "first-secret-1001", 5075, 60),
        "old password refused at once"
    );
    assert!(
        register("1001", "second-secret-1001", 5075, 60),
        "new password works at once"
    );

    rig.ok(
        "/v1/extension/update",
        json!({"extension": "1001", "enabled": false}),
    )
    .await;
    assert!(
        !register("1001", "second-secret-1001", 5075, 60),
        "disabled: refused"
    );
    register("1001", "second-secret-1001", 5075, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_line_created_through_the_api_is_loaded_and_shown_online() {
    let mut rig = Rig::start("gateway-online", "").await;
    rig.line("carrier-a", 5080, json!({"caller_id": "057188880000"}))
        .await;
    let status = crate::switch::cli("sofia status gateway carrier-a");
    assert!(
        status.contains("127.0.0.1:5080") || status.contains("127.0.0.1"),
        "{status}"
    );
    let row = eventually(
        "carrier-a in the online list",
        Duration::from_secs(30),
        || async {
            let v = rig.get("/v1/gateway/online/list").await;
            v["data"]["list"]
                .as_array()?
                .iter()
                .find(|r| r["name"] == "carrier-a" || r["gateway"] == "carrier-a")
                .cloned()
        },
    )
    .await;
    assert!(
        row.to_string().contains("NOREG"),
        "an unregistered trunk: {row}"
    );
}
