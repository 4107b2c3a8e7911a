//! Dialplan answers for mod_xml_curl: one context holding one extension.
//!
//! mod_dialplan_xml asks with `switch_xml_locate("dialplan", NULL, NULL, NULL, ...)` and then
//! looks up `<context name="...">` for the call's context in whatever came back, so the answer
//! must name the caller's context. Conditions are built only from stored, validated numbers
//! (`^1001$`) or are the constant `^` (matches every destination); no request field ever
//! reaches a `data=` attribute.

use super::escape;

/// What the single extension does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialplanAction<'a> {
    /// Bridge to a directory user. `number` is a stored extension (letters, digits, `_ . -`),
    /// `target` the dial string built from stored or configured values only.
    Bridge { number: &'a str, target: &'a str },
    /// Run `actions` (built by `originate::dialplan_actions`) for exactly `number`.
    Run {
        number: &'a str,
        actions: &'a [(&'static str, String)],
    },
    /// Hang up with a FreeSWITCH cause (mod_sofia maps it to the SIP final response, e.g.
    /// UNALLOCATED_NUMBER -> 404, NORMAL_TEMPORARY_FAILURE -> 503).
    Hangup { cause: &'a str },
}

/// A regex matching exactly `number`; the number is already limited to `[A-Za-z0-9_.-]`, of
/// which only `.` means something to PCRE.
fn exact(number: &str) -> String {
    format!("^{}$", number.replace('.', "\\.").replace('+', "\\+"))
}

/// The dialplan document: `context` (validated by the caller) with one extension.
pub fn document(context: &str, extension_name: &str, action: &DialplanAction<'_>) -> String {
    let mut out = String::with_capacity(768);
    out.push_str("<document type=\"freeswitch/xml\">\n  <section name=\"dialplan\">\n");
    out.push_str(&format!("    <context name=\"{}\">\n", escape(context)));
    out.push_str(&format!(
        "      <extension name=\"{}\">\n",
        escape(extension_name)
    ));
    let (expression, actions): (String, Vec<(&str, String)>) = match action {
        DialplanAction::Bridge { number, target } => (
            exact(number),
            vec![
                ("set", "hangup_after_bridge=true".to_string()),
                ("bridge", (*target).to_string()),
            ],
        ),
        DialplanAction::Run { number, actions } => (
            exact(number),
            actions.iter().map(|(a, d)| (*a, d.clone())).collect(),
        ),
        DialplanAction::Hangup { cause } => ("^".to_string(), vec![("hangup", cause.to_string())]),
    };
    out.push_str(&format!(
        "        <condition field=\"destination_number\" expression=\"{}\">\n",
        escape(&expression)
    ));
    for (app, data) in actions {
        out.push_str(&format!(
            "          <action application=\"{}\" data=\"{}\"/>\n",
            escape(app),
            escape(&data)
        ));
    }
    out.push_str(
        "        </condition>\n      </extension>\n    </context>\n  </section>\n</document>\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_condition_is_the_exact_number() {
        let doc = document(
            "default",
            "callplane_extension",
            &DialplanAction::Bridge {
                number: "1.01",
                target: "user/1.01@example.com",
            },
        );
        // `$` is written as a character reference (see `escape`).
        assert!(doc.contains("expression=\"^1\\.01&#36;\""), "{doc}");
        assert!(doc.contains("data=\"user/1.01@example.com\""), "{doc}");
    }

    #[test]
    fn hangup_matches_everything() {
        let doc = document(
            "default",
            "callplane_reject",
            &DialplanAction::Hangup {
                cause: "UNALLOCATED_NUMBER",
            },
        );
        assert!(doc.contains("expression=\"^\""), "{doc}");
        assert!(doc.contains("application=\"hangup\" data=\"UNALLOCATED_NUMBER\""));
    }
}
