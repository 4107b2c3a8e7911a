//! Reconnect delays: capped exponential backoff with jitter, so a fleet of callplane instances
//! does not hammer a FreeSWITCH that just restarted in lock-step.

use std::time::Duration;

/// Delay `n` is drawn uniformly from `[d/2, d]` where `d = min(max, initial * 2^n)`
/// ("equal jitter": never less than half the nominal delay, never in sync with a neighbour).
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
    rng: u64,
}

impl Backoff {
    pub(crate) fn new(initial: Duration, max: Duration) -> Self {
        // A v4 UUID is 122 random bits; enough seed for jitter without another dependency.
        let seed = uuid::Uuid::new_v4().as_u128() as u64 | 1;
        Self::with_seed(initial, max, seed)
    }

    pub(crate) fn with_seed(initial: Duration, max: Duration, seed: u64) -> Self {
        Self {
            initial,
            max: max.max(initial),
            attempt: 0,
            rng: seed | 1,
        }
    }

    pub(crate) fn next_delay(&mut self) -> Duration {
        let factor = 1u32 << self.attempt.min(20);
        let nominal = self.initial.saturating_mul(factor).min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        let half = nominal / 2;
        let spread = half.as_nanos() as u64;
        let jitter = if spread == 0 {
            0
        } else {
            self.next_random() % (spread + 1)
        };
        half + Duration::from_nanos(jitter)
    }

    /// Back to the initial delay, after a connection that stayed up long enough.
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }

    /// xorshift64*: plenty for spreading reconnects, not for anything secret.
    fn next_random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn delays_grow_exponentially_within_jitter_bounds_and_stop_at_the_cap() {
        let mut b = Backoff::with_seed(100 * MS, 5_000 * MS, 42);
        let nominal = [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000];
        for n in nominal {
            let d = b.next_delay();
            assert!(
                d >= n * MS / 2 && d <= n * MS,
                "{d:?} outside [{}/2, {}] ms",
                n,
                n
            );
        }
    }

    #[test]
    fn jitter_actually_varies() {
        let mut b = Backoff::with_seed(1_000 * MS, 1_000 * MS, 7);
        let delays: Vec<_> = (0..8).map(|_| b.next_delay()).collect();
        assert!(delays.windows(2).any(|w| w[0] != w[1]), "{delays:?}");
    }

    #[test]
    fn reset_starts_over() {
        let mut b = Backoff::with_seed(100 * MS, 10_000 * MS, 3);
        for _ in 0..6 {
            b.next_delay();
        }
        b.reset();
        assert!(b.next_delay() <= 100 * MS);
    }

    #[test]
    fn huge_attempt_counts_do_not_overflow() {
        let mut b = Backoff::with_seed(Duration::from_secs(1), Duration::from_secs(30), 9);
        for _ in 0..200 {
            assert!(b.next_delay() <= Duration::from_secs(30));
        }
    }
}
