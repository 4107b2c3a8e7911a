//! Property tests over outside bytes (HOSTILE_INPUTS R3, R4, R7): `prepare` never panics,
//! never keeps a record that breaks the store's invariants, and decodes every transport
//! encoding FreeSWITCH uses back to the same document and summary. A fixed-seed generator
//! keeps failures reproducible without a proptest dependency; each test runs well under a
//! second in a debug build.

use base64::Engine;

use super::*;

#[path = "../../tests/common/rng.rs"]
mod rng;
use rng::Rng;

/// Text an attacker or a strange SIP header could put into a variable value.
const NASTY: &[&str] = &[
    "+8613800138000",
    "a&b<c>\"d'e",
    "%00",
    "%",
    "%zz",
    "${system(id)}",
    "<X-PRE-PROCESS cmd=\"exec\" data=\"id\"/>",
    "]]>",
    "名字",
    "\u{202e}rtl",
    "\r\n",
    "NORMAL_CLEARING",
    "sofia/gateway/gw1/13800138000",
];

fn value(rng: &mut Rng) -> String {
    (0..rng.below(4)).map(|_| *rng.pick(NASTY)).collect()
}

/// A CDR as FreeSWITCH writes it: values URL-encoded, element names plain.
fn xml_cdr(rng: &mut Rng, uuid: &str) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let mut vars = format!("<uuid>{uuid}</uuid>");
    for name in [
        "caller_id_number",
        "hangup_cause",
        "sip_gateway_name",
        "x_note",
    ] {
        if rng.below(2) == 0 {
            vars.push_str(&format!("<{name}>{}</{name}>", enc(&value(rng))));
        }
    }
    vars.push_str(&format!(
        "<start_epoch>{}</start_epoch>",
        rng.below(2_000_000_000)
    ));
    format!(
        "<?xml version=\"1.0\"?>\n<cdr core-uuid=\"core-{}\" switchname=\"fs1\"><variables>{vars}</variables>\
         <callflow><caller_profile><destination_number>{}</destination_number></caller_profile></callflow></cdr>\n",
        rng.below(1000),
        rng.below(100_000)
    )
}

fn json_cdr(rng: &mut Rng, uuid: &str) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    serde_json::json!({
        "core-uuid": format!("core-{}", rng.below(1000)),
        "switchname": "fs1",
        "variables": {"uuid": uuid, "hangup_cause": enc(&value(rng)), "caller_id_number": enc(&value(rng))},
        "callflow": [{"caller_profile": {"destination_number": rng.below(100_000).to_string()}}],
    })
    .to_string()
}

/// Every way mod_xml_cdr / mod_json_cdr carry a document, as (body, Content-Type).
fn carried(doc: &str) -> Vec<(Vec<u8>, &'static str)> {
    let url: String = form_urlencoded::byte_serialize(doc.as_bytes()).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(doc);
    vec![
        (
            format!("cdr={url}").into_bytes(),
            "application/x-www-form-urlencoded",
        ),
        (
            format!("cdr={b64}").into_bytes(),
            "application/x-www-form-base64-encoded",
        ),
        (
            format!("cdr={doc}").into_bytes(),
            "application/x-www-form-plaintext",
        ),
        (doc.as_bytes().to_vec(), "text/xml"),
        (doc.as_bytes().to_vec(), "application/json"),
        // Old builds sent base64 as text/xml; err-log-dir files have no `cdr=`.
        (b64.clone().into_bytes(), "text/xml"),
        (url.into_bytes(), "application/octet-stream"),
    ]
}

/// What the store relies on, whatever the input.
fn check_invariants(p: &Prepared, input: &[u8]) {
    let ctx = || String::from_utf8_lossy(&input[..input.len().min(200)]).into_owned();
    assert!(
        !p.uuid.is_empty() && p.uuid.len() <= 128,
        "uuid {:?}: {}",
        p.uuid,
        ctx()
    );
    for s in [&p.uuid, &p.core_uuid] {
        assert!(!s.contains('\0'), "NUL in identity: {}", ctx());
    }
    assert!(
        p.query_uuid
            .as_ref()
            .is_none_or(|q| !q.contains('\0') && q.len() <= 128)
    );
    assert!(p.parse_error.as_ref().is_none_or(|e| !e.contains('\0')));
    assert_eq!(p.summary.is_some(), p.parse_error.is_none(), "{}", ctx());
    if let Some(s) = &p.summary {
        assert_eq!((&s.uuid, &s.core_uuid), (&p.uuid, &p.core_uuid));
        assert!(s.leg == "a" || s.leg == "b");
        let texts = [
            &s.caller,
            &s.callee,
            &s.gateway,
            &s.hangup_cause,
            &s.other_uuid,
        ];
        assert!(
            texts
                .iter()
                .all(|t| t.as_ref().is_none_or(|t| !t.contains('\0')))
        );
    } else {
        let readable = matches!(p.format, Format::Xml | Format::Json);
        assert!(readable || p.uuid.starts_with("unparsed-") || p.query_uuid.is_some());
    }
}

#[test]
fn every_encoding_decodes_to_the_same_document_and_summary() {
    let mut rng = Rng(0xCD_0001);
    for i in 0..150 {
        let uuid = format!("{:08x}-0000-4000-8000-{:012x}", rng.next() as u32, i);
        let doc = if i % 2 == 0 {
            xml_cdr(&mut rng, &uuid)
        } else {
            json_cdr(&mut rng, &uuid)
        };
        let reference = prepare(doc.as_bytes(), None, None, false).unwrap();
        check_invariants(&reference, doc.as_bytes());
        let summary = reference.summary.clone().unwrap_or_else(|| {
            panic!("{doc}: {:?}", reference.parse_error);
        });
        assert_eq!(summary.uuid, uuid);
        for (body, ct) in carried(&doc) {
            let p = prepare(&body, Some(ct), Some(&format!("a_{uuid}")), false).unwrap();
            check_invariants(&p, &body);
            assert_eq!(p.document, doc.as_bytes(), "{ct}");
            assert_eq!(p.summary.as_ref(), Some(&summary), "{ct}");
            assert!(!p.uuid_mismatch());
        }
    }
}

#[test]
fn mutated_and_random_bodies_never_panic_and_keep_the_invariants() {
    let mut rng = Rng(0xCD_0002);
    let splices: &[&[u8]] = &[
        b"<",
        b">",
        b"&",
        b"&#0;",
        b"&#x110000;",
        b"%00",
        b"\0",
        b"\xff\xfe",
        b"]]>",
        b"<!DOCTYPE cdr [<!ENTITY x \"y\">]>",
        b"<a b='",
        b"\"",
        b"{",
        b"}",
        b"cdr=",
        b"=",
        b"<variables>",
        b"</cdr>",
        b"\\u0000",
        b"<uuid></uuid>",
    ];
    for i in 0..600 {
        let uuid = format!("leg-{i}");
        let doc = if i % 3 == 0 {
            json_cdr(&mut rng, &uuid)
        } else {
            xml_cdr(&mut rng, &uuid)
        };
        let mut bytes = doc.into_bytes();
        match rng.below(5) {
            0 => bytes.truncate(rng.below(bytes.len())),
            1 => {
                let at = rng.below(bytes.len());
                let s = rng.pick(splices);
                bytes.splice(at..at, s.iter().copied());
            }
            2 => {
                for _ in 0..=rng.below(8) {
                    let at = rng.below(bytes.len());
                    bytes[at] = rng.next() as u8;
                }
            }
            3 => bytes = (0..rng.below(300)).map(|_| rng.next() as u8).collect(),
            _ => {
                let at = rng.below(bytes.len());
                bytes.drain(at..(at + rng.below(40)).min(bytes.len()));
            }
        }
        let refused = String::from_utf8_lossy(&bytes).contains("<!DOCTYPE");
        let query = if rng.below(3) == 0 {
            Some("a_%00")
        } else {
            Some(uuid.as_str())
        };
        for (body, ct) in carried(&String::from_utf8_lossy(&bytes))
            .into_iter()
            .take(4)
        {
            match prepare(&body, Some(ct), query, false) {
                Ok(p) => check_invariants(&p, &body),
                Err(Refused(why)) => assert!(refused, "refused without a DOCTYPE: {why}"),
            }
        }
        if let Ok(p) = prepare(&bytes, None, None, false) {
            check_invariants(&p, &bytes);
            // The same bytes always get the same identity, so a repost dedupes.
            let again = prepare(&bytes, None, None, false).unwrap();
            assert_eq!((&again.core_uuid, &again.uuid), (&p.core_uuid, &p.uuid));
        }
    }
}
