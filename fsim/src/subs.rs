//! A listener's event selection, as mod_event_socket keeps it: the subscribed event names
//! (`ALL`, or names plus CUSTOM subclasses), and `filter` header rules that narrow delivery.

use crate::event::Event;

/// Event names FreeSWITCH knows (switch_event.c EVENT_NAMES); unknown names are ignored by
/// `event`, and a command with none known is refused.
const EVENT_NAMES: &[&str] = &[
    "CUSTOM",
    "CLONE",
    "CHANNEL_CREATE",
    "CHANNEL_DESTROY",
    "CHANNEL_STATE",
    "CHANNEL_CALLSTATE",
    "CHANNEL_ANSWER",
    "CHANNEL_HANGUP",
    "CHANNEL_HANGUP_COMPLETE",
    "CHANNEL_EXECUTE",
    "CHANNEL_EXECUTE_COMPLETE",
    "CHANNEL_HOLD",
    "CHANNEL_UNHOLD",
    "CHANNEL_BRIDGE",
    "CHANNEL_UNBRIDGE",
    "CHANNEL_PROGRESS",
    "CHANNEL_PROGRESS_MEDIA",
    "CHANNEL_OUTGOING",
    "CHANNEL_PARK",
    "CHANNEL_UNPARK",
    "CHANNEL_APPLICATION",
    "CHANNEL_ORIGINATE",
    "CHANNEL_UUID",
    "API",
    "LOG",
    "INBOUND_CHAN",
    "OUTBOUND_CHAN",
    "STARTUP",
    "SHUTDOWN",
    "PUBLISH",
    "UNPUBLISH",
    "TALK",
    "NOTALK",
    "SESSION_CRASH",
    "MODULE_LOAD",
    "MODULE_UNLOAD",
    "DTMF",
    "MESSAGE",
    "PRESENCE_IN",
    "NOTIFY_IN",
    "PRESENCE_OUT",
    "PRESENCE_PROBE",
    "MESSAGE_WAITING",
    "MESSAGE_QUERY",
    "ROSTER",
    "CODEC",
    "BACKGROUND_JOB",
    "DETECTED_SPEECH",
    "DETECTED_TONE",
    "PRIVATE_COMMAND",
    "HEARTBEAT",
    "TRAP",
    "ADD_SCHEDULE",
    "DEL_SCHEDULE",
    "EXE_SCHEDULE",
    "RE_SCHEDULE",
    "RELOADXML",
    "NOTIFY",
    "PHONE_FEATURE",
    "PHONE_FEATURE_SUBSCRIBE",
    "SEND_MESSAGE",
    "RECV_MESSAGE",
    "REQUEST_PARAMS",
    "CHANNEL_DATA",
    "GENERAL",
    "COMMAND",
    "SESSION_HEARTBEAT",
    "CLIENT_DISCONNECTED",
    "SERVER_DISCONNECTED",
    "SEND_INFO",
    "RECV_INFO",
    "RECV_RTCP_MESSAGE",
    "SEND_RTCP_MESSAGE",
    "CALL_SECURE",
    "NAT",
    "RECORD_START",
    "RECORD_STOP",
    "PLAYBACK_START",
    "PLAYBACK_STOP",
    "CALL_UPDATE",
    "FAILURE",
    "SOCKET_DATA",
    "MEDIA_BUG_START",
    "MEDIA_BUG_STOP",
    "CONFERENCE_DATA_QUERY",
    "CONFERENCE_DATA",
    "CALL_SETUP_REQ",
    "CALL_SETUP_RESULT",
    "CALL_DETAIL",
    "DEVICE_STATE",
    "TEXT",
    "SHUTDOWN_REQUESTED",
    "ALL",
];

/// What one connection receives.
#[derive(Debug, Default, Clone)]
pub struct Subscriptions {
    all: bool,
    names: Vec<String>,
    subclasses: Vec<String>,
    filters: Vec<(String, String)>,
}

impl Subscriptions {
    /// Adds the keywords of an `event` command (format word already removed). Returns how many
    /// known event names were given; tokens after CUSTOM are subclass names.
    pub fn add(&mut self, tokens: &[&str]) -> usize {
        let mut keys = 0;
        let mut custom = false;
        for t in tokens {
            if custom {
                self.subclasses.push(t.to_string());
                continue;
            }
            let up = t.to_ascii_uppercase();
            if !EVENT_NAMES.contains(&up.as_str()) {
                continue;
            }
            keys += 1;
            match up.as_str() {
                "ALL" => self.all = true,
                "CUSTOM" => custom = true,
                _ => {}
            }
            self.names.push(up);
        }
        keys
    }

    /// `nixevent`: removes names (and subclasses after CUSTOM). Returns known names seen.
    pub fn remove(&mut self, tokens: &[&str]) -> usize {
        let mut keys = 0;
        let mut custom = false;
        for t in tokens {
            if custom {
                self.subclasses.retain(|s| s != t);
                continue;
            }
            let up = t.to_ascii_uppercase();
            if !EVENT_NAMES.contains(&up.as_str()) {
                continue;
            }
            keys += 1;
            match up.as_str() {
                "ALL" => {
                    self.all = false;
                    self.names.clear();
                }
                "CUSTOM" => custom = true,
                _ => {
                    if self.all {
                        // Nixing one name from ALL turns ALL into every other name.
                        self.all = false;
                        self.names = EVENT_NAMES
                            .iter()
                            .filter(|n| **n != "ALL")
                            .map(|n| n.to_string())
                            .collect();
                    }
                    self.names.retain(|n| *n != up);
                }
            }
        }
        keys
    }

    /// `noevents`.
    pub fn clear(&mut self) {
        self.all = false;
        self.names.clear();
        self.subclasses.clear();
    }

    /// `filter <header> <value>`.
    pub fn add_filter(&mut self, header: &str, value: &str) {
        self.filters.push((header.to_string(), value.to_string()));
    }

    /// `filter delete <header> [value]` / `filter delete all`.
    pub fn delete_filter(&mut self, header: &str, value: Option<&str>) {
        if header.eq_ignore_ascii_case("all") {
            self.filters.clear();
        } else {
            self.filters
                .retain(|(h, v)| !(h.eq_ignore_ascii_case(header) && value.is_none_or(|x| x == v)));
        }
    }

    /// Whether `ev` goes to this listener (event_handler in mod_event_socket.c).
    pub fn wants(&self, ev: &Event) -> bool {
        // The hangup hook's API event carries no Event-Name; it is still an API event.
        let name = match ev.name() {
            "" if ev.get("API-Command").is_some() => "API",
            n => n,
        };
        let mut send = if self.all {
            true
        } else if self.names.iter().any(|n| n == name) {
            name != "CUSTOM"
                || ev
                    .subclass()
                    .is_none_or(|s| self.subclasses.iter().any(|x| x == s))
        } else {
            false
        };
        if send && !self.filters.is_empty() {
            // A listener with filters only gets events matching one of them; a `-value`
            // filter that matches drops the event outright.
            send = false;
            for (h, v) in &self.filters {
                let Some(actual) = ev.get(h) else { continue };
                let (positive, want) = match v.strip_prefix('-') {
                    Some(rest) => (false, rest),
                    None => (true, v.strip_prefix('+').unwrap_or(v)),
                };
                if actual.eq_ignore_ascii_case(want) {
                    if positive {
                        send = true;
                    } else {
                        return false;
                    }
                }
            }
        }
        send
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(name: &str, sub: Option<&str>) -> Event {
        let mut e = Event::default();
        if let Some(s) = sub {
            e.push("Event-Subclass", s);
        }
        e.push("Event-Name", name);
        e.push("Unique-ID", "u1");
        e
    }

    #[test]
    fn custom_needs_its_subclass() {
        let mut s = Subscriptions::default();
        assert_eq!(s.add(&["CHANNEL_ANSWER", "CUSTOM", "sofia::register"]), 2);
        assert!(s.wants(&ev("CUSTOM", Some("sofia::register"))));
        assert!(!s.wants(&ev("CUSTOM", Some("sofia::unregister"))));
        assert!(s.wants(&ev("CHANNEL_ANSWER", None)));
        assert!(!s.wants(&ev("HEARTBEAT", None)));
    }

    #[test]
    fn filters_narrow_delivery() {
        let mut s = Subscriptions::default();
        s.add(&["ALL"]);
        s.add_filter("Unique-ID", "u2");
        assert!(!s.wants(&ev("CHANNEL_ANSWER", None)));
        s.add_filter("Unique-ID", "u1");
        assert!(s.wants(&ev("CHANNEL_ANSWER", None)));
    }

    #[test]
    fn unknown_names_are_not_keywords() {
        assert_eq!(Subscriptions::default().add(&["NOPE"]), 0);
    }
}
