//! Transport decoding: from the bytes of a CDR post (or an err-log-dir file) to the CDR
//! document FreeSWITCH generated, and how it was carried.
//!
//! mod_xml_cdr.c (`my_on_reporting`) posts, by its `encode` setting:
//! - `true` (default): `Content-Type: application/x-www-form-urlencoded`, body `cdr=` + the
//!   URL-encoded XML;
//! - `base64`: `Content-Type: application/x-www-form-base64-encoded`, body `cdr=` + base64,
//!   not URL-encoded, so `+` and `/` arrive as they are;
//! - `false`: `Content-Type: application/x-www-form-plaintext`, body `cdr=` + the XML as is;
//! - `textxml`: `Content-Type: text/xml`, the XML alone.
//!
//! mod_json_cdr.c does the same with JSON, and `application/json` when not encoding. When a
//! post fails, both write the encoded text (without `cdr=`) to the err-log-dir.
//!
//! The Content-Type is only a hint: old builds sent `text/xml` for base64, so the bytes decide.

use base64::Engine;

/// How a post carried its document (stored in `cdrs.encoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `cdr=` + URL-encoded document.
    FormUrlencoded,
    /// `cdr=` + base64.
    FormBase64,
    /// `cdr=` + the document as is (`encode=false`).
    FormPlain,
    /// A raw XML body (`encode=textxml`) or file.
    Xml,
    /// A raw JSON body (mod_json_cdr without `encode`) or file.
    Json,
    /// A body (or err-log-dir file) that is base64 without `cdr=`.
    Base64,
    /// A body (or err-log-dir file) that is URL-encoded without `cdr=`.
    Urlencoded,
    /// Nothing recognisable: kept as received.
    Unknown,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::FormUrlencoded => "form_urlencoded",
            Encoding::FormBase64 => "form_base64",
            Encoding::FormPlain => "form_plain",
            Encoding::Xml => "xml",
            Encoding::Json => "json",
            Encoding::Base64 => "base64",
            Encoding::Urlencoded => "urlencoded",
            Encoding::Unknown => "unknown",
        }
    }
}

/// What a document looks like once decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
    Unknown,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Xml => "xml",
            Format::Json => "json",
            Format::Unknown => "unknown",
        }
    }

    fn sniff(doc: &[u8]) -> Format {
        match trim_start(doc).first() {
            Some(b'<') => Format::Xml,
            Some(b'{') => Format::Json,
            _ => Format::Unknown,
        }
    }
}

/// A decoded post: the document and how it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub document: Vec<u8>,
    pub encoding: Encoding,
    pub format: Format,
}

/// Skips whitespace and a UTF-8 byte order mark.
fn trim_start(b: &[u8]) -> &[u8] {
    let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &b[n..]
}

fn trim(b: &[u8]) -> &[u8] {
    let b = trim_start(b);
    let n = b
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_whitespace())
        .count();
    &b[..b.len() - n]
}

/// Decodes a post body. `content_type` is the request's, lower-cased or not.
pub fn decode(body: &[u8], content_type: Option<&str>) -> Decoded {
    let ct = content_type
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let b = trim_start(body);
    if let Some(value) = b.strip_prefix(b"cdr=") {
        return decode_form_value(value, &ct);
    }
    decode_bare(b)
}

/// The value after `cdr=`. mod_xml_cdr and mod_json_cdr send no other field, so the value is
/// everything after `cdr=`: a plaintext document may itself contain `&` and `=`.
fn decode_form_value(value: &[u8], ct: &str) -> Decoded {
    let first = trim_start(value).first().copied();
    if ct == "application/x-www-form-base64-encoded"
        && let Some(doc) = base64_document(value)
    {
        return found(doc, Encoding::FormBase64);
    }
    if matches!(first, Some(b'<') | Some(b'{')) {
        return found(value.to_vec(), Encoding::FormPlain);
    }
    let decoded = percent_decode_form(value);
    if Format::sniff(&decoded) != Format::Unknown {
        return found(decoded, Encoding::FormUrlencoded);
    }
    if let Some(doc) = base64_document(value) {
        return found(doc, Encoding::FormBase64);
    }
    unknown(value.to_vec())
}

/// A body without `cdr=`: raw XML or JSON, or an err-log-dir file's URL-encoded or base64 text.
pub fn decode_bare(b: &[u8]) -> Decoded {
    match Format::sniff(b) {
        Format::Xml => return found(b.to_vec(), Encoding::Xml),
        Format::Json => return found(b.to_vec(), Encoding::Json),
        Format::Unknown => {}
    }
    if b.first() == Some(&b'%') {
        let decoded = percent_decode_form(b);
        if Format::sniff(&decoded) != Format::Unknown {
            return found(decoded, Encoding::Urlencoded);
        }
    }
    if let Some(doc) = base64_document(b) {
        return found(doc, Encoding::Base64);
    }
    unknown(b.to_vec())
}

fn found(document: Vec<u8>, encoding: Encoding) -> Decoded {
    let format = Format::sniff(&document);
    Decoded {
        document,
        encoding,
        format,
    }
}

fn unknown(document: Vec<u8>) -> Decoded {
    Decoded {
        document,
        encoding: Encoding::Unknown,
        format: Format::Unknown,
    }
}

/// Base64 text (line breaks allowed) that decodes to something shaped like a document.
fn base64_document(text: &[u8]) -> Option<Vec<u8>> {
    let compact: Vec<u8> = trim(text)
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    if compact.is_empty() {
        return None;
    }
    // switch_b64_encode pads; tolerate a missing padding from other encoders.
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let doc = engine.decode(&compact).ok()?;
    (Format::sniff(&doc) != Format::Unknown).then_some(doc)
}

/// `application/x-www-form-urlencoded` value decoding: `+` is a space, `%XX` a byte. FreeSWITCH
/// escapes `+` itself (it is in SWITCH_URL_UNSAFE, switch_utils.h), so a literal plus survives.
pub fn percent_decode_form(s: &[u8]) -> Vec<u8> {
    form_urlencoded::parse(&[b"v=", s].concat())
        .next()
        .map(|(_, v)| v.into_owned().into_bytes())
        .unwrap_or_default()
}

/// Percent-decoding alone, for variable values (`+` stays `+`): FreeSWITCH URL-encodes
/// variable values in XML CDRs, and in JSON ones with `encode-values` (the default).
pub fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str =
        "<?xml version=\"1.0\"?>\n<cdr core-uuid=\"c\"><variables><x>a%2Bb</x></variables></cdr>\n";

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn each_mod_xml_cdr_encoding_yields_the_document() {
        let url = form_urlencoded::byte_serialize(XML.as_bytes()).collect::<String>();
        let cases = [
            (
                format!("cdr={url}"),
                "application/x-www-form-urlencoded",
                Encoding::FormUrlencoded,
            ),
            (
                format!("cdr={}", b64(XML)),
                "application/x-www-form-base64-encoded",
                Encoding::FormBase64,
            ),
            (
                format!("cdr={XML}"),
                "application/x-www-form-plaintext",
                Encoding::FormPlain,
            ),
            (XML.to_string(), "text/xml", Encoding::Xml),
            // Old builds sent base64 with text/xml: the bytes decide.
            (b64(XML), "text/xml", Encoding::Base64),
            (
                format!("cdr={}", b64(XML)),
                "text/xml",
                Encoding::FormBase64,
            ),
        ];
        for (body, ct, enc) in cases {
            let d = decode(body.as_bytes(), Some(ct));
            assert_eq!(d.encoding, enc, "{ct}: {body}");
            assert_eq!(d.format, Format::Xml);
            assert_eq!(String::from_utf8(d.document).unwrap(), XML);
        }
    }

    #[test]
    fn json_bodies_and_unknown_bytes() {
        let d = decode(b"{\"a\":1}", Some("application/json"));
        assert_eq!((d.encoding, d.format), (Encoding::Json, Format::Json));
        let d = decode(b"\x00\x01garbage", None);
        assert_eq!((d.encoding, d.format), (Encoding::Unknown, Format::Unknown));
        assert_eq!(d.document, b"\x00\x01garbage");
    }

    #[test]
    fn err_log_dir_files_decode_without_the_form_prefix() {
        let url = form_urlencoded::byte_serialize(XML.as_bytes()).collect::<String>();
        assert_eq!(decode_bare(url.as_bytes()).encoding, Encoding::Urlencoded);
        let wrapped = b64(XML)
            .as_bytes()
            .chunks(20)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("\n");
        let d = decode_bare(wrapped.as_bytes());
        assert_eq!(d.encoding, Encoding::Base64);
        assert_eq!(String::from_utf8(d.document).unwrap(), XML);
    }

    #[test]
    fn percent_decode_keeps_plus_and_bad_escapes() {
        assert_eq!(percent_decode("%2B86%20138"), "+86 138");
        assert_eq!(percent_decode("+86"), "+86");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
