//! CPU time and memory of a process, read from `/proc` (Linux).

use std::time::{Duration, Instant};

/// Clock ticks per second in `/proc/<pid>/stat`: USER_HZ, 100 in the user
/// ABI of every Linux architecture.
const TICKS_PER_SECOND: f64 = 100.0;

/// User plus system CPU time the process has used so far.
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name (field 2) may hold spaces: count fields after its ')'.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15, i.e. 12 and 13 after the ')'.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Duration::from_secs_f64((ticks(11) + ticks(12)) as f64 / TICKS_PER_SECOND)
}

/// CPU time every process on the machine has used so far (all cores).
pub fn machine_busy() -> Duration {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: all but idle and
    // iowait (guest time is inside user already).
    let busy: u64 = [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|&i| ticks.get(i))
        .sum();
    Duration::from_secs_f64(busy as f64 / TICKS_PER_SECOND)
}

/// Resident memory now (`VmRSS`) and at its peak (`VmHWM`), in bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub rss: u64,
    pub peak: u64,
}

pub fn memory(pid: u32) -> Memory {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    Memory {
        rss: kib("VmRSS:"),
        peak: kib("VmHWM:"),
    }
}

/// CPU use of a process over a window, as a share of one core.
pub struct CpuWindow {
    pid: u32,
    cpu: Duration,
    started: Instant,
}

impl CpuWindow {
    pub fn start(pid: u32) -> CpuWindow {
        CpuWindow {
            pid,
            cpu: cpu_time(pid),
            started: Instant::now(),
        }
    }

    /// Percent of one core used since [`CpuWindow::start`].
    pub fn percent(&self) -> f64 {
        let used = cpu_time(self.pid).saturating_sub(self.cpu);
        100.0 * used.as_secs_f64() / self.started.elapsed().as_secs_f64()
    }
}
