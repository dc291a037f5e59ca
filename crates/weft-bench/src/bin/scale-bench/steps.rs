//! The load steps: every member typing at one rate over all clients, with
//! cross-node edit-to-remote latency and every process's CPU and memory
//! over a measured window after a warm-up.

use crate::args::Args;
use crate::member::Member;
use crate::phase::{self, Totals};
use crate::side::Side;
use crate::usage::{Usage, UsageWindow};
use std::time::Duration;
use tokio::time::{sleep_until, Instant};
use weft_bench::harness::rng::Rng;

pub struct StepResult {
    /// Edits per second over all clients.
    pub rate: f64,
    pub totals: Totals,
    pub usage: Usage,
}

impl StepResult {
    /// Cross-node p99 under the ceiling, nothing missing, everything
    /// acknowledged as stored (where acknowledgements say so), nobody
    /// failed.
    pub fn passed(&mut self, ceiling: Duration) -> bool {
        let p99 = self.totals.latencies.percentile_ms(99.0);
        p99 < ceiling.as_secs_f64() * 1000.0
            && self.totals.missing == 0
            && self.totals.unstored.unwrap_or(0) == 0
            && self.totals.failed == 0
    }
}

pub async fn run(
    members: Vec<Member>,
    side: &Side,
    postgres: Option<u32>,
    rate: f64,
    args: &Args,
    rng: &mut Rng,
) -> Result<(Vec<Member>, StepResult), String> {
    let start = Instant::now() + Duration::from_millis(100);
    let window = (start + args.warmup, start + args.warmup + args.duration);
    let running = phase::spawn(
        members,
        rate,
        start,
        args.warmup + args.duration,
        window,
        rng,
        None,
    );
    sleep_until(window.0).await;
    let usage = UsageWindow::start(&side.pids(), postgres, side.redis_pid());
    sleep_until(window.1).await;
    let usage = usage.end();
    let (members, totals) = running.join().await?;
    Ok((
        members,
        StepResult {
            rate,
            totals,
            usage,
        },
    ))
}
