//! Directory answers for mod_xml_curl: one document per user, never a whole domain (a lookup
//! answers one user, so no document can approach mod_xml_curl's 1 MiB `XML_CURL_MAX_BYTES`).
//!
//! Shape (`switch_xml_locate_user` in switch_xml.c finds a `<user>` directly under `<domain>`;
//! `switch_xml_merge_user` then folds the domain's params and variables into it):
//!
//! ```text
//! <document type="freeswitch/xml">
//!   <section name="directory">
//!     <domain name="DOMAIN">
//!       <user id="ID">
//!         <params>    a1-hash, dial-string (and reverse-auth-* for reverse-auth-lookup)
//!         <variables> user_context, effective_caller_id_name/number
//! ```
//!
//! No `cacheable` attribute: FreeSWITCH would then keep serving a disabled or deleted
//! extension from its user cache.

use super::escape;

/// The dial string FreeSWITCH uses for `user/ID@DOMAIN`: the registered contacts of the user
/// (`sofia_contact` with profile `*` searches every profile), with the callee's domain as the
/// INVITE domain and presence id. The same value as the vanilla `directory/default.xml`,
/// without the verto contact. Its `$` are written as `&#36;` by [`escape`], so the
/// pre-processor does not see them and the parser restores them for run-time expansion.
pub const DIAL_STRING: &str = "{^^:sip_invite_domain=${dialed_domain}:presence_id=${dialed_user}@${dialed_domain}}${sofia_contact(*/${dialed_user}@${dialed_domain})}";

/// One directory user, as FreeSWITCH needs it to authenticate and reach a phone.
#[derive(Debug, Clone)]
pub struct DirectoryUser<'a> {
    /// The domain exactly as FreeSWITCH asked for it (it matches `<domain name>` literally).
    pub domain: &'a str,
    pub id: &'a str,
    /// md5(`id:realm:password`), hex; see [`crate::directory::a1_hash`].
    pub a1_hash: &'a str,
    /// Caller name for calls this user places; empty means the number.
    pub display_name: &'a str,
    /// Dialplan context the user's calls are routed in.
    pub context: &'a str,
    /// `reverse-auth-user` / `reverse-auth-pass`, only for `action=reverse-auth-lookup`.
    pub reverse_auth: Option<(&'a str, &'a str)>,
}

fn tag(out: &mut String, indent: usize, name: &str, key: &str, value: &str) {
    for _ in 0..indent {
        out.push(' ');
    }
    out.push('<');
    out.push_str(name);
    out.push_str(" name=\"");
    out.push_str(&escape(key));
    out.push_str("\" value=\"");
    out.push_str(&escape(value));
    out.push_str("\"/>\n");
}

/// The per-user directory document. Every element sits on a line of its own so that even a
/// line the pre-processor drops could not take a neighbour with it.
pub fn user_document(u: &DirectoryUser<'_>) -> String {
    let mut out = String::with_capacity(1024);
    out.push_str("<document type=\"freeswitch/xml\">\n  <section name=\"directory\">\n");
    out.push_str(&format!("    <domain name=\"{}\">\n", escape(u.domain)));
    out.push_str(&format!("      <user id=\"{}\">\n", escape(u.id)));
    out.push_str("        <params>\n");
    tag(&mut out, 10, "param", "a1-hash", u.a1_hash);
    tag(&mut out, 10, "param", "dial-string", DIAL_STRING);
    if let Some((user, pass)) = u.reverse_auth {
        tag(&mut out, 10, "param", "reverse-auth-user", user);
        tag(&mut out, 10, "param", "reverse-auth-pass", pass);
    }
    out.push_str("        </params>\n        <variables>\n");
    tag(&mut out, 10, "variable", "user_context", u.context);
    let name = if u.display_name.is_empty() {
        u.id
    } else {
        u.display_name
    };
    tag(&mut out, 10, "variable", "effective_caller_id_name", name);
    tag(&mut out, 10, "variable", "effective_caller_id_number", u.id);
    out.push_str("        </variables>\n      </user>\n    </domain>\n  </section>\n</document>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_document_escapes_every_value_and_keeps_one_element_per_line() {
        let doc = user_document(&DirectoryUser {
            domain: "example.com",
            id: "1001",
            a1_hash: "0123456789abcdef0123456789abcdef",
            display_name: "A \"B\" <C> & 'D' X-PRE-PROCESS",
            context: "default",
            reverse_auth: None,
        });
        assert!(
            doc.contains(
                "value=\"A &quot;B&quot; &lt;C&gt; &amp; &apos;D&apos; X&#45;PRE-PROCESS\""
            )
        );
        assert!(
            !doc.contains('$'),
            "dial string dollars are references: {doc}"
        );
        assert!(doc.contains("&#36;{sofia_contact(*/&#36;{dialed_user}@&#36;{dialed_domain})}"));
        assert!(!doc.contains("reverse-auth"));
        for line in doc.lines() {
            assert!(
                line.trim().starts_with('<') && line.ends_with('>'),
                "{line}"
            );
        }
    }
}
