//! Repeated timing with a median, bounded in total time.

use std::time::{Duration, Instant};

/// Runs `f` up to `max_runs` times (at least once), stopping early once
/// `budget` is spent, and returns the median in milliseconds with the last
/// result.
pub fn median_ms<T>(max_runs: usize, budget: Duration, mut f: impl FnMut() -> T) -> (f64, T) {
    let start = Instant::now();
    let mut times = Vec::new();
    let last = loop {
        let t = Instant::now();
        let result = f();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        if times.len() >= max_runs || start.elapsed() > budget {
            break result;
        }
        // Dropped after the clock stopped: freeing a result is not part of
        // producing it.
        drop(result);
    };
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], last)
}

/// A replay whose result is dropped after the clock stops.
pub type Timed<'a> = Box<dyn FnMut() -> Box<dyn std::any::Any> + 'a>;

/// Runs each of `fs` once per round, round after round, up to `max_rounds`
/// (at least one) or until `budget` is spent, and returns each one's median
/// in milliseconds. Interleaving gives every implementation the same
/// machine conditions, so their ratio holds even when the machine's speed
/// drifts during the run.
pub fn interleaved_medians(max_rounds: usize, budget: Duration, fs: &mut [Timed]) -> Vec<f64> {
    let start = Instant::now();
    let mut times = vec![Vec::new(); fs.len()];
    for round in 0.. {
        for (f, t) in fs.iter_mut().zip(&mut times) {
            let clock = Instant::now();
            let result = f();
            t.push(clock.elapsed().as_secs_f64() * 1000.0);
            drop(result);
        }
        if round + 1 >= max_rounds || start.elapsed() > budget {
            break;
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort_by(f64::total_cmp);
            t[t.len() / 2]
        })
        .collect()
}
