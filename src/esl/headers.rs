//! ESL header lists: ordered, duplicates kept, looked up without regard to case, and the
//! percent-decoding FreeSWITCH applies to header values.

/// Header name/value pairs in wire order.
///
/// FreeSWITCH itself compares header names with `strcasecmp` (`switch_event_get_header`), and
/// captures show both `Event-Date-Timestamp` and `Event-Date-timestamp`, so lookups here ignore
/// ASCII case. Duplicates are kept (a `sofia::register` capture carries `Event-Subclass` twice);
/// [`Headers::get`] returns the first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    /// The first value of `name`, ignoring ASCII case.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in wire order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Parses one `Name: value` line. FreeSWITCH splits at the first `:` and skips the spaces after
/// it (`read_packet` in mod_event_socket); a trailing `\r` is tolerated for hand-typed input.
/// Returns `None` for a line without a colon or with an empty name.
pub(crate) fn split_header_line(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let colon = line.iter().position(|&b| b == b':')?;
    let (name, rest) = (&line[..colon], &line[colon + 1..]);
    if name.is_empty() {
        return None;
    }
    let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
    Some((name, &rest[start..]))
}

/// Percent-decodes like FreeSWITCH's `switch_url_decode`: `%XX` with two hex digits becomes that
/// byte, anything else (including `+` and a stray `%`) is kept as is. Invalid UTF-8 after decoding
/// is replaced rather than rejected, so odd bytes in a caller-ID never cost us an event.
pub fn url_decode(value: &[u8]) -> String {
    if !value.contains(&b'%') {
        return String::from_utf8_lossy(value).into_owned();
    }
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        if value[i] == b'%'
            && i + 2 < value.len()
            && let (Some(h), Some(l)) = (hex(value[i + 1]), hex(value[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(value[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_ignores_case_and_returns_the_first_duplicate() {
        let mut h = Headers::new();
        h.push("Unique-ID", "a");
        h.push("unique-id", "b");
        assert_eq!(h.get("UNIQUE-ID"), Some("a"));
        assert_eq!(h.get_all("Unique-Id").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(h.get("Missing"), None);
    }

    #[test]
    fn url_decode_matches_freeswitch_rules() {
        assert_eq!(url_decode(b"sofia%3A%3Aregister"), "sofia::register");
        assert_eq!(url_decode(b"%2BOK%0A"), "+OK\n");
        assert_eq!(url_decode(b"a+b"), "a+b");
        assert_eq!(url_decode(b"100%"), "100%");
        assert_eq!(url_decode(b"%zz%4"), "%zz%4");
        assert_eq!(url_decode(b"%E4%B8%AD"), "中");
        assert_eq!(url_decode(b"%FF"), "\u{FFFD}");
    }

    #[test]
    fn header_line_splits_at_the_first_colon_and_skips_spaces() {
        assert_eq!(
            split_header_line(b"Reply-Text: +OK Job-UUID: x"),
            Some((&b"Reply-Text"[..], &b"+OK Job-UUID: x"[..]))
        );
        assert_eq!(split_header_line(b"A:b\r"), Some((&b"A"[..], &b"b"[..])));
        assert_eq!(split_header_line(b"no colon"), None);
        assert_eq!(split_header_line(b": empty name"), None);
    }
}
