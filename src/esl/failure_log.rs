//! Which connection failures of one node reach the log. A node that is unreachable or refuses
//! the password is retried every few seconds for as long as it stays so; logging every attempt
//! would bury everything else, and logging none left operators with only `/readyz` and metrics.
//! So the log gets the first failure, every change of state or reason, a reminder at most once
//! per [`REMIND_EVERY`] while nothing changes (with the number of attempts in between), and the
//! recovery.

use std::time::{Duration, Instant};

use super::supervisor::NodeState;

/// How often an unchanged failure is logged again.
pub const REMIND_EVERY: Duration = Duration::from_secs(300);

/// What to log about one connection attempt's failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureNote {
    /// The first failure, or a different state or reason than the last one logged.
    Changed,
    /// The same failure again, `REMIND_EVERY` after the last line; `attempts` failed since.
    StillFailing { attempts: u32 },
}

#[derive(Debug, Default)]
pub struct FailureLog {
    last: Option<(NodeState, String)>,
    logged_at: Option<Instant>,
    unlogged: u32,
}

impl FailureLog {
    /// A failed attempt: `Some` when it should be logged.
    pub fn failed(&mut self, state: NodeState, reason: &str, now: Instant) -> Option<FailureNote> {
        let same = self
            .last
            .as_ref()
            .is_some_and(|(s, r)| *s == state && r == reason);
        if !same {
            self.last = Some((state, reason.to_string()));
            self.logged_at = Some(now);
            self.unlogged = 0;
            return Some(FailureNote::Changed);
        }
        self.unlogged += 1;
        let due = self
            .logged_at
            .is_none_or(|at| now.duration_since(at) >= REMIND_EVERY);
        if !due {
            return None;
        }
        self.logged_at = Some(now);
        let attempts = std::mem::take(&mut self.unlogged);
        Some(FailureNote::StillFailing { attempts })
    }

    /// The node connected: true when that ends a logged failure (worth a line of its own).
    pub fn recovered(&mut self) -> bool {
        let was_failing = self.last.is_some();
        *self = Self::default();
        was_failing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_failure_changes_and_reminders_are_logged_repeats_are_not() {
        let t0 = Instant::now();
        let mut log = FailureLog::default();
        let refused = "connection refused";
        assert_eq!(
            log.failed(NodeState::Down, refused, t0),
            Some(FailureNote::Changed)
        );
        for i in 1..=10 {
            let at = t0 + Duration::from_secs(i * 5);
            assert_eq!(log.failed(NodeState::Down, refused, at), None, "retry {i}");
        }
        assert_eq!(
            log.failed(NodeState::Down, refused, t0 + REMIND_EVERY),
            Some(FailureNote::StillFailing { attempts: 11 })
        );
        // A new reason, then a new state, are logged at once.
        let at = t0 + REMIND_EVERY + Duration::from_secs(1);
        assert_eq!(
            log.failed(NodeState::Down, "connect timed out", at),
            Some(FailureNote::Changed)
        );
        assert_eq!(
            log.failed(NodeState::AuthFailed, "-ERR invalid", at),
            Some(FailureNote::Changed)
        );
        assert!(log.recovered(), "recovery after a failure is logged");
        assert!(
            !log.recovered(),
            "a second connect with no failure between is not"
        );
        assert_eq!(
            log.failed(NodeState::AuthFailed, "-ERR invalid", at),
            Some(FailureNote::Changed),
            "after a recovery the same failure is news again"
        );
    }
}
