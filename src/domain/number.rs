//! Telephone numbers as click-to-call receives them. Strict: an optional leading `+`, then 3-20
//! ASCII digits. Full-width digits and plus (１３８…, ＋) are normalised to ASCII, as NFKC
//! would; every other look-alike (Arabic-Indic ٣, superscripts, mathematical digits), spaces,
//! separators and anything a dial string could interpret are rejected, never stripped.

use super::FieldError;

/// A validated external number: `+?[0-9]{3,20}`, safe in a dial string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        if raw.is_empty() {
            return Err(FieldError::new(field, "must not be empty"));
        }
        if raw.chars().count() > 32 {
            return Err(FieldError::new(field, "is too long: at most 20 digits"));
        }
        let mut out = String::with_capacity(raw.len());
        for (i, c) in raw.chars().enumerate() {
            let c = match c {
                '\u{FF10}'..='\u{FF19}' => char::from(b'0' + (c as u32 - 0xFF10) as u8),
                '\u{FF0B}' => '+',
                c => c,
            };
            match c {
                '0'..='9' => out.push(c),
                '+' if i == 0 => out.push(c),
                '+' => return Err(FieldError::new(field, "'+' is only allowed at the start")),
                c if c.is_whitespace() => {
                    return Err(FieldError::new(field, "must not contain spaces"));
                }
                c if c.is_numeric() => {
                    return Err(FieldError::new(
                        field,
                        format!("'{c}' is not an ASCII digit 0-9"),
                    ));
                }
                c => {
                    return Err(FieldError::new(
                        field,
                        format!("must contain only digits; '{c}' is not allowed"),
                    ));
                }
            }
        }
        let digits = out.strip_prefix('+').unwrap_or(&out).len();
        if !(3..=20).contains(&digits) {
            return Err(FieldError::new(field, "must have 3 to 20 digits"));
        }
        Ok(PhoneNumber(out))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_international_numbers_pass() {
        assert_eq!(
            PhoneNumber::parse("callee", "13800138000")
                .unwrap()
                .as_str(),
            "13800138000"
        );
        assert_eq!(
            PhoneNumber::parse("callee", "+8613800138000")
                .unwrap()
                .as_str(),
            "+8613800138000"
        );
        assert_eq!(PhoneNumber::parse("callee", "110").unwrap().as_str(), "110");
    }

    #[test]
    fn full_width_digits_are_normalised() {
        assert_eq!(
            PhoneNumber::parse("callee", "１３８００１３８０００")
                .unwrap()
                .as_str(),
            "13800138000"
        );
        assert_eq!(
            PhoneNumber::parse("callee", "＋８６１３８")
                .unwrap()
                .as_str(),
            "+86138"
        );
    }

    #[test]
    fn hostile_and_malformed_numbers_are_rejected_with_the_field() {
        let long = "1".repeat(21);
        let huge = "1".repeat(100_000);
        for bad in [
            "13800000000,sofia/gateway/intl/00882",
            "138|139",
            "1380:_:139",
            "{x=1}138",
            "[x]138",
            "<138>",
            "${system(id)}",
            "$${default_password}",
            "138\r\n\r\nbgapi system id",
            "138 0000 0000",
            " 13800000000",
            "13800000000 ",
            "138+000",
            "++138",
            "٣٨٠٠٠",
            "¹²³⁴",
            "𝟏𝟑𝟖𝟎𝟎",
            "&bridge(user/1)",
            "'138'",
            "\"138\"",
            "138;x",
            "138\\0",
            "138^^",
            "12",
            "",
            long.as_str(),
            huge.as_str(),
        ] {
            let e = PhoneNumber::parse("callee", bad).unwrap_err();
            assert_eq!(e.field, "callee", "{bad:?}");
        }
    }
}
