//! FreeSWITCH XML documents: all escaping lives here, and the builders for the documents
//! callplane hands to FreeSWITCH: gateway includes (here), mod_xml_curl answers for the
//! directory ([`directory`]) and the dialplan ([`dialplan`]), and the "not found" answer.
//!
//! FreeSWITCH runs its pre-processor over fetched and included XML before parsing it
//! (`preprocess()` in `src/switch_xml.c`, which `switch_xml_parse_file` calls on mod_xml_curl's
//! temporary file too). Line by line it: expands `$${var}`; drops every line containing
//! `<include>`, `</include>` or `<?`; executes `<X-PRE-PROCESS ...>` and `<!--#...-->`; and drops
//! any *other* line that merely contains the text `X-pre-process` (case-insensitive). So:
//! escaping `<` keeps the directives inert; `$` is rejected at input and, as a second fence,
//! written as `&#36;` so no raw `$${` can appear; a `-` right after an `x`/`X` is written as
//! `&#45;` so a stored `X-PRE-PROCESS` cannot make FreeSWITCH silently drop the line carrying
//! it; and no document starts with an `<?xml ?>` line: the parser accepts one, but the
//! pre-processor drops the whole line it sits on, so it can only ever do harm.
//! FreeSWITCH's parser (ezxml-derived) decodes `&#NN;` character references, so the values
//! arrive intact.

pub mod dialplan;
pub mod directory;

use crate::domain::gateway::GatewaySpec;

/// The answer mod_xml_curl understands as "nothing here": `switch_xml_locate` (switch_xml.c)
/// then asks the next binding and finally FreeSWITCH's own on-disk configuration.
pub fn not_found() -> String {
    "<document type=\"freeswitch/xml\">\n  <section name=\"result\">\n    \
     <result status=\"not found\"/>\n  </section>\n</document>\n"
        .to_string()
}

/// Escapes text for an XML attribute value or element text.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    let mut prev = '\0';
    for c in value.chars() {
        match c {
            '-' if prev.eq_ignore_ascii_case(&'x') => out.push_str("&#45;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '$' => out.push_str("&#36;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if c.is_control() => {} // not representable in XML 1.0; rejected at input
            c => out.push(c),
        }
        prev = c;
    }
    out
}

fn param(out: &mut String, name: &str, value: &str) {
    out.push_str("    <param name=\"");
    out.push_str(&escape(name));
    out.push_str("\" value=\"");
    out.push_str(&escape(value));
    out.push_str("\"/>\n");
}

/// The gateway as `sip_profiles/external/NAME.xml`: an `<include>` FreeSWITCH loads as-is.
///
/// `proxy` carries `host:port` (sofia uses it for calls and, without `register-proxy`, for
/// registration); `realm` stays the bare host because it is the digest realm. Username and
/// password are written only when set: for an IP-authenticated trunk (register=false) sofia
/// fills in its own default username and an empty password.
pub fn gateway_include(g: &GatewaySpec) -> String {
    let host_port = if g.realm.contains(':') {
        format!("[{}]:{}", g.realm, g.port) // IPv6 literal
    } else {
        format!("{}:{}", g.realm, g.port)
    };
    let mut out = String::with_capacity(1024);
    out.push_str("<include>\n");
    out.push_str(&format!("  <gateway name=\"{}\">\n", escape(&g.name)));
    if let Some(u) = &g.username {
        param(&mut out, "username", u);
    }
    if let Some(p) = &g.password {
        param(&mut out, "password", p);
    }
    param(&mut out, "realm", &g.realm);
    param(&mut out, "proxy", &host_port);
    param(
        &mut out,
        "register",
        if g.register { "true" } else { "false" },
    );
    if g.register {
        param(&mut out, "register-proxy", &host_port);
        param(&mut out, "expire-seconds", &g.expire_seconds.to_string());
    }
    param(&mut out, "register-transport", g.transport.as_str());
    param(&mut out, "retry-seconds", &g.retry_seconds.to_string());
    if let Some(u) = &g.from_user {
        param(&mut out, "from-user", u);
    }
    if let Some(d) = &g.from_domain {
        param(&mut out, "from-domain", d);
    }
    param(
        &mut out,
        "caller-id-in-from",
        if g.caller_id_in_from { "true" } else { "false" },
    );
    if g.ping > 0 {
        param(&mut out, "ping", &g.ping.to_string());
    }
    for (k, v) in &g.params {
        param(&mut out, k, v);
    }
    out.push_str("  </gateway>\n</include>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_quotes_dollar_and_newlines() {
        assert_eq!(escape(r#"a&b<c>"d'"#), "a&amp;b&lt;c&gt;&quot;d&apos;");
        assert_eq!(escape("$${x}\r\n"), "&#36;&#36;{x}&#13;&#10;");
        assert_eq!(
            escape("<X-PRE-PROCESS cmd=\"exec\" data=\"id\"/>"),
            "&lt;X&#45;PRE-PROCESS cmd=&quot;exec&quot; data=&quot;id&quot;/&gt;"
        );
        assert_eq!(escape("box-1 x-y"), "box&#45;1 x&#45;y");
        assert_eq!(escape("a-b"), "a-b");
        assert_eq!(escape("<!--#exec:id-->"), "&lt;!--#exec:id--&gt;");
        assert_eq!(escape("中文"), "中文");
    }
}
