//! SIP extensions (FreeSWITCH directory users): the fields a caller may set and the rules they
//! must meet so that they are safe in a directory document and in `user/NUMBER@domain`.

use serde::Deserialize;
use utoipa::ToSchema;

use super::text::{
    DIAL_STRING_SPECIALS, check_host, check_len_and_controls, check_secret, check_token,
    reject_outer_space,
};
use super::{FieldError, flex};

/// Fields of an extension as a caller sends them; every field optional so that one type serves
/// create (where `extension` is required) and partial update. An empty string clears an
/// optional text field.
#[derive(Debug, Default, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionFields {
    /// The user part: 1-32 of A-Z a-z 0-9 `_ . -`, starting with a letter or digit.
    pub extension: Option<String>,
    /// SIP domain; absent or empty means the service's `CALLPLANE_DOMAIN`.
    pub domain: Option<String>,
    /// SIP digest password: 1-64 printable ASCII characters without spaces or `$`.
    pub password: Option<String>,
    /// Caller name shown on phones: up to 64 characters, no control or dial-string characters.
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub enabled: Option<bool>,
}

/// A validated extension, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionSpec {
    pub extension: String,
    /// Empty: the service's default domain.
    pub domain: String,
    pub password: Option<String>,
    pub display_name: String,
    pub enabled: bool,
}

impl ExtensionSpec {
    /// Builds a new extension from create fields.
    pub fn create(f: ExtensionFields) -> Result<Self, FieldError> {
        let extension = f
            .extension
            .clone()
            .ok_or_else(|| FieldError::new("extension", "is required"))?;
        let base = ExtensionSpec {
            extension,
            domain: String::new(),
            password: None,
            display_name: String::new(),
            enabled: true,
        };
        base.patched(ExtensionFields {
            extension: None,
            ..f
        })
    }

    /// Applies an update: given fields replace stored ones, the result is validated whole.
    pub fn patched(mut self, f: ExtensionFields) -> Result<Self, FieldError> {
        if let Some(e) = f.extension {
            self.extension = e;
        }
        if let Some(d) = f.domain {
            self.domain = d;
        }
        if let Some(p) = f.password {
            self.password = (!p.is_empty()).then_some(p);
        }
        if let Some(n) = f.display_name {
            self.display_name = n;
        }
        if let Some(e) = f.enabled {
            self.enabled = e;
        }
        self.validate()?;
        Ok(self)
    }

    fn validate(&self) -> Result<(), FieldError> {
        check_token("extension", &self.extension, 32)?;
        if !self.domain.is_empty() {
            check_host("domain", &self.domain)?;
        }
        if let Some(p) = &self.password {
            check_secret("password", p, 64)?;
        }
        check_display_name("display_name", &self.display_name)
    }
}

/// A caller or display name: letters of any script, digits, spaces inside, and `. _ - ( ) # + @ /`.
pub fn check_display_name(field: &str, value: &str) -> Result<(), FieldError> {
    if value.is_empty() {
        return Ok(());
    }
    check_len_and_controls(field, value, 1, 64)?;
    reject_outer_space(field, value)?;
    if let Some(c) = value.chars().find(|c| DIAL_STRING_SPECIALS.contains(c)) {
        return Err(FieldError::new(field, format!("must not contain '{c}'")));
    }
    let allowed = |c: char| c.is_alphanumeric() || c == ' ' || ".-_()#+@/&".contains(c);
    if let Some(c) = value.chars().find(|&c| !allowed(c)) {
        return Err(FieldError::new(
            field,
            format!("must not contain '{c}': use letters, digits, spaces and . _ - ( ) # + @ / &"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(ext: &str) -> ExtensionFields {
        ExtensionFields {
            extension: Some(ext.into()),
            ..Default::default()
        }
    }

    #[test]
    fn create_applies_defaults() {
        let s = ExtensionSpec::create(fields("1001")).unwrap();
        assert_eq!(s.domain, "");
        assert!(s.enabled && s.password.is_none() && s.display_name.is_empty());
    }

    #[test]
    fn extension_is_required_and_strict() {
        assert_eq!(
            ExtensionSpec::create(ExtensionFields::default())
                .unwrap_err()
                .field,
            "extension"
        );
        for bad in [
            "10 01",
            "1001,user/1002",
            "1001@x",
            "${system(id)}",
            "1001\r\n",
            "",
            "a|b",
        ] {
            assert_eq!(
                ExtensionSpec::create(fields(bad)).unwrap_err().field,
                "extension",
                "{bad}"
            );
        }
    }

    #[test]
    fn display_names_allow_chinese_but_no_specials() {
        assert!(check_display_name("display_name", "客服 张三 (Sales)").is_ok());
        for bad in [
            "a\"b",
            "a<b",
            "x$y",
            "a,b",
            "a{b",
            " lead",
            "tab\there",
            "a:b",
            "a'b",
        ] {
            assert_eq!(
                check_display_name("display_name", bad).unwrap_err().field,
                "display_name",
                "{bad}"
            );
        }
    }

    #[test]
    fn update_with_empty_password_clears_it() {
        let s = ExtensionSpec::create(ExtensionFields {
            password: Some("pw123456".into()),
            ..fields("1001")
        })
        .unwrap();
        assert!(s.password.is_some());
        let s = s
            .patched(ExtensionFields {
                password: Some(String::new()),
                ..Default::default()
            })
            .unwrap();
        assert!(s.password.is_none());
    }

    #[test]
    fn bad_domain_is_named() {
        let e = ExtensionSpec::create(ExtensionFields {
            domain: Some("a b".into()),
            ..fields("1001")
        })
        .unwrap_err();
        assert_eq!(e.field, "domain");
    }
}
