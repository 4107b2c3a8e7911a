//! FreeSWITCH XML documents: all escaping lives here, and the builders for the documents
//! callplane hands to FreeSWITCH (gateway includes now; directory and dialplan answers later).
//!
//! FreeSWITCH runs its pre-processor over fetched and included XML before parsing it: lines with
//! `<X-PRE-PROCESS ...>` or `<!--#...-->` are executed and `$${var}` is expanded in the raw text.
//! Escaping `<` keeps the first two inert; `$` is rejected at input and, as a second fence,
//! written here as a character reference so no raw `$${` can ever appear. Generated documents
//! never start with an `<?xml ?>` line, which FreeSWITCH's include files do not carry either.

use crate::domain::gateway::GatewaySpec;

/// Escapes text for an XML attribute value or element text.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
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
            "&lt;X-PRE-PROCESS cmd=&quot;exec&quot; data=&quot;id&quot;/&gt;"
        );
        assert_eq!(escape("<!--#exec:id-->"), "&lt;!--#exec:id--&gt;");
        assert_eq!(escape("中文"), "中文");
    }
}
