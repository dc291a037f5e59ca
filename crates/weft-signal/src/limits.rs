//! What one connection may do, and the token bucket that enforces its rate.

use std::time::{Duration, Instant};

/// Limits that keep one client from hurting the others.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest message, in bytes (SDP offers are a few KiB).
    pub max_message_bytes: usize,
    /// Rooms one connection may be in at once.
    pub max_rooms_per_connection: usize,
    /// Peers one room may hold.
    pub max_peers_per_room: usize,
    /// Messages per second a connection may send, on average...
    pub messages_per_second: f64,
    /// ...and in a burst (ICE candidates come in bursts).
    pub message_burst: f64,
    /// A connection that sends nothing for this long is closed.
    pub idle_timeout: Duration,
    /// Messages queued for one slow client before more are dropped.
    pub outbound_queue: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 64 * 1024,
            max_rooms_per_connection: 32,
            max_peers_per_room: 64,
            messages_per_second: 100.0,
            message_burst: 500.0,
            idle_timeout: Duration::from_secs(60),
            outbound_queue: 1024,
        }
    }
}

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
