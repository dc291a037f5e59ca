//! CPU of every process taking part over a measured window (each node,
//! PostgreSQL with its sessions, Redis, this load generator, and the rest
//! of the machine), and each node's memory at its end.

use std::time::Instant;
use weft_bench::harness::procfs::{self, CpuWindow};

pub struct UsageWindow {
    nodes: Vec<Option<(u32, CpuWindow)>>,
    postgres: Option<CpuWindow>,
    redis: Option<CpuWindow>,
    generator: CpuWindow,
    machine: std::time::Duration,
    started: Instant,
}

/// Shares of one core, and bytes.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    /// Per node; `None` for a killed one.
    pub node_cpu: Vec<Option<f64>>,
    pub node_rss: Vec<Option<u64>>,
    pub postgres_cpu: Option<f64>,
    pub redis_cpu: Option<f64>,
    pub generator_cpu: f64,
    /// What other processes used meanwhile (builds, browsers): it skews
    /// the figures.
    pub other_cpu: f64,
}

impl UsageWindow {
    pub fn start(nodes: &[Option<u32>], postgres: Option<u32>, redis: Option<u32>) -> UsageWindow {
        UsageWindow {
            nodes: nodes
                .iter()
                .map(|pid| pid.map(|p| (p, CpuWindow::start(p))))
                .collect(),
            postgres: postgres.map(CpuWindow::family),
            redis: redis.map(CpuWindow::start),
            generator: CpuWindow::start(std::process::id()),
            machine: procfs::machine_busy(),
            started: Instant::now(),
        }
    }

    pub fn end(self) -> Usage {
        let node_cpu: Vec<Option<f64>> = self
            .nodes
            .iter()
            .map(|n| n.as_ref().map(|(_, w)| w.percent()))
            .collect();
        let node_rss = self
            .nodes
            .iter()
            .map(|n| n.as_ref().map(|(pid, _)| procfs::memory(*pid).rss))
            .collect();
        let postgres_cpu = self.postgres.as_ref().map(CpuWindow::percent);
        let redis_cpu = self.redis.as_ref().map(CpuWindow::percent);
        let generator_cpu = self.generator.percent();
        let machine = procfs::machine_busy().saturating_sub(self.machine);
        let machine = 100.0 * machine.as_secs_f64() / self.started.elapsed().as_secs_f64();
        let ours: f64 = node_cpu.iter().flatten().sum::<f64>()
            + postgres_cpu.unwrap_or(0.0)
            + redis_cpu.unwrap_or(0.0)
            + generator_cpu;
        Usage {
            node_cpu,
            node_rss,
            postgres_cpu,
            redis_cpu,
            generator_cpu,
            other_cpu: (machine - ours).max(0.0),
        }
    }
}
