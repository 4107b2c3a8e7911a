//! The FreeSWITCH event: an ordered list of headers plus an optional body, and its three wire
//! serialisations (`text/event-plain`, `text/event-json`, `text/event-xml`).
//!
//! Layouts follow switch_event.c: plain is `Name: url-encoded value` lines, then either
//! `Content-Length: N` + blank line + body, or a single blank line; JSON is one compact object
//! with raw values, the body under `_body` after a `Content-Length` key.

use crate::text::{url_encode, xml_escape};

/// One event as fired on the simulator's bus.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Event {
    /// Headers in the order FreeSWITCH adds them.
    pub headers: Vec<(String, String)>,
    /// Body, e.g. the result of a background job.
    pub body: Option<String>,
}

impl Event {
    /// Appends a header at the bottom, as `SWITCH_STACK_BOTTOM` does.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.headers.push((name.into(), value.into()));
    }

    /// First header with this name; names compare case-insensitively like FreeSWITCH's lookup.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `Event-Name`.
    pub fn name(&self) -> &str {
        self.get("Event-Name").unwrap_or("")
    }

    /// `Event-Subclass` for CUSTOM events.
    pub fn subclass(&self) -> Option<&str> {
        self.get("Event-Subclass")
    }

    /// `text/event-plain` body.
    pub fn to_plain(&self) -> String {
        let mut out = String::with_capacity(64 * self.headers.len());
        for (k, v) in &self.headers {
            out.push_str(k);
            out.push_str(": ");
            out.push_str(&url_encode(v));
            out.push('\n');
        }
        match self.body.as_deref() {
            Some(body) if !body.is_empty() => {
                out.push_str(&format!("Content-Length: {}\n\n", body.len()));
                out.push_str(body);
            }
            _ => out.push('\n'),
        }
        out
    }

    /// `text/event-json` body: keys in header order (cJSON keeps insertion order).
    pub fn to_json(&self) -> String {
        let mut out = String::from("{");
        let mut first = true;
        let mut field = |k: &str, v: &str, out: &mut String| {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(&json_str(k));
            out.push(':');
            out.push_str(&json_str(v));
        };
        for (k, v) in &self.headers {
            field(k, v, &mut out);
        }
        if let Some(body) = self.body.as_deref().filter(|b| !b.is_empty()) {
            field("Content-Length", &body.len().to_string(), &mut out);
            field("_body", body, &mut out);
        }
        out.push('}');
        out
    }

    /// `text/event-xml` body, shaped like `switch_event_xmlize`.
    pub fn to_xml(&self) -> String {
        let mut out = String::from("<event>\n  <headers>\n");
        for (k, v) in &self.headers {
            out.push_str(&format!("    <{k}>{}</{k}>\n", xml_escape(&url_encode(v))));
        }
        let body = self.body.as_deref().filter(|b| !b.is_empty());
        if let Some(body) = body {
            out.push_str(&format!(
                "    <Content-Length>{}</Content-Length>\n",
                body.len()
            ));
        }
        out.push_str("  </headers>\n");
        if let Some(body) = body {
            out.push_str(&format!("  <body>{}</body>\n", xml_escape(body)));
        }
        out.push_str("</event>");
        out
    }

    /// Parses a `text/event-plain` body back into an event (used by tests and the load client).
    pub fn parse_plain(text: &str) -> Event {
        let mut ev = Event::default();
        let (head, body) = match text.find("\n\n") {
            Some(i) => (&text[..i], Some(&text[i + 2..])),
            None => (text, None),
        };
        for line in head.lines() {
            if let Some((k, v)) = line.split_once(": ") {
                if k.eq_ignore_ascii_case("Content-Length") && body.is_some() {
                    continue;
                }
                ev.push(k, crate::text::url_decode(v));
            }
        }
        ev.body = body.filter(|b| !b.is_empty()).map(str::to_string);
        ev
    }
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Event {
        let mut ev = Event::default();
        ev.push("Event-Name", "BACKGROUND_JOB");
        ev.push("Job-Command", "originate");
        ev.body = Some("-ERR USER_BUSY\n".into());
        ev
    }

    #[test]
    fn plain_body_announces_its_length() {
        assert_eq!(
            job().to_plain(),
            "Event-Name: BACKGROUND_JOB\nJob-Command: originate\nContent-Length: 15\n\n-ERR USER_BUSY\n"
        );
    }

    #[test]
    fn plain_without_body_ends_with_blank_line() {
        let mut ev = Event::default();
        ev.push("Event-Name", "HEARTBEAT");
        assert_eq!(ev.to_plain(), "Event-Name: HEARTBEAT\n\n");
    }

    #[test]
    fn json_keeps_header_order_and_body() {
        let j = job().to_json();
        assert!(j.starts_with(r#"{"Event-Name":"BACKGROUND_JOB","Job-Command":"originate""#));
        assert!(j.ends_with(r#""Content-Length":"15","_body":"-ERR USER_BUSY\n"}"#));
    }

    #[test]
    fn plain_round_trips() {
        let ev = job();
        assert_eq!(Event::parse_plain(&ev.to_plain()), ev);
    }
}
