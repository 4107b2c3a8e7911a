//! The retry schedule, as pure functions: what an attempt's outcome means for the event
//! (delivered, retry after how long, stop), exponential backoff with jitter, and parsing
//! `Retry-After`. The worker applies the result with the database clock.

use std::time::Duration;

/// How retries are spaced. Built from `[webhook]` in the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Delay after the first failed attempt; doubles with every further failure.
    pub base: Duration,
    /// Ceiling of the doubling.
    pub max: Duration,
    /// Ceiling for a receiver's `Retry-After`, so a bogus "come back in a year" cannot park
    /// an event past its retry window.
    pub retry_after_max: Duration,
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    Delivered,
    Retry(Duration),
    /// The receiver said the endpoint is gone (410): retrying would only repeat that.
    Stop,
}

/// Decides from the attempt's HTTP status (`None`: no response at all). 2xx is delivered;
/// 410 Gone stops (Standard Webhooks: the receiver asks to stop; the operator can redeliver
/// after fixing the URL); 429 and 503 with a `Retry-After` wait as asked, bounded; anything
/// else, including 3xx (redirects are never followed), is retried with backoff. `jitter` is
/// a fraction in [0, 1) drawn by the caller.
pub fn verdict(
    status: Option<u16>,
    retry_after: Option<Duration>,
    attempt: u32,
    backoff: &Backoff,
    jitter: f64,
) -> Verdict {
    match status {
        Some(200..=299) => Verdict::Delivered,
        Some(410) => Verdict::Stop,
        Some(429 | 503) if retry_after.is_some() => {
            let asked = retry_after.unwrap_or_default();
            // At least a second, so "Retry-After: 0" cannot turn into a hot loop.
            Verdict::Retry(asked.clamp(Duration::from_secs(1), backoff.retry_after_max))
        }
        _ => Verdict::Retry(delay(attempt, backoff, jitter)),
    }
}

/// `base * 2^(attempt-1)`, capped at `max`, then shortened by up to a quarter at random so
/// that events which failed together (a receiver outage) do not all come back together.
pub fn delay(attempt: u32, backoff: &Backoff, jitter: f64) -> Duration {
    let exp = attempt.saturating_sub(1).min(30);
    let full = backoff
        .base
        .saturating_mul(1u32 << exp)
        .min(backoff.max.max(backoff.base));
    full.mul_f64(1.0 - 0.25 * jitter.clamp(0.0, 1.0))
}

/// A `Retry-After` value: delay-seconds, or an HTTP date compared with `now_unix`. A date in
/// the past means "now" (zero); anything unreadable is ignored.
pub fn parse_retry_after(value: &str, now_unix: i64) -> Option<Duration> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(v.parse().unwrap_or(u64::MAX)));
    }
    // IMF-fixdate ("Wed, 21 Oct 2015 07:28:00 GMT") is a subset of RFC 2822.
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?.timestamp();
    Some(Duration::from_secs(
        at.saturating_sub(now_unix).max(0) as u64
    ))
}

/// A fraction in [0, 1) from the operating system's random source.
pub fn random_jitter() -> f64 {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).expect("the operating system's random source is unavailable");
    f64::from(u32::from_le_bytes(b)) / (f64::from(u32::MAX) + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoff() -> Backoff {
        Backoff {
            base: Duration::from_secs(5),
            max: Duration::from_secs(3600),
            retry_after_max: Duration::from_secs(600),
        }
    }

    #[test]
    fn delay_doubles_from_the_base_up_to_the_cap() {
        let b = backoff();
        let secs: Vec<u64> = (1..=12).map(|n| delay(n, &b, 0.0).as_secs()).collect();
        assert_eq!(
            secs,
            [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
        );
        assert_eq!(delay(u32::MAX, &b, 0.0), Duration::from_secs(3600));
    }

    #[test]
    fn jitter_shortens_by_at_most_a_quarter() {
        let b = backoff();
        assert_eq!(delay(2, &b, 0.5), Duration::from_millis(8750));
        let shortest = delay(2, &b, 0.999_999);
        assert!(shortest > Duration::from_millis(7499) && shortest < Duration::from_secs(10));
        for _ in 0..100 {
            let j = random_jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }

    #[test]
    fn success_gone_and_failures_get_their_verdicts() {
        let b = backoff();
        assert_eq!(verdict(Some(200), None, 1, &b, 0.0), Verdict::Delivered);
        assert_eq!(verdict(Some(204), None, 1, &b, 0.0), Verdict::Delivered);
        assert_eq!(verdict(Some(410), None, 1, &b, 0.0), Verdict::Stop);
        for failure in [None, Some(301), Some(302), Some(400), Some(404), Some(500)] {
            assert_eq!(
                verdict(failure, None, 3, &b, 0.0),
                Verdict::Retry(Duration::from_secs(20)),
                "{failure:?}"
            );
        }
    }

    #[test]
    fn retry_after_is_honoured_on_429_and_503_within_bounds() {
        let b = backoff();
        let ra = |s| Some(Duration::from_secs(s));
        assert_eq!(
            verdict(Some(429), ra(30), 1, &b, 0.0),
            Verdict::Retry(Duration::from_secs(30))
        );
        assert_eq!(
            verdict(Some(503), ra(0), 1, &b, 0.0),
            Verdict::Retry(Duration::from_secs(1))
        );
        assert_eq!(
            verdict(Some(503), ra(86_400), 1, &b, 0.0),
            Verdict::Retry(Duration::from_secs(600))
        );
        // Only those two statuses carry the meaning; elsewhere the header is ignored.
        assert_eq!(
            verdict(Some(500), ra(30), 1, &b, 0.0),
            Verdict::Retry(Duration::from_secs(5))
        );
        assert_eq!(
            verdict(Some(429), None, 2, &b, 0.0),
            Verdict::Retry(Duration::from_secs(10))
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = 1_445_412_450; // 2015-10-21 07:27:30 UTC
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
        assert_eq!(parse_retry_after("", now), None);
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
    }
}
