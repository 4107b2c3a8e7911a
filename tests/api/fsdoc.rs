//! FreeSWITCH documents as the tests read them: a strict parser into a small tree, an emulator
//! of FreeSWITCH's XML pre-processor, the recorded mod_xml_curl request bodies
//! (tests/fixtures/xml_curl, beside the repository) and a client for `POST /fsapi/xml_curl`.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use reqwest::StatusCode;

use crate::helpers::TestApp;

/// One XML element with its attributes (unescaped) and child elements.
#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
}

impl Node {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every element named `name` below this one, in document order.
    pub fn all(&self, name: &str) -> Vec<&Node> {
        let mut found = Vec::new();
        for c in &self.children {
            if c.name == name {
                found.push(c);
            }
            found.extend(c.all(name));
        }
        found
    }

    /// The `value` of the `param`/`variable` element called `key`.
    pub fn named(&self, element: &str, key: &str) -> Option<String> {
        self.all(element)
            .into_iter()
            .find(|n| n.attr("name") == Some(key))
            .and_then(|n| n.attr("value").map(str::to_string))
    }
}

fn node(e: &BytesStart<'_>) -> Node {
    let attrs = e
        .attributes()
        .map(|a| {
            let a = a.expect("well-formed attribute");
            let v = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .expect("attribute value unescapes");
            (a.key.0.to_string(), v.into_owned())
        })
        .collect();
    Node {
        name: e.name().0.to_string(),
        attrs,
        children: Vec::new(),
    }
}

/// Parses a document with a strict parser: it must be well-formed, with one root element.
pub fn parse(xml: &str) -> Node {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Node> = Vec::new();
    let mut root = None;
    loop {
        match reader.read_event().unwrap_or_else(|e| panic!("{e}: {xml}")) {
            Event::Start(e) => stack.push(node(&e)),
            Event::Empty(e) => {
                let n = node(&e);
                match stack.last_mut() {
                    Some(parent) => parent.children.push(n),
                    None => root = Some(n),
                }
            }
            Event::End(_) => {
                let n = stack.pop().expect("balanced");
                match stack.last_mut() {
                    Some(parent) => parent.children.push(n),
                    None => root = Some(n),
                }
            }
            Event::Decl(_) | Event::PI(_) => panic!("no <?...?> in answers: {xml}"),
            Event::Eof => break,
            _ => {}
        }
    }
    let root = root.expect("a root element");
    assert_eq!(root.name, "document");
    assert_eq!(root.attr("type"), Some("freeswitch/xml"));
    root
}

/// What FreeSWITCH's pre-processor (switch_xml.c `preprocess`) would do to the raw text, line
/// by line: fails on anything it would execute, expand or drop.
pub fn assert_preprocessor_inert(xml: &str) {
    for line in xml.lines() {
        let lower = line.to_ascii_lowercase();
        assert!(!line.contains("$${"), "expands $${{...}}: {line}");
        assert!(!lower.contains("x-pre-process"), "runs or drops: {line}");
        assert!(!line.contains("<!--#"), "runs: {line}");
        assert!(!line.contains("<?"), "dropped line: {line}");
        assert!(
            !line.contains("<include>") && !line.contains("</include>"),
            "dropped line: {line}"
        );
    }
}

pub fn is_not_found(doc: &Node) -> bool {
    doc.all("section")
        .iter()
        .any(|s| s.attr("name") == Some("result"))
        && doc.all("result").first().and_then(|r| r.attr("status")) == Some("not found")
}

pub fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/xml_curl/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A fixture as the form bodies mod_xml_curl posts: raw bodies as they are, the documented
/// parameter dumps (`[k] => v`, `["k"]=> "v"`, `k : v`, `k :::: v`) re-encoded.
pub fn fixture_bodies(name: &str) -> Vec<String> {
    let text = fixture(name);
    let encode = |pairs: Vec<(String, String)>| {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    };
    let split = |sep: &str, strip: &[char]| -> String {
        encode(
            text.lines()
                .filter_map(|l| l.split_once(sep))
                .map(|(k, v)| {
                    let k = k.trim().trim_matches(strip).to_string();
                    (k, v.trim().trim_matches('"').to_string())
                })
                .collect(),
        )
    };
    if name.contains("print_r") {
        vec![split("] => ", &['[', ']'])]
    } else if name.contains("var_dump") {
        vec![split("]=> ", &['[', ']', '"'])]
    } else if name.contains("quad_colon") {
        vec![split(" :::: ", &[])]
    } else if name.contains("colon_dump") {
        vec![split(" : ", &[])]
    } else if name.contains("one_per_line") {
        text.lines().map(str::to_string).collect()
    } else if name.contains("headers_and_body") {
        let body = text.split("BODY:").nth(1).expect("a BODY: part");
        vec![body.trim().to_string()]
    } else {
        vec![text.lines().map(str::trim).collect::<String>()]
    }
}

/// Posts a raw form body; answers the status, content type and text.
pub async fn post_body(app: &TestApp, body: impl Into<String>) -> (StatusCode, String, String) {
    let res = app
        .client
        .post(app.url("/fsapi/xml_curl"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("user-agent", "freeswitch-xml/1.0")
        .body(body.into())
        .send()
        .await
        .unwrap();
    let status = res.status();
    let ctype = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ctype, res.text().await.unwrap())
}

/// Posts a body, checks the envelope every answer must have, and parses it.
pub async fn ask(app: &TestApp, body: impl Into<String>) -> Node {
    let (status, ctype, text) = post_body(app, body).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(ctype.starts_with("text/xml"), "{ctype}");
    assert_preprocessor_inert(&text);
    parse(&text)
}

pub async fn create_extension(app: &TestApp, body: serde_json::Value) {
    let (status, v) = app.post("/v1/extension/create", body).await;
    assert_eq!(status, StatusCode::OK, "{v}");
}
