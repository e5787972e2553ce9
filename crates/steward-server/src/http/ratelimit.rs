//! Per-key rate limits (GCRA from `governor`), keyed by the hash of the presented key so the
//! limit applies before the database is asked.

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;
use crate::settings::RateLimit;

pub struct KeyLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
}

impl KeyLimiter {
    /// A limiter for `limit`, or `None` when limits are off.
    pub fn new(limit: RateLimit) -> Option<Self> {
        let burst = NonZeroU32::new(limit.requests)?;
        // A full bucket of `requests`, refilled evenly over the window.
        let period = limit.window / limit.requests;
        let quota = Quota::with_period(period)?.allow_burst(burst);
        Some(Self {
            limiter: RateLimiter::keyed(quota),
        })
    }

    /// Counts one request of `key`; `TooManyRequests` with the wait when over the limit.
    pub fn check(&self, key: &str) -> Result<(), ApiError> {
        // Forget idle keys now and then so the map stays as large as the set of active keys.
        if self.limiter.len() > 10_000 {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&key.to_string())
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                ApiError::TooManyRequests {
                    retry_after_secs: wait.as_secs() + 1,
                }
            })
    }
}
