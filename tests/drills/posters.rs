//! The posts FreeSWITCH makes, done by the test where a drill needs to count and retry them
//! itself: a CDR as mod_xml_cdr sends it (form field `cdr`, `?uuid=a_<uuid>`, retried on
//! anything but 2xx), and a recording as the hangup hook's curl sends it (multipart field
//! `files`), retried as `curl --retry` does on 5xx and refused connections.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use uuid::Uuid;

use crate::rig::SECRET;

/// The leg uuid of the captured CDR the drills post under fresh uuids.
const FIXTURE_UUID: &str = "4b3b36af-3d98-4670-bc14-0ee08890d7d6";

/// A real captured XML CDR with its leg uuid replaced by `uuid`, as mod_xml_cdr's form body.
pub fn cdr_body(uuid: &Uuid) -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cdr/zhouhailin_a_4b3b36af_inbound_bridged_via_gateway_avaya_answered.cdr.xml"
    );
    let xml = std::fs::read_to_string(path).unwrap();
    assert!(xml.contains(FIXTURE_UUID));
    let xml = xml.replace(FIXTURE_UUID, &uuid.to_string());
    form_urlencoded::Serializer::new(String::new())
        .append_pair("cdr", &xml)
        .finish()
}

/// One CDR post; `None` when no HTTP answer came (refused, reset).
pub async fn post_cdr(client: &reqwest::Client, base: &str, uuid: &Uuid) -> Option<StatusCode> {
    client
        .post(format!("{base}/fsapi/cdr?uuid=a_{uuid}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("user-agent", "freeswitch-xml/1.0")
        .body(cdr_body(uuid))
        .send()
        .await
        .ok()
        .map(|r| r.status())
}

/// One recording upload; `None` when no HTTP answer came.
pub async fn upload(
    client: &reqwest::Client,
    base: &str,
    call: &Uuid,
    bytes: Vec<u8>,
) -> Option<StatusCode> {
    let token = callplane::tokens::upload_token(SECRET, call);
    let form = Form::new().part("files", Part::bytes(bytes).file_name(format!("{call}.wav")));
    client
        .post(format!(
            "{base}/fsapi/upload_audio?uuid={call}&token={token}"
        ))
        .multipart(form)
        .send()
        .await
        .ok()
        .map(|r| r.status())
}

/// What a retrying poster saw: every answer, in order (`None`: no answer).
#[derive(Debug, Default, Clone)]
pub struct Tries(pub Vec<Option<StatusCode>>);

impl Tries {
    pub fn succeeded(&self) -> bool {
        self.0
            .last()
            .copied()
            .flatten()
            .is_some_and(|s| s.is_success())
    }
    pub fn failures(&self) -> usize {
        self.0
            .iter()
            .filter(|s| !s.is_some_and(|s| s.is_success()))
            .count()
    }
}

/// Posts until a 2xx, at most `tries` times, `delay` apart, as mod_xml_cdr (`retries`,
/// `delay`) and `curl --retry N --retry-delay S --retry-connrefused` do. Any 4xx other than
/// 408/429 ends the tries, as curl does.
pub async fn until_accepted<F, Fut>(tries: usize, delay: Duration, mut attempt: F) -> Tries
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<StatusCode>>,
{
    let mut seen = Tries::default();
    for n in 0..tries {
        if n > 0 {
            tokio::time::sleep(delay).await;
        }
        let got = attempt().await;
        seen.0.push(got);
        match got {
            Some(s) if s.is_success() => break,
            Some(s) if s.is_client_error() && s.as_u16() != 408 && s.as_u16() != 429 => break,
            _ => {}
        }
    }
    seen
}

/// A small WAV file whose samples depend on `seed`.
pub fn wav(seed: u8) -> Vec<u8> {
    let samples = 800usize;
    let data_len = (samples * 2) as u32;
    let mut w = Vec::new();
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + data_len).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&[
        16, 0, 0, 0, 1, 0, 1, 0, 0x40, 0x1f, 0, 0, 0x80, 0x3e, 0, 0, 2, 0,
    ]);
    w.extend_from_slice(&[16, 0]);
    w.extend_from_slice(b"data");
    w.extend_from_slice(&data_len.to_le_bytes());
    w.extend((0..samples * 2).map(|i| (i as u8).wrapping_mul(seed | 1)));
    w
}
