//! Repeated timing with a median, bounded in total time.

use std::time::{Duration, Instant};

/// Runs `f` up to `max_runs` times (at least once), stopping early once
/// `budget` is spent, and returns the median in milliseconds with the last
/// result.
pub fn median_ms<T>(max_runs: usize, budget: Duration, mut f: impl FnMut() -> T) -> (f64, T) {
    let start = Instant::now();
    let mut times = Vec::new();
    let mut last;
    loop {
        let t = Instant::now();
        last = f();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        if times.len() >= max_runs || start.elapsed() > budget {
            break;
        }
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], last)
}
