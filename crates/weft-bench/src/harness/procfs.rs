//! CPU time and memory of a process, read from `/proc` (Linux).

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Clock ticks per second in `/proc/<pid>/stat`: USER_HZ, 100 in the user
/// ABI of every Linux architecture.
const TICKS_PER_SECOND: f64 = 100.0;

/// User plus system CPU time the process has used so far.
pub fn cpu_time(pid: u32) -> Duration {
    let ticks = stat(pid).map_or(0, |f| f.utime + f.stime);
    Duration::from_secs_f64(ticks as f64 / TICKS_PER_SECOND)
}

/// The fields of `/proc/<pid>/stat` the benchmarks read.
struct Stat {
    ppid: u32,
    utime: u64,
    stime: u64,
}

fn stat(pid: u32) -> Option<Stat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count fields after its ')'.
    let (_, after) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // ppid, utime and stime are fields 4, 14 and 15: 1, 11 and 12 after the ')'.
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    Some(Stat {
        ppid: u32::try_from(field(1)?).ok()?,
        utime: field(11)?,
        stime: field(12)?,
    })
}

/// `pid` and its children (a PostgreSQL server: the postmaster and its
/// sessions and workers).
fn family(pid: u32) -> Vec<u32> {
    let mut pids = vec![pid];
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        if stat(child).is_some_and(|s| s.ppid == pid) {
            pids.push(child);
        }
    }
    pids
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

/// CPU use of a process, or of a process and its children, over a
/// window, as a share of one core.
pub struct CpuWindow {
    pid: u32,
    children: bool,
    /// CPU time of each process at the start.
    cpu: HashMap<u32, Duration>,
    started: Instant,
}

impl CpuWindow {
    pub fn start(pid: u32) -> CpuWindow {
        CpuWindow::new(pid, false)
    }

    /// The process and its children; a child that appears during the
    /// window counts from zero, one that exits during it is missed.
    pub fn family(pid: u32) -> CpuWindow {
        CpuWindow::new(pid, true)
    }

    fn new(pid: u32, children: bool) -> CpuWindow {
        let mut window = CpuWindow {
            pid,
            children,
            cpu: HashMap::new(),
            started: Instant::now(),
        };
        window.cpu = window.sample();
        window
    }

    fn sample(&self) -> HashMap<u32, Duration> {
        let pids = if self.children {
            family(self.pid)
        } else {
            vec![self.pid]
        };
        pids.into_iter().map(|p| (p, cpu_time(p))).collect()
    }

    /// Percent of one core used since [`CpuWindow::start`].
    pub fn percent(&self) -> f64 {
        let used: Duration = self
            .sample()
            .into_iter()
            .map(|(p, cpu)| cpu.saturating_sub(self.cpu.get(&p).copied().unwrap_or_default()))
            .sum();
        100.0 * used.as_secs_f64() / self.started.elapsed().as_secs_f64()
    }
}
