//! The simulator against real FreeSWITCH 1.10.12: the click-to-calls captured in
//! tests/fixtures/freeswitch-1.10.12 (answered, busy 486) replayed on the simulator with the
//! exact originate callplane sent (the BACKGROUND_JOB's Job-Command-Arg), and both Event Socket
//! streams and CDRs reduced to what callplane reads (`fsim::shape`). Any difference fails.

use crate::client::{Client, http_server, next_request, start_sim};
use fsim::shape::{CdrShape, Shape, parse_plain_stream};
use fsim::text::url_decode;
use fsim::{GatewayConfig, OutcomeRule, SimConfig};
use std::time::Duration;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/freeswitch-1.10.12/"
);

fn read(name: &str) -> String {
    String::from_utf8_lossy(&std::fs::read(format!("{DIR}{name}")).expect(name)).into_owned()
}

/// The originate the capture's BACKGROUND_JOB names.
fn originate_of(raw: &str) -> String {
    let job = parse_plain_stream(raw)
        .into_iter()
        .find(|e| e.get("Event-Name") == Some("BACKGROUND_JOB"))
        .expect("the capture has the originate's BACKGROUND_JOB");
    job.get("Job-Command-Arg").unwrap().to_string()
}

struct Run {
    shape: Shape,
    cdrs: Vec<(String, CdrShape)>,
    uploads: Vec<usize>,
}

/// Replays the capture's originate on a simulator scripted with `callee` for the customer;
/// the agent (1001) rings briefly and answers, as SIPp did.
async fn replay(capture: &str, callee: OutcomeRule) -> Run {
    let (cdr_url, mut cdrs) = http_server(vec![]).await;
    let (up_url, mut ups) = http_server(vec![]).await;
    let mut cfg = SimConfig {
        heartbeat_secs: 0,
        ..SimConfig::default()
    };
    cfg.cdr.url = Some(format!("{cdr_url}/fsapi/cdr"));
    cfg.cdr.log_b_leg = true;
    cfg.outcomes = vec![
        OutcomeRule {
            number: Some("1001".into()),
            ring_ms: 150,
            talk_ms: 0,
            ..OutcomeRule::default()
        },
        callee,
    ];
    let sim = start_sim(cfg).await;
    sim.register_extension("1001");
    for gw in ["carrier-a", "carrier-busy"] {
        sim.add_gateway(GatewayConfig {
            name: gw.into(),
            state: "NOREG".into(),
            ..Default::default()
        });
    }
    let arg = originate_of(&read(capture)).replace("http://127.0.0.1:8080", &up_url);
    let mut c = Client::authed(&sim).await;
    c.cmd("event plain ALL").await;
    c.send(&format!("bgapi originate {arg}\n\n")).await;
    let mut raw = String::new();
    let mut destroyed = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while destroyed < 2 {
        let f = tokio::time::timeout_at(deadline, c.frame())
            .await
            .expect("both legs end within 30 s");
        if f.body.contains("Event-Name: CHANNEL_DESTROY\n") {
            destroyed += 1;
        }
        raw.push_str(&f.raw());
    }
    let mut posted = Vec::new();
    for _ in 0..2 {
        let r = next_request(&mut cdrs).await;
        let body = String::from_utf8_lossy(&r.body).into_owned();
        let xml = url_decode(body.strip_prefix("cdr=").unwrap_or(&body));
        posted.push((r.line, CdrShape::from_xml(&xml)));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let shape = Shape::from_plain_stream(&raw);
    assert_eq!(shape.legs.len(), 2, "caller and callee legs in {shape:#?}");
    if std::env::var_os("FSIM_SHOW_SHAPE").is_some() {
        eprintln!("{shape:#?}\n{posted:#?}");
    }
    let mut uploads = Vec::new();
    while let Ok(r) = ups.try_recv() {
        uploads.push(r.body.len());
    }
    Run {
        shape,
        cdrs: posted,
        uploads,
    }
}

fn cdr(run: &Run, a_leg: bool) -> &CdrShape {
    let want = if a_leg { "uuid=a_" } else { "uuid=" };
    &run.cdrs
        .iter()
        .find(|(line, _)| line.contains(want) && (a_leg || !line.contains("uuid=a_")))
        .expect("the leg's CDR was posted")
        .1
}

fn assert_same(what: &str, diff: Vec<String>) {
    assert!(
        diff.is_empty(),
        "{what}: the simulator differs from FreeSWITCH 1.10.12 (left = real):\n{}",
        diff.join("\n")
    );
}

#[tokio::test]
async fn an_answered_click_to_call_has_the_real_switchs_shape() {
    let callee = OutcomeRule {
        number: Some("913800138000".into()),
        ring_ms: 20,
        talk_ms: 1200,
        ..OutcomeRule::default()
    };
    let run = replay("esl-events-success-click-to-call.txt", callee).await;
    let real = Shape::from_plain_stream(&read("esl-events-success-click-to-call.txt"));
    assert_same("events", real.diff(&run.shape));
    let real_a = CdrShape::from_xml(&read("cdr/00021-success-clicktocall-A-agent-leg.cdr.xml"));
    let real_b = CdrShape::from_xml(&read("cdr/00022-success-clicktocall-B-carrier-leg.cdr.xml"));
    assert_same("A-leg CDR", real_a.diff(cdr(&run, true)));
    assert_same("B-leg CDR", real_b.diff(cdr(&run, false)));
    // The callee leg recorded 1.2 s in stereo at 8 kHz and its hook uploaded that file.
    assert_eq!(run.uploads.len(), 1, "one upload");
    let wav = 44 + 8000 * 2 * 2 * 12 / 10;
    assert!(
        run.uploads[0] >= wav && run.uploads[0] < wav + 8000 + 1000,
        "upload of {} bytes for a {wav}-byte recording",
        run.uploads[0]
    );
}

#[tokio::test]
async fn a_busy_customer_has_the_real_switchs_shape() {
    let callee = OutcomeRule {
        number: Some("13800138001".into()),
        outcome: "busy".into(),
        ring_ms: 20,
        ..OutcomeRule::default()
    };
    let run = replay("esl-events-busy-486.txt", callee).await;
    let real = Shape::from_plain_stream(&read("esl-events-busy-486.txt"));
    assert_same("events", real.diff(&run.shape));
    let real_a = CdrShape::from_xml(&read("cdr/00038-busy486-A-agent-leg.cdr.xml"));
    let real_b = CdrShape::from_xml(&read("cdr/00037-busy486-B-leg.cdr.xml"));
    assert_same("A-leg CDR", real_a.diff(cdr(&run, true)));
    assert_same("B-leg CDR", real_b.diff(cdr(&run, false)));
    assert!(
        run.uploads.is_empty(),
        "nothing was recorded, nothing is uploaded"
    );
}
