//! When to try again: exponential back-off with full jitter, so that a fleet that lost its
//! server comes back spread out rather than in one burst.

use std::time::Duration;

use rand::RngExt;

#[derive(Debug, Clone)]
pub struct Backoff {
    /// The first retry's ceiling; each failure doubles it.
    pub base: Duration,
    /// The ceiling never exceeds this.
    pub max: Duration,
    /// After a connection that worked and then ended, the first retry is spread over this.
    pub spread: Duration,
    failures: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(
            Duration::from_secs(2),
            Duration::from_secs(300),
            Duration::from_secs(15),
        )
    }
}

fn random_up_to(ceiling: Duration) -> Duration {
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    if millis == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(rand::rng().random_range(0..=millis))
}

impl Backoff {
    pub fn new(base: Duration, max: Duration, spread: Duration) -> Self {
        Self {
            base,
            max,
            spread,
            failures: 0,
        }
    }

    /// The wait after a connection that had worked ended: uniform over `spread`.
    pub fn after_disconnect(&mut self) -> Duration {
        self.failures = 0;
        random_up_to(self.spread)
    }

    /// The wait after a failed attempt: uniform over `min(max, base × 2^failures)`.
    pub fn after_failure(&mut self) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(2u32.saturating_pow(self.failures.min(20)))
            .min(self.max);
        self.failures = self.failures.saturating_add(1);
        random_up_to(ceiling)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_to_the_ceiling_and_reset_after_a_good_connection() {
        let mut b = Backoff::new(
            Duration::from_secs(1),
            Duration::from_secs(8),
            Duration::from_secs(5),
        );
        let ceilings = [1, 2, 4, 8, 8, 8];
        for ceiling in ceilings {
            let wait = b.after_failure();
            assert!(
                wait <= Duration::from_secs(ceiling),
                "{wait:?} > {ceiling}s"
            );
        }
        assert!(b.after_disconnect() <= Duration::from_secs(5));
        assert!(b.after_failure() <= Duration::from_secs(1));
    }

    #[test]
    fn jitter_spreads_waits() {
        let mut b = Backoff::new(
            Duration::from_secs(1),
            Duration::from_secs(60),
            Duration::from_secs(10),
        );
        let waits: Vec<Duration> = (0..200).map(|_| b.after_disconnect()).collect();
        let early = waits
            .iter()
            .filter(|w| **w < Duration::from_secs(5))
            .count();
        assert!(
            (60..=140).contains(&early),
            "uniform over the spread: {early} of 200 early"
        );
    }
}
