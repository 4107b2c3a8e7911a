//! Text encodings FreeSWITCH applies on the wire: URL-encoding of event header values, XML
//! escaping, Base64 for HTTP Basic credentials, and the date formats of event headers.

use std::time::{SystemTime, UNIX_EPOCH};

/// Bytes FreeSWITCH's `switch_url_encode` escapes besides controls and non-ASCII
/// (`SWITCH_URL_UNSAFE` in switch_utils.h).
const URL_UNSAFE: &[u8] = b"\r\n #%&+:;<=>?@[\\]^`{|}\"";

/// URL-encodes a header value the way `text/event-plain` carries it. `%` is always escaped,
/// as the sofia::register capture shows (`fs_path=sip%253A...`), so a client's single decode
/// gives back the value unchanged.
pub fn url_encode(value: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(value.len());
    for &b in value.as_bytes() {
        if !(b' '..=b'~').contains(&b) || URL_UNSAFE.contains(&b) {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0x0f) as usize] as char);
        } else {
            out.push(b as char);
        }
    }
    out
}

/// Decodes `%XX` escapes (and nothing else: `+` stays a plus, as in FreeSWITCH).
pub fn url_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 3 <= bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Escapes text for XML element content and attribute values.
pub fn xml_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// Standard Base64 with padding, for `Authorization: Basic`.
pub fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// Microseconds since the Unix epoch, the unit of every `*-Time` header and `*_uepoch` variable.
pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Calendar fields of a Unix time in UTC: (year, month, day, hour, minute, second, weekday 0=Sun).
fn civil(secs: u64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    let weekday = ((days + 4).rem_euclid(7)) as u32;
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
        weekday,
    )
}

/// `2014-04-08 21:10:27`: Event-Date-Local, `*_stamp` variables and `show channels` `created`.
/// The simulator's local zone is UTC.
pub fn local_stamp(micros: u64) -> String {
    let (y, mo, d, h, mi, s, _) = civil(micros / 1_000_000);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

/// `Tue, 08 Apr 2014 19:10:27 GMT`: Event-Date-GMT.
pub fn gmt_stamp(micros: u64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, mo, d, h, mi, s, wd) = civil(micros / 1_000_000);
    format!(
        "{}, {d:02} {} {y:04} {h:02}:{mi:02}:{s:02} GMT",
        DAYS[wd as usize],
        MONTHS[(mo - 1) as usize]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encode_matches_captured_values() {
        // Values and encodings taken from the cgrates CHANNEL_ANSWER capture.
        assert_eq!(
            url_encode("2014-04-08 21:10:27"),
            "2014-04-08%2021%3A10%3A27"
        );
        assert_eq!(url_encode("1001@192.168.56.74"), "1001%40192.168.56.74");
        assert_eq!(url_encode("%(2000,4000,440,480)"), "%25(2000,4000,440,480)");
        assert_eq!(url_encode("+AUTH_OK"), "%2BAUTH_OK");
        assert_eq!(url_encode("RTP/AVP *"), "RTP/AVP%20*");
    }

    #[test]
    fn url_decode_reverses_encode() {
        let raw = "sip:1000@host;fs_path=<sip%3A1>";
        assert_eq!(url_decode(&url_encode(raw)), raw);
    }

    #[test]
    fn dates_match_captured_headers() {
        // Event-Date-Timestamp 1396984227717006 was sent as Tue, 08 Apr 2014 19:10:27 GMT.
        assert_eq!(
            gmt_stamp(1_396_984_227_717_006),
            "Tue, 08 Apr 2014 19:10:27 GMT"
        );
        assert_eq!(local_stamp(1_396_984_227_717_006), "2014-04-08 19:10:27");
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64(b"ab"), "YWI=");
    }
}
