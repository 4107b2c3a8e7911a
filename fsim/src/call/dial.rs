//! Parsing of the `originate` API arguments and of FreeSWITCH dial strings, following
//! mod_commands.c (`originate <url> <exten>|&app(args) [dialplan] [context] [cid_name]
//! [cid_num] [timeout]`) and switch_ivr_originate.c (`<>` enterprise vars, `:_:` enterprise
//! branches, `{}` global vars, `|` failover, `,` simultaneous legs, `[]` per-leg vars,
//! `^^X` custom variable delimiter, `\,` escapes and quoted values).

/// A parsed `originate` command.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Originate {
    /// Who to call.
    pub dial: DialString,
    /// What the answered leg runs.
    pub apps: Vec<(String, String)>,
    /// Destination extension when no application is given (the leg is sent to the dialplan).
    pub exten: Option<String>,
    /// Dialplan (`inline`, `XML`).
    pub dialplan: Option<String>,
    /// Context.
    pub context: Option<String>,
    /// Caller ID name argument.
    pub cid_name: Option<String>,
    /// Caller ID number argument.
    pub cid_num: Option<String>,
    /// Timeout argument in seconds.
    pub timeout_secs: Option<u64>,
}

/// A dial string: global variables plus failover groups of simultaneous legs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DialString {
    /// `<...>` and `{...}` variables, applied to every leg.
    pub vars: Vec<(String, String)>,
    /// Tried one after another (`|`); the legs of one group ring together (`,` and `:_:`).
    pub groups: Vec<Vec<LegSpec>>,
}

/// One endpoint with its `[...]` variables.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LegSpec {
    /// Per-leg variables (group `{}` variables included).
    pub vars: Vec<(String, String)>,
    /// e.g. `sofia/gateway/carrier/13800000000`.
    pub endpoint: String,
}

/// Parses the argument string of `originate`.
pub fn parse_originate(args: &str) -> Result<Originate, String> {
    let argv = split_args(args);
    if argv.len() < 2 {
        return Err("-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]\n".into());
    }
    let mut o = Originate {
        dial: parse_dial_string(&argv[0])?,
        ..Originate::default()
    };
    let opt = |i: usize| {
        argv.get(i)
            .filter(|s| !s.is_empty() && *s != "undef")
            .cloned()
    };
    o.dialplan = opt(2);
    o.context = opt(3);
    o.cid_name = opt(4);
    o.cid_num = opt(5);
    o.timeout_secs = opt(6).and_then(|t| t.parse().ok());
    let target = &argv[1];
    if let Some(app) = target.strip_prefix('&') {
        let (name, arg) = match app.find('(') {
            Some(i) => (
                &app[..i],
                app[i + 1..].strip_suffix(')').unwrap_or(&app[i + 1..]),
            ),
            None => match app.split_once(' ') {
                Some((n, a)) => (n, a),
                None => (app, ""),
            },
        };
        o.apps.push((name.to_string(), arg.to_string()));
    } else if o.dialplan.as_deref() == Some("inline") {
        // mod_dptools' inline dialplan takes `m:X:` at the start to use X instead of `,`
        // between applications.
        let (delim, list) = match target.strip_prefix("m:").and_then(|r| {
            let mut c = r.chars();
            let d = c.next()?;
            c.as_str().strip_prefix(':').map(|rest| (d, rest))
        }) {
            Some((d, rest)) => (d, rest),
            None => (',', target.as_str()),
        };
        let items: Vec<String> = if delim == ',' {
            split_top(list, ',')
        } else {
            list.split(delim).map(str::to_string).collect()
        };
        for item in items {
            let (name, arg) = item.split_once(':').unwrap_or((item.as_str(), ""));
            o.apps.push((name.to_string(), arg.to_string()));
        }
    } else {
        o.exten = Some(target.clone());
    }
    Ok(o)
}

/// Parses a dial string as switch_ivr_originate does.
pub fn parse_dial_string(s: &str) -> Result<DialString, String> {
    let mut rest = s.trim();
    let mut ds = DialString::default();
    if rest.starts_with('<') {
        let (vars, after) = take_block(rest, '<', '>')?;
        ds.vars.extend(parse_vars(vars));
        rest = after;
    }
    // Enterprise branches ring in parallel; group N of each branch rings together.
    for branch in rest.split(":_:") {
        let mut b = branch.trim();
        let mut branch_vars = Vec::new();
        if b.starts_with('{') {
            let (vars, after) = take_block(b, '{', '}')?;
            branch_vars = parse_vars(vars);
            b = after;
        }
        for (gi, group) in split_top(b, '|').into_iter().enumerate() {
            let mut g = group.trim();
            let mut group_vars = branch_vars.clone();
            if g.starts_with('{') {
                let (vars, after) = take_block(g, '{', '}')?;
                group_vars.extend(parse_vars(vars));
                g = after;
            }
            let mut legs = Vec::new();
            for leg in split_top(g, ',') {
                let mut l = leg.trim();
                let mut vars = group_vars.clone();
                if l.starts_with('[') {
                    let (v, after) = take_block(l, '[', ']')?;
                    vars.extend(parse_vars(v));
                    l = after.trim();
                }
                if l.is_empty() {
                    return Err("-ERR INVALID_URL\n".into());
                }
                legs.push(LegSpec {
                    vars,
                    endpoint: l.to_string(),
                });
            }
            if ds.groups.len() <= gi {
                ds.groups.push(Vec::new());
            }
            ds.groups[gi].extend(legs);
        }
    }
    if ds.groups.is_empty() {
        return Err("-ERR INVALID_URL\n".into());
    }
    ds.vars.dedup();
    Ok(ds)
}

/// Returns the inside of a leading `open...close` block and what follows it.
fn take_block(s: &str, open: char, close: char) -> Result<(&str, &str), String> {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '\'' | '"' if quote == Some(c) => quote = None,
            '\'' | '"' if quote.is_none() => quote = Some(c),
            _ if quote.is_some() => {}
            _ if c == open => depth += 1,
            _ if c == close => {
                depth -= 1;
                if depth == 0 {
                    return Ok((&s[1..i], &s[i + 1..]));
                }
            }
            _ => {}
        }
    }
    Err(format!("-ERR unbalanced {open}{close} in dial string\n"))
}

/// Splits on `sep` outside quotes, brackets and parentheses, honouring `\sep` escapes.
pub fn split_top(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&n) = chars.peek()
                && n == sep
            {
                cur.push(n);
                chars.next();
                continue;
            }
            cur.push(c);
            continue;
        }
        match c {
            '\'' | '"' if quote == Some(c) => quote = None,
            '\'' | '"' if quote.is_none() => quote = Some(c),
            '{' | '[' | '(' | '<' if quote.is_none() => depth += 1,
            '}' | ']' | ')' | '>' if quote.is_none() => depth -= 1,
            _ => {}
        }
        if c == sep && depth == 0 && quote.is_none() {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

/// Parses `a=1,b='x,y',c=z\,w` (or `^^:a=1:b=2`) into pairs, stripping quotes from values.
pub fn parse_vars(s: &str) -> Vec<(String, String)> {
    let (sep, body) = match s.strip_prefix("^^") {
        Some(rest) if !rest.is_empty() => {
            let c = rest.chars().next().unwrap_or(',');
            (c, &rest[c.len_utf8()..])
        }
        _ => (',', s),
    };
    split_top(body, sep)
        .into_iter()
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            let v = v.trim();
            let v = ['\'', '"']
                .iter()
                .find_map(|q| v.strip_prefix(*q).and_then(|x| x.strip_suffix(*q)))
                .unwrap_or(v);
            Some((k.trim().to_string(), v.to_string()))
        })
        .collect()
}

/// Splits API arguments on spaces outside quotes and blocks; a token wholly wrapped in quotes
/// loses them (switch_separate_string).
pub fn split_args(s: &str) -> Vec<String> {
    split_top(s.trim(), ' ')
        .into_iter()
        .filter(|t| !t.is_empty())
        .map(|t| {
            ['\'', '"']
                .iter()
                .find_map(|q| t.strip_prefix(*q).and_then(|x| x.strip_suffix(*q)))
                .map(str::to_string)
                .unwrap_or(t)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_dialplan_with_a_custom_application_delimiter() {
        let o = parse_originate(
            "{origination_uuid=u1}user/1001 'm:^:set:ringback=%(1000,4000,450)^set:fail_on_single_reject=USER_BUSY,CALL_REJECTED^bridge:{a=1}[origination_uuid=b1]sofia/gateway/gw/1|[origination_uuid=b2]sofia/gateway/gw2/1^hangup' inline",
        )
        .unwrap();
        let names: Vec<&str> = o.apps.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["set", "set", "bridge", "hangup"]);
        assert_eq!(o.apps[1].1, "fail_on_single_reject=USER_BUSY,CALL_REJECTED");
        assert!(o.apps[2].1.ends_with("sofia/gateway/gw2/1"));
    }

    #[test]
    fn inline_originate_with_global_and_leg_vars() {
        let o = parse_originate(
            "{origination_uuid=u1,ignore_early_media=true,x='a,b'}[leg_timeout=30]sofia/gateway/gw1/13800000000 'set:a=1,bridge:user/1001' inline",
        )
        .unwrap();
        let leg = &o.dial.groups[0][0];
        assert_eq!(leg.endpoint, "sofia/gateway/gw1/13800000000");
        assert!(leg.vars.contains(&("origination_uuid".into(), "u1".into())));
        assert!(leg.vars.contains(&("x".into(), "a,b".into())));
        assert!(leg.vars.contains(&("leg_timeout".into(), "30".into())));
        assert_eq!(
            o.apps,
            vec![
                ("set".into(), "a=1".into()),
                ("bridge".into(), "user/1001".into())
            ]
        );
    }

    #[test]
    fn failover_and_simultaneous_groups() {
        let d =
            parse_dial_string("{a=1}sofia/gateway/g1/1,sofia/gateway/g2/1|[b=2]user/1001").unwrap();
        assert_eq!(d.groups.len(), 2);
        assert_eq!(d.groups[0].len(), 2);
        assert_eq!(d.groups[1][0].endpoint, "user/1001");
        assert!(d.groups[1][0].vars.contains(&("b".into(), "2".into())));
        assert!(d.groups[1][0].vars.contains(&("a".into(), "1".into())));
    }

    #[test]
    fn enterprise_branches_ring_together() {
        let d = parse_dial_string("<e=1>{a=1}user/1001:_:{a=2}user/1002").unwrap();
        assert_eq!(d.vars, vec![("e".into(), "1".into())]);
        assert_eq!(d.groups[0].len(), 2);
        assert_eq!(d.groups[0][1].vars, vec![("a".into(), "2".into())]);
    }

    #[test]
    fn app_form_and_custom_delimiter() {
        let o =
            parse_originate("{^^:a=1,2:b=3}user/1001 &bridge({x=1}sofia/gateway/gw/139)").unwrap();
        assert_eq!(
            o.dial.groups[0][0].vars,
            vec![("a".into(), "1,2".into()), ("b".into(), "3".into())]
        );
        assert_eq!(
            o.apps,
            vec![("bridge".into(), "{x=1}sofia/gateway/gw/139".into())]
        );
    }

    #[test]
    fn escaped_comma_stays_in_value() {
        assert_eq!(
            parse_vars(r"a=x\,y,b=2"),
            vec![("a".into(), "x,y".into()), ("b".into(), "2".into())]
        );
    }
}
