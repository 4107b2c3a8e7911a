//! Line selection, pure over a snapshot: given the candidate lines in order (the caller's list,
//! or the default lines by priority), the callee's province, each line's live calls and the
//! callee's calls on it today, return the failover chain and, for every line left out, why.
//! The snapshot is gathered elsewhere (database counters, ESL channel counts); nothing here
//! does I/O, so every rule is unit-tested.

use std::fmt;

use serde::Serialize;

/// What routing needs to know about one line at the moment of the call.
#[derive(Debug, Clone)]
pub struct LineSnapshot<'a> {
    pub name: &'a str,
    pub enabled: bool,
    /// Known to be down (unreachable, failed registration) on every FreeSWITCH node.
    pub down_everywhere: bool,
    pub blind_areas: &'a [String],
    /// 0 = no cap.
    pub max_concurrent: u32,
    pub live_calls: u32,
    /// 0 = no cap.
    pub callee_daily_limit: u32,
    pub callee_calls_today: u32,
}

/// Why a line was left out of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SkipReason {
    Disabled,
    Down,
    BlindArea { province: String },
    DailyLimit { limit: u32, used: u32 },
    Concurrency { max: u32, live: u32 },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Disabled => f.write_str("disabled"),
            SkipReason::Down => f.write_str("down on every FreeSWITCH node"),
            SkipReason::BlindArea { province } => write!(f, "cannot reach {province} (blind area)"),
            SkipReason::DailyLimit { limit, used } => {
                write!(
                    f,
                    "callee already called {used} time(s) today on this line (limit {limit})"
                )
            }
            SkipReason::Concurrency { max, live } => {
                write!(f, "{live} live calls, at its cap of {max}")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub gateway: String,
    #[serde(flatten)]
    pub reason: SkipReason,
}

/// The outcome of routing one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Lines to try, in order (FreeSWITCH `|` failover).
    pub chain: Vec<String>,
    pub skipped: Vec<Skipped>,
}

impl Decision {
    /// "gw1: disabled; gw2: cannot reach 新疆 (blind area)": the reason for every candidate.
    pub fn explain_skips(&self) -> String {
        self.skipped
            .iter()
            .map(|s| format!("{}: {}", s.gateway, s.reason))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Why one line cannot take this call, if it cannot. Rules in the order an operator reads them:
/// configuration first (disabled, blind area), then state (down, daily limit, concurrency).
fn skip_reason(line: &LineSnapshot<'_>, callee_province: Option<&str>) -> Option<SkipReason> {
    if !line.enabled {
        return Some(SkipReason::Disabled);
    }
    // An unknown region is never blocked: blind areas only exclude what we know is there.
    if let Some(p) = callee_province
        && line.blind_areas.iter().any(|b| b == p)
    {
        return Some(SkipReason::BlindArea {
            province: p.to_string(),
        });
    }
    if line.down_everywhere {
        return Some(SkipReason::Down);
    }
    if line.callee_daily_limit > 0 && line.callee_calls_today >= line.callee_daily_limit {
        return Some(SkipReason::DailyLimit {
            limit: line.callee_daily_limit,
            used: line.callee_calls_today,
        });
    }
    if line.max_concurrent > 0 && line.live_calls >= line.max_concurrent {
        return Some(SkipReason::Concurrency {
            max: line.max_concurrent,
            live: line.live_calls,
        });
    }
    None
}

/// Chooses the failover chain. An empty chain means no line fits; `skipped` then holds a reason
/// for every candidate.
pub fn choose(candidates: &[LineSnapshot<'_>], callee_province: Option<&str>) -> Decision {
    let mut decision = Decision {
        chain: Vec::new(),
        skipped: Vec::new(),
    };
    for line in candidates {
        match skip_reason(line, callee_province) {
            None => decision.chain.push(line.name.to_string()),
            Some(reason) => decision.skipped.push(Skipped {
                gateway: line.name.to_string(),
                reason,
            }),
        }
    }
    decision
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(name: &str) -> LineSnapshot<'_> {
        LineSnapshot {
            name,
            enabled: true,
            down_everywhere: false,
            blind_areas: &[],
            max_concurrent: 0,
            live_calls: 0,
            callee_daily_limit: 0,
            callee_calls_today: 0,
        }
    }

    #[test]
    fn all_fitting_lines_form_the_chain_in_candidate_order() {
        let d = choose(&[line("b"), line("a"), line("c")], Some("浙江"));
        assert_eq!(d.chain, ["b", "a", "c"]);
        assert!(d.skipped.is_empty());
    }

    #[test]
    fn blind_area_skips_only_lines_that_cannot_reach_the_province() {
        let blind = vec!["新疆".to_string(), "西藏".to_string()];
        let a = LineSnapshot {
            blind_areas: &blind,
            ..line("a")
        };
        let d = choose(&[a.clone(), line("b")], Some("新疆"));
        assert_eq!(d.chain, ["b"]);
        assert_eq!(
            d.skipped[0].reason,
            SkipReason::BlindArea {
                province: "新疆".into()
            }
        );
        assert_eq!(choose(std::slice::from_ref(&a), Some("浙江")).chain, ["a"]);
        assert_eq!(
            choose(&[a], None).chain,
            ["a"],
            "unknown region is never blocked"
        );
    }

    #[test]
    fn daily_limit_counts_calls_already_made_today() {
        let a = LineSnapshot {
            callee_daily_limit: 1,
            callee_calls_today: 1,
            ..line("a")
        };
        let d = choose(&[a, line("b")], None);
        assert_eq!(d.chain, ["b"]);
        assert_eq!(
            d.skipped[0].reason,
            SkipReason::DailyLimit { limit: 1, used: 1 }
        );
        let fresh = LineSnapshot {
            callee_daily_limit: 2,
            callee_calls_today: 1,
            ..line("a")
        };
        assert_eq!(choose(&[fresh], None).chain, ["a"]);
        let uncapped = LineSnapshot {
            callee_daily_limit: 0,
            callee_calls_today: 99,
            ..line("a")
        };
        assert_eq!(choose(&[uncapped], None).chain, ["a"]);
    }

    #[test]
    fn concurrency_cap_skips_full_lines() {
        let full = LineSnapshot {
            max_concurrent: 2,
            live_calls: 2,
            ..line("a")
        };
        let d = choose(&[full], None);
        assert!(d.chain.is_empty());
        assert_eq!(
            d.skipped[0].reason,
            SkipReason::Concurrency { max: 2, live: 2 }
        );
        let room = LineSnapshot {
            max_concurrent: 2,
            live_calls: 1,
            ..line("a")
        };
        assert_eq!(choose(&[room], None).chain, ["a"]);
    }

    #[test]
    fn disabled_and_down_lines_are_skipped() {
        let off = LineSnapshot {
            enabled: false,
            ..line("off")
        };
        let down = LineSnapshot {
            down_everywhere: true,
            ..line("down")
        };
        let d = choose(&[off, down, line("ok")], None);
        assert_eq!(d.chain, ["ok"]);
        assert_eq!(
            d.skipped
                .iter()
                .map(|s| s.reason.clone())
                .collect::<Vec<_>>(),
            [SkipReason::Disabled, SkipReason::Down]
        );
    }

    #[test]
    fn when_no_line_fits_every_candidate_has_a_reason() {
        let blind = vec!["西藏".to_string()];
        let a = LineSnapshot {
            blind_areas: &blind,
            ..line("a")
        };
        let b = LineSnapshot {
            max_concurrent: 1,
            live_calls: 1,
            ..line("b")
        };
        let d = choose(&[a, b], Some("西藏"));
        assert!(d.chain.is_empty());
        let text = d.explain_skips();
        assert!(
            text.contains("a: cannot reach 西藏") && text.contains("b: 1 live calls"),
            "{text}"
        );
        let json = serde_json::to_value(&d.skipped).unwrap();
        assert_eq!(json[0]["reason"], "blind_area");
        assert_eq!(json[0]["province"], "西藏");
        assert_eq!(json[1]["gateway"], "b");
    }
}
