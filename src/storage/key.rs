//! Recording formats and object keys. The key of a recording is built from the upload date, the
//! call uuid and a format from a fixed whitelist, never from anything the caller named, so a key
//! can be parsed back strictly and a served path can never leave the recordings tree.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use uuid::Uuid;

/// The audio formats a recording is stored as. `Bin` is for a file none of the others
/// recognises: it is kept (a recording is never thrown away for its format) but served as
/// `application/octet-stream`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Wav,
    Mp3,
    Ogg,
    Flac,
    Amr,
    Bin,
}

const ALL: [Format; 6] = [
    Format::Wav,
    Format::Mp3,
    Format::Ogg,
    Format::Flac,
    Format::Amr,
    Format::Bin,
];

impl Format {
    pub fn ext(self) -> &'static str {
        match self {
            Format::Wav => "wav",
            Format::Mp3 => "mp3",
            Format::Ogg => "ogg",
            Format::Flac => "flac",
            Format::Amr => "amr",
            Format::Bin => "bin",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Wav => "audio/wav",
            Format::Mp3 => "audio/mpeg",
            Format::Ogg => "audio/ogg",
            Format::Flac => "audio/flac",
            Format::Amr => "audio/amr",
            Format::Bin => "application/octet-stream",
        }
    }

    pub fn from_ext(ext: &str) -> Option<Format> {
        ALL.into_iter().find(|f| f.ext() == ext)
    }

    /// The format the first bytes of a file announce (magic numbers), if any.
    pub fn sniff(head: &[u8]) -> Option<Format> {
        if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WAVE" {
            Some(Format::Wav)
        } else if head.starts_with(b"ID3")
            || (head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0)
        {
            // An ID3v2 tag or an MPEG audio frame sync (11 set bits).
            Some(Format::Mp3)
        } else if head.starts_with(b"OggS") {
            Some(Format::Ogg)
        } else if head.starts_with(b"fLaC") {
            Some(Format::Flac)
        } else if head.starts_with(b"#!AMR") {
            Some(Format::Amr)
        } else {
            None
        }
    }

    /// The format a part's file name suggests (`/var/spool/x.WAV` -> wav), from the whitelist
    /// only; `bin` is never chosen by name.
    pub fn from_file_name(name: &str) -> Option<Format> {
        let (_, ext) = name.rsplit_once('.')?;
        Format::from_ext(&ext.to_ascii_lowercase()).filter(|f| *f != Format::Bin)
    }

    /// Sniffed content wins over the file name: FreeSWITCH names files after the format it
    /// was asked for, but the bytes say what was written.
    pub fn detect(head: &[u8], file_name: Option<&str>) -> Format {
        Format::sniff(head)
            .or_else(|| file_name.and_then(Format::from_file_name))
            .unwrap_or(Format::Bin)
    }
}

/// `YYYY/MM/DD/<uuid>.<ext>`: the object key of one call's recording, relative to the
/// configured root or prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingKey(String);

impl RecordingKey {
    pub fn new(date: NaiveDate, call_uuid: &Uuid, format: Format) -> RecordingKey {
        RecordingKey(format!(
            "{:04}/{:02}/{:02}/{}.{}",
            date.year(),
            date.month(),
            date.day(),
            call_uuid.hyphenated(),
            format.ext()
        ))
    }

    /// Accepts exactly what [`RecordingKey::new`] produces, so nothing else (`..`, absolute
    /// paths, other files) can be named through a key.
    pub fn parse(s: &str) -> Option<RecordingKey> {
        let mut parts = s.split('/');
        let (y, m, d, file) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
        if !(digits(y, 4) && digits(m, 2) && digits(d, 2)) {
            return None;
        }
        let date = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)?;
        let (stem, ext) = file.split_once('.')?;
        let uuid = parse_strict_uuid(stem)?;
        let key = RecordingKey::new(date, &uuid, Format::from_ext(ext)?);
        (key.0 == s).then_some(key)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn format(&self) -> Format {
        let ext = self.0.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
        Format::from_ext(ext).unwrap_or(Format::Bin)
    }
}

impl fmt::Display for RecordingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The canonical 8-4-4-4-12 hex form only (either case); `uuid::Uuid::parse_str` also takes
/// braces, `urn:uuid:` and the 32-digit form, which no FreeSWITCH uuid uses.
pub fn parse_strict_uuid(s: &str) -> Option<Uuid> {
    let b = s.as_bytes();
    let shape = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        });
    if shape { Uuid::parse_str(s).ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_recognises_the_whitelisted_formats() {
        assert_eq!(Format::sniff(b"RIFF\x24\0\0\0WAVEfmt "), Some(Format::Wav));
        assert_eq!(Format::sniff(b"ID3\x04\0"), Some(Format::Mp3));
        assert_eq!(Format::sniff(&[0xFF, 0xFB, 0x90]), Some(Format::Mp3));
        assert_eq!(Format::sniff(b"OggS\0\x02"), Some(Format::Ogg));
        assert_eq!(Format::sniff(b"fLaC"), Some(Format::Flac));
        assert_eq!(Format::sniff(b"#!AMR\n"), Some(Format::Amr));
        assert_eq!(Format::sniff(b"<?php"), None);
        assert_eq!(Format::sniff(b""), None);
    }

    #[test]
    fn content_beats_file_name_and_names_come_from_the_whitelist() {
        assert_eq!(Format::detect(b"OggS....", Some("x.wav")), Format::Ogg);
        assert_eq!(
            Format::detect(b"????", Some("/var/spool/rec/X.MP3")),
            Format::Mp3
        );
        assert_eq!(Format::detect(b"????", Some("evil.php")), Format::Bin);
        assert_eq!(Format::detect(b"????", Some("x.bin")), Format::Bin);
        assert_eq!(Format::detect(b"????", None), Format::Bin);
    }

    #[test]
    fn keys_round_trip_and_nothing_else_parses() {
        let u = Uuid::parse_str("0b5b3a3c-1c8e-4f3a-9d2e-2f4b5c6d7e8f").unwrap();
        let date = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let k = RecordingKey::new(date, &u, Format::Wav);
        assert_eq!(
            k.as_str(),
            "2026/11/26/0b5b3a3c-1c8e-4f3a-9d2e-2f4b5c6d7e8f.wav"
        );
        assert_eq!(RecordingKey::parse(k.as_str()), Some(k.clone()));
        assert_eq!(k.format(), Format::Wav);
        for bad in [
            "../../etc/passwd",
            "2026/11/26/../../etc/passwd",
            "/2026/11/26/0b5b3a3c-1c8e-4f3a-9d2e-2f4b5c6d7e8f.wav",
            "2026/11/26/0b5b3a3c-1c8e-4f3a-9d2e-2f4b5c6d7e8f.wav/x",
            "2026/11/26/0B5B3A3C-1c8e-4f3a-9d2e-2f4b5c6d7e8f.wav",
            "2026/11/26/0b5b3a3c-1c8e-4f3a-9d2e-2f4b5c6d7e8f.exe",
            "2026/13/26/0b5b3a3c-1c8e-4f3a-9d2e-2f4b5c6d7e8f.wav",
            "2026/11/26/0b5b3a3c1c8e4f3a9d2e2f4b5c6d7e8f.wav",
            "2026/11/26/0b5b3a3c-1c8e-4f3a-9d2e-2f4b5c6d7e8f.wav.wav",
            "",
        ] {
            assert_eq!(RecordingKey::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn strict_uuid_takes_the_hyphenated_form_in_either_case_only() {
        assert!(parse_strict_uuid("0B5B3A3C-1C8E-4F3A-9D2E-2F4B5C6D7E8F").is_some());
        for bad in [
            "0b5b3a3c1c8e4f3a9d2e2f4b5c6d7e8f",
            "{0b5b3a3c-1c8e-4f3a-9d2e-2f4b5c6d7e8f}",
            "urn:uuid:0b5b3a3c-1c8e-4f3a-9d2e-2f4b5c6d7e8f",
            "0b5b3a3c-1c8e-4f3a-9d2e-2f4b5c6d7e8f ",
            "0b5b3a3c-1c8e-4f3a-9d2e-2f4b5c6d7e8g",
            "../../etc/passwd",
        ] {
            assert!(parse_strict_uuid(bad).is_none(), "{bad}");
        }
    }
}
