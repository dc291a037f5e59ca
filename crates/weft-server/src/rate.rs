//! The token bucket that enforces a connection's message rate.

use std::time::Instant;

/// A token bucket: `take` fails once the burst is spent faster than the
/// rate refills it.
#[derive(Debug)]
pub struct RateLimiter {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl RateLimiter {
    /// A full bucket.
    pub fn new(rate: f64, burst: f64) -> RateLimiter {
        RateLimiter {
            tokens: burst,
            rate,
            burst,
            last: Instant::now(),
        }
    }

    /// Spends one token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    #[test]
    fn a_burst_is_allowed_then_the_rate_refills() {
        let start = Instant::now();
        let mut bucket = RateLimiter::new(10.0, 3.0);
        assert!((0..3).all(|_| bucket.take(start)));
        assert!(!bucket.take(start));
        assert!(bucket.take(start + Duration::from_millis(100)));
        assert!(!bucket.take(start + Duration::from_millis(100)));
        // Never more than the burst, however long the pause.
        let later = start + Duration::from_secs(60);
        assert_eq!((0..10).filter(|_| bucket.take(later)).count(), 3);
    }
}
