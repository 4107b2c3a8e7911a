//! The ESL writer: turns commands into wire bytes, and refuses any argument that could smuggle a
//! second command onto the socket.
//!
//! FreeSWITCH ends a command at the first blank line and reads `Name: value` lines before it as
//! headers (`read_packet`). A CR or LF inside an argument would therefore let a caller-controlled
//! string add headers or whole commands (`\n\nbgapi system ...`). The HTTP layer already rejects
//! such input; this is the second wall, and it applies to every command, the password included.

use uuid::Uuid;

use super::error::EslError;
use super::event::EventFormat;

/// A command the client can send. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub enum Command {
    Auth {
        password: String,
    },
    Api {
        command: String,
    },
    BgApi {
        command: String,
        job_uuid: Uuid,
    },
    Events {
        format: EventFormat,
        names: Vec<String>,
    },
    Filter {
        header: String,
        value: String,
    },
    Exit,
}

impl Command {
    /// The bytes to write, or [`EslError::InvalidArgument`] if any argument is unsafe.
    pub fn encode(&self) -> Result<Vec<u8>, EslError> {
        let text = match self {
            Command::Auth { password } => {
                check_line("password", password)?;
                format!("auth {password}\n\n")
            }
            Command::Api { command } => {
                check_command(command)?;
                format!("api {command}\n\n")
            }
            // The Job-UUID header makes FreeSWITCH use our id for the job (mod_event_socket:
            // `switch_event_get_header(*event, "job-uuid")`), so the id is known, and can be
            // stored, before the command is even sent: the BACKGROUND_JOB cannot outrun it.
            Command::BgApi { command, job_uuid } => {
                check_command(command)?;
                format!("bgapi {command}\nJob-UUID: {job_uuid}\n\n")
            }
            Command::Events { format, names } => {
                if names.is_empty() {
                    return Err(EslError::InvalidArgument("no event names".into()));
                }
                for name in names {
                    check_word("event name", name)?;
                }
                format!("event {} {}\n\n", format.as_str(), names.join(" "))
            }
            // FreeSWITCH splits `filter` at the first space: header, then value (which may hold
            // spaces, e.g. a regex).
            Command::Filter { header, value } => {
                check_word("filter header", header)?;
                check_line("filter value", value)?;
                if value.is_empty() {
                    return Err(EslError::InvalidArgument("empty filter value".into()));
                }
                format!("filter {header} {value}\n\n")
            }
            Command::Exit => "exit\n\n".to_string(),
        };
        Ok(text.into_bytes())
    }

    /// Short name for logs; never includes arguments (they may hold the password).
    pub fn verb(&self) -> &'static str {
        match self {
            Command::Auth { .. } => "auth",
            Command::Api { .. } => "api",
            Command::BgApi { .. } => "bgapi",
            Command::Events { .. } => "event",
            Command::Filter { .. } => "filter",
            Command::Exit => "exit",
        }
    }
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Auth { .. } => f.write_str("Auth { password: <redacted> }"),
            Command::Api { command } => f.debug_struct("Api").field("command", command).finish(),
            Command::BgApi { command, job_uuid } => f
                .debug_struct("BgApi")
                .field("command", command)
                .field("job_uuid", job_uuid)
                .finish(),
            Command::Events { format, names } => f
                .debug_struct("Events")
                .field("format", format)
                .field("names", names)
                .finish(),
            Command::Filter { header, value } => f
                .debug_struct("Filter")
                .field("header", header)
                .field("value", value)
                .finish(),
            Command::Exit => f.write_str("Exit"),
        }
    }
}

fn check_line(what: &str, value: &str) -> Result<(), EslError> {
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(EslError::InvalidArgument(format!(
            "{what} contains CR, LF or NUL"
        )));
    }
    Ok(())
}

fn check_command(command: &str) -> Result<(), EslError> {
    check_line("command", command)?;
    if command.trim().is_empty() {
        return Err(EslError::InvalidArgument("empty command".into()));
    }
    Ok(())
}

fn check_word(what: &str, value: &str) -> Result<(), EslError> {
    check_line(what, value)?;
    if value.is_empty() || value.bytes().any(|b| b.is_ascii_whitespace()) {
        return Err(EslError::InvalidArgument(format!(
            "{what} must be one non-empty word"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(c: &str) -> Command {
        Command::Api { command: c.into() }
    }

    #[test]
    fn bgapi_sends_our_job_uuid_as_a_header() {
        let id = Uuid::parse_str("d8c7f660-37a6-4e73-9170-1a731c442148").unwrap();
        let cmd = Command::BgApi {
            command: "originate {origination_uuid=x}user/1000 &park()".into(),
            job_uuid: id,
        };
        assert_eq!(
            String::from_utf8(cmd.encode().unwrap()).unwrap(),
            "bgapi originate {origination_uuid=x}user/1000 &park()\nJob-UUID: d8c7f660-37a6-4e73-9170-1a731c442148\n\n"
        );
    }

    #[test]
    fn writer_refuses_cr_and_lf_anywhere() {
        for bad in ["status\r\n\r\nbgapi system id", "a\nb", "a\rb", "a\0b"] {
            assert!(matches!(
                api(bad).encode(),
                Err(EslError::InvalidArgument(_))
            ));
        }
        let filter = Command::Filter {
            header: "Unique-ID".into(),
            value: "x\n\nexit".into(),
        };
        assert!(filter.encode().is_err());
        let auth = Command::Auth {
            password: "pw\n\napi x".into(),
        };
        assert!(auth.encode().is_err());
        let events = Command::Events {
            format: EventFormat::Plain,
            names: vec!["CHANNEL_ANSWER\n\nexit".into()],
        };
        assert!(events.encode().is_err());
    }

    #[test]
    fn event_subscription_lists_names_and_custom_subclasses() {
        let cmd = Command::Events {
            format: EventFormat::Json,
            names: ["HEARTBEAT", "CUSTOM", "sofia::register"]
                .map(String::from)
                .to_vec(),
        };
        assert_eq!(
            cmd.encode().unwrap(),
            b"event json HEARTBEAT CUSTOM sofia::register\n\n"
        );
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let auth = Command::Auth {
            password: "s3cret".into(),
        };
        assert!(!format!("{auth:?}").contains("s3cret"));
    }

    #[test]
    fn empty_or_spaced_words_are_refused() {
        assert!(api("   ").encode().is_err());
        let f = Command::Filter {
            header: "Unique ID".into(),
            value: "x".into(),
        };
        assert!(f.encode().is_err());
    }
}
