//! Shared validation rules for text that may end up inside FreeSWITCH: dial strings, directory
//! XML, gateway XML. The rule everywhere is *reject, never strip*.

use std::fmt;

/// A rejected input value: which field, and why, in words a caller can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for FieldError {}

/// Characters that carry meaning in a FreeSWITCH dial string, channel-variable block or
/// application argument list (`{a=b,c=d}`, `[..]`, `|` failover, `,` fork, `^^` custom
/// separators, `:_:` app separator, quoting) or that FreeSWITCH expands (`$`).
pub const DIAL_STRING_SPECIALS: &[char] = &[
    '$', ',', '|', '{', '}', '[', ']', '^', '\'', '"', '\\', '<', '>', ':', ';', '`',
];

/// Checks the length in characters, then that no control character is present.
pub fn check_len_and_controls(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<(), FieldError> {
    let n = value.chars().count();
    if n < min {
        return Err(if min == 1 {
            FieldError::new(field, "must not be empty")
        } else {
            FieldError::new(field, format!("must be at least {min} characters"))
        });
    }
    if n > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters (CR, LF, tab, NUL, ...)",
        ));
    }
    Ok(())
}

/// Rejects `$` anywhere: FreeSWITCH expands `${var}` at use time and its XML pre-processor
/// expands `$${var}` in fetched documents, so a dollar sign is never legal in stored values.
pub fn reject_dollar(field: &str, value: &str) -> Result<(), FieldError> {
    if value.contains('$') {
        return Err(FieldError::new(
            field,
            "must not contain '$' (FreeSWITCH would expand it)",
        ));
    }
    Ok(())
}

/// Rejects leading or trailing whitespace instead of trimming it.
pub fn reject_outer_space(field: &str, value: &str) -> Result<(), FieldError> {
    if value.trim() != value {
        return Err(FieldError::new(
            field,
            "must not start or end with whitespace",
        ));
    }
    Ok(())
}

/// A DNS host name (letters, digits, '-', dot-separated labels) or an IP address literal.
pub fn check_host(field: &str, value: &str) -> Result<(), FieldError> {
    const WHY: &str = "must be an IP address or a host name (letters, digits, '-' and '.')";
    if value.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    if value.is_empty() || value.len() > 253 {
        return Err(FieldError::new(field, WHY));
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if value.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(FieldError::new(field, WHY))
    }
}

/// A name of ASCII letters, digits and `_ . -`, starting with a letter or digit: safe in a
/// dial string, an XML attribute and a file name.
pub fn check_token(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    let ok = !value.is_empty()
        && value.len() <= max
        && value.as_bytes()[0].is_ascii_alphanumeric()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            format!(
                "must be 1-{max} characters from A-Z, a-z, 0-9, '_', '.', '-', starting with a letter or digit"
            ),
        ))
    }
}

/// A SIP credential (password or secret): printable ASCII without spaces or `$`.
pub fn check_secret(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.is_empty() || value.len() > max {
        return Err(FieldError::new(
            field,
            format!("must be 1-{max} characters"),
        ));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(FieldError::new(
            field,
            "must be printable ASCII without spaces",
        ));
    }
    reject_dollar(field, value)
}

/// A telephone number as carriers and FreeSWITCH see it: optional leading '+', then digits.
pub fn check_digits(field: &str, value: &str, min: usize, max: usize) -> Result<(), FieldError> {
    let digits = value.strip_prefix('+').unwrap_or(value);
    let ok =
        digits.len() >= min && digits.len() <= max && digits.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            format!("must be {min}-{max} digits 0-9, optionally after one leading '+'"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_accepts_names_and_ips_and_rejects_the_rest() {
        for ok in [
            "sip.example.com",
            "10.0.0.1",
            "::1",
            "carrier-1.cn",
            "localhost",
        ] {
            assert!(check_host("realm", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a b",
            "x;transport=tcp",
            "-a.com",
            "a..b",
            "h$st",
            "a/b",
            "1.2.3.4:5060",
        ] {
            assert_eq!(
                check_host("realm", bad).unwrap_err().field,
                "realm",
                "{bad}"
            );
        }
    }

    #[test]
    fn token_rejects_path_and_dial_string_characters() {
        assert!(check_token("name", "gw-1.cn_x", 64).is_ok());
        for bad in [
            "", ".hidden", "../x", "a/b", "a,b", "a|b", "a b", "a$b", "名",
        ] {
            assert!(check_token("name", bad, 64).is_err(), "{bad}");
        }
    }

    #[test]
    fn controls_and_lengths_are_reported_with_the_field() {
        let e = check_len_and_controls("display_name", "a\r\nb", 1, 10).unwrap_err();
        assert!(e.to_string().starts_with("display_name: "));
        assert!(e.reason.contains("control"));
        assert!(
            check_len_and_controls("x", "", 1, 10)
                .unwrap_err()
                .reason
                .contains("empty")
        );
        assert!(
            check_len_and_controls("x", "abcdef", 1, 5)
                .unwrap_err()
                .reason
                .contains("at most 5")
        );
    }

    #[test]
    fn digits_allow_one_leading_plus_only() {
        assert!(check_digits("caller_id", "+8613800000000", 3, 20).is_ok());
        for bad in ["", "12", "1+2", "++1", "１２３", "123 ", "12a"] {
            assert!(check_digits("caller_id", bad, 3, 20).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_reject_dollar_space_and_non_ascii() {
        assert!(check_secret("password", "S3cret!#%", 64).is_ok());
        for bad in ["", "a b", "$${default_password}", "pässword", "a\tb"] {
            assert!(check_secret("password", bad, 64).is_err(), "{bad}");
        }
    }
}
