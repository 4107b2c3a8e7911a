//! Reads a mod_xml_cdr document (`<cdr core-uuid=...>` with `variables`, `app_log` and
//! `callflow`, as switch_ivr_generate_xml_cdr writes it) into a `RawCdr`.
//!
//! Variable names become element names, and FreeSWITCH does not check them: a SIP `X-` header
//! with a space or `<` in its name (exported as `sip_h_X-...`) makes the whole document
//! malformed. Such documents fail here with what was read so far; the caller keeps them raw.
//! No DTD is processed: a DOCTYPE is refused, and only XML's predefined and character
//! references are resolved.

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use super::body::percent_decode;
use super::{ParseFailure, RawCdr, Refused};

/// Deeper than any CDR FreeSWITCH writes (about 6 levels).
const MAX_DEPTH: usize = 64;

pub fn parse(doc: &[u8]) -> Result<Result<RawCdr, ParseFailure>, Refused> {
    let text = String::from_utf8_lossy(doc);
    let mut st = State::default();
    match st.run(&text) {
        Ok(()) => Ok(Ok(st.raw)),
        Err(Stop::Refused(r)) => Err(r),
        Err(Stop::Malformed(reason)) => Ok(Err(ParseFailure {
            reason,
            partial: Box::new(st.raw),
        })),
    }
}

enum Stop {
    Refused(Refused),
    Malformed(String),
}

#[derive(Default)]
struct State {
    raw: RawCdr,
    path: Vec<String>,
    text: String,
    callflows: usize,
}

fn malformed(m: impl Into<String>) -> Stop {
    Stop::Malformed(m.into())
}

impl State {
    fn run(&mut self, text: &str) -> Result<(), Stop> {
        let mut reader = Reader::from_str(text);
        let cfg = reader.config_mut();
        cfg.check_end_names = true;
        cfg.trim_text(false);
        let mut seen_root = false;
        loop {
            let pos = reader.buffer_position();
            let ev = reader
                .read_event()
                .map_err(|e| malformed(format!("malformed XML at byte {pos}: {e}")))?;
            match ev {
                Event::DocType(_) => {
                    return Err(Stop::Refused(Refused(
                        "a DOCTYPE is not accepted in a CDR".into(),
                    )));
                }
                Event::Start(e) => {
                    if self.path.is_empty() && seen_root {
                        return Err(malformed("more than one root element"));
                    }
                    seen_root = true;
                    self.open(&e)?;
                }
                Event::Empty(e) => {
                    if self.path.is_empty() && seen_root {
                        return Err(malformed("more than one root element"));
                    }
                    seen_root = true;
                    self.open(&e)?;
                    self.close();
                }
                Event::End(_) => self.close(),
                Event::Text(t) => self.text.push_str(&t.xml10_content()),
                Event::CData(c) => self.text.push_str(&c),
                Event::GeneralRef(r) => {
                    let ch = match r.resolve_char_ref() {
                        Ok(Some(c)) => c,
                        Ok(None) => match &*r {
                            "lt" => '<',
                            "gt" => '>',
                            "amp" => '&',
                            "apos" => '\'',
                            "quot" => '"',
                            other => {
                                return Err(malformed(format!(
                                    "undeclared entity &{other}; (no DTD is processed)"
                                )));
                            }
                        },
                        Err(e) => return Err(malformed(format!("bad character reference: {e}"))),
                    };
                    self.text.push(ch);
                }
                Event::Eof => {
                    if !seen_root {
                        return Err(malformed("no root element"));
                    }
                    if !self.path.is_empty() {
                        return Err(malformed(format!(
                            "truncated: <{}> is never closed",
                            self.path.join("/")
                        )));
                    }
                    return Ok(());
                }
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            }
        }
    }

    fn open(&mut self, e: &BytesStart<'_>) -> Result<(), Stop> {
        let name = e.name().as_ref().to_string();
        if !valid_name(&name) {
            return Err(malformed(format!("invalid element name <{name}>")));
        }
        if self.path.is_empty() && name != "cdr" {
            return Err(malformed(format!(
                "the root element is <{name}>, not <cdr>"
            )));
        }
        if self.path.len() >= MAX_DEPTH {
            return Err(malformed("elements nested too deeply"));
        }
        self.path.push(name);
        self.text.clear();
        let p: Vec<&str> = self.path.iter().map(String::as_str).collect();
        match p.as_slice() {
            ["cdr"] => {
                for (k, v) in attributes(e)? {
                    self.raw.root.insert(k, v);
                }
            }
            ["cdr", "app_log", "application"] => {
                let attrs = attributes(e)?;
                let get = |n: &str| {
                    attrs
                        .iter()
                        .find(|(k, _)| k == n)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                self.raw.apps.push((get("app_name"), get("app_data")));
            }
            ["cdr", "callflow"] => {
                // Callflows are written newest first; the last one read is the oldest.
                self.callflows += 1;
                self.raw.oldest_profile.clear();
            }
            ["cdr", "callflow", "caller_profile", "originator"] if self.callflows == 1 => {
                self.raw.has_originator = true;
            }
            _ => {}
        }
        Ok(())
    }

    fn close(&mut self) {
        let value = std::mem::take(&mut self.text);
        {
            let p: Vec<&str> = self.path.iter().map(String::as_str).collect();
            match p.as_slice() {
                ["cdr", "variables", name] => {
                    let name = name.to_string();
                    self.raw
                        .vars
                        .entry(name)
                        .or_insert_with(|| percent_decode(&value));
                }
                ["cdr", "callflow", "caller_profile", field] => {
                    let field = field.to_string();
                    if self.callflows == 1 {
                        self.raw
                            .profile
                            .entry(field.clone())
                            .or_insert(value.clone());
                    }
                    self.raw.oldest_profile.entry(field).or_insert(value);
                }
                ["cdr", "callflow", "caller_profile", role, _, "uuid"]
                    if self.callflows == 1
                        && (*role == "originator" || *role == "originatee")
                        && self.raw.peer_uuid.is_none() =>
                {
                    self.raw.peer_uuid = Some(value.trim().to_string());
                }
                _ => {}
            }
        }
        self.path.pop();
    }
}

fn attributes(e: &BytesStart<'_>) -> Result<Vec<(String, String)>, Stop> {
    let mut out = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| malformed(format!("bad attribute: {err}")))?;
        let key = a.key.as_ref().to_string();
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|err| malformed(format!("bad attribute {key}: {err}")))?
            .into_owned();
        out.push((key, value));
    }
    Ok(out)
}

/// An XML name, strictly enough to catch what hostile header names produce: a letter, `_` or
/// `:` (or any non-ASCII character) first, then also digits, `-` and `.`.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let start = |c: char| c.is_ascii_alphabetic() || c == '_' || c == ':' || !c.is_ascii();
    start(first) && chars.all(|c| start(c) || c.is_ascii_digit() || c == '-' || c == '.')
}
