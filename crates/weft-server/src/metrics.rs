//! Counters for `/metrics`, in Prometheus' text format: what an operator
//! graphs and alerts on (rooms loaded, connections, bytes stored, commit
//! latency and failures, whether the storage is usable).

use crate::bus::BusStats;
use crate::storage_health::Report;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the commit latency buckets, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

/// Commits of the rooms' storage: how many, how long, how many failed.
#[derive(Debug, Default)]
pub struct Commits {
    /// Per bucket, commits at most that long (cumulative, as Prometheus wants).
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    micros: AtomicU64,
    failures: AtomicU64,
}

impl Commits {
    /// A commit that took `took`.
    pub fn committed(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// A write that was not acknowledged.
    pub fn failed(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
    }
}

/// One gauge or counter's line, with its help and type.
fn metric(out: &mut String, name: &str, kind: &str, help: &str, value: f64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

/// What `/metrics` shows.
pub struct Snapshot {
    /// Open WebSocket connections.
    pub connections: usize,
    /// Rooms with members.
    pub rooms: usize,
    /// Rooms whose replica is loaded.
    pub rooms_loaded: usize,
    /// Bytes of records and checkpoints stored (`None`: not stored).
    pub stored_bytes: Option<u64>,
    /// Transactions committed, each holding the writes of one or more
    /// rooms (`None`: not stored).
    pub transactions: Option<u64>,
    /// Transactions lost to another server's and tried again (`None`: not
    /// stored).
    pub conflicts: Option<u64>,
    /// Bytes waiting to be sent to clients.
    pub queued_bytes: usize,
    /// The storage's state (`None`: not stored).
    pub storage: Option<Report>,
    /// Rooms loaded again after the storage was reopened.
    pub room_reloads: u64,
    /// Rooms unloaded (idle, stored).
    pub room_unloads: u64,
    /// With `--redis`: the streams this server reads on the bus, and what
    /// the bus counted.
    pub relay: Option<(usize, BusStats)>,
}

/// The relay's gauge and counters (`--redis` only).
fn relay(out: &mut String, streams: usize, stats: &BusStats) {
    #[allow(clippy::cast_precision_loss)]
    let streams = streams as f64;
    metric(
        out,
        "weft_relay_streams",
        "gauge",
        "Redis streams this server reads: a room's document and its signaling, one each, while it has members here.",
        streams,
    );
    for (name, help, count) in [
        (
            "weft_relay_delivered_total",
            "Entries from other servers handed to this server's rooms.",
            stats.delivered,
        ),
        (
            "weft_relay_lagged_total",
            "Entries dropped for rooms that did not keep up (they catch up by exchanging versions).",
            stats.lagged,
        ),
        (
            "weft_relay_malformed_total",
            "Entries skipped: fields missing or not as published.",
            stats.malformed,
        ),
        (
            "weft_relay_oversize_total",
            "Entries skipped: more data than the relay carries.",
            stats.oversize,
        ),
        (
            "weft_relay_reconnects_total",
            "Times the relay got Redis back after losing it.",
            stats.reconnects,
        ),
    ] {
        #[allow(clippy::cast_precision_loss)]
        metric(out, name, "counter", help, count as f64);
    }
}

/// The text format of `snapshot` and `commits`.
pub fn render(snapshot: &Snapshot, commits: &Commits) -> String {
    let mut out = String::new();
    #[allow(clippy::cast_precision_loss)]
    let n = |v: usize| v as f64;
    metric(
        &mut out,
        "weft_connections",
        "gauge",
        "Open WebSocket connections.",
        n(snapshot.connections),
    );
    metric(
        &mut out,
        "weft_rooms",
        "gauge",
        "Rooms with members.",
        n(snapshot.rooms),
    );
    metric(
        &mut out,
        "weft_rooms_loaded",
        "gauge",
        "Rooms whose replica is loaded.",
        n(snapshot.rooms_loaded),
    );
    metric(
        &mut out,
        "weft_queued_bytes",
        "gauge",
        "Bytes waiting to be sent to clients.",
        n(snapshot.queued_bytes),
    );
    if let Some(bytes) = snapshot.stored_bytes {
        #[allow(clippy::cast_precision_loss)]
        let bytes = bytes as f64;
        metric(
            &mut out,
            "weft_stored_bytes",
            "gauge",
            "Bytes of records and checkpoints stored.",
            bytes,
        );
    }
    if let Some(transactions) = snapshot.transactions {
        #[allow(clippy::cast_precision_loss)]
        let transactions = transactions as f64;
        metric(
            &mut out,
            "weft_storage_transactions_total",
            "counter",
            "Transactions committed; each holds the writes of every room queued meanwhile (group commit).",
            transactions,
        );
    }
    if let Some(conflicts) = snapshot.conflicts {
        #[allow(clippy::cast_precision_loss)]
        let conflicts = conflicts as f64;
        metric(
            &mut out,
            "weft_storage_conflicts_total",
            "counter",
            "Transactions lost to another server's on the same database (a deadlock or serialization failure) and tried again.",
            conflicts,
        );
    }
    if let Some(storage) = &snapshot.storage {
        metric(
            &mut out,
            "weft_storage_failed",
            "gauge",
            "1 while the storage is unusable (a failed commit; nothing is acknowledged until it is reopened).",
            f64::from(u8::from(storage.failed)),
        );
        #[allow(clippy::cast_precision_loss)]
        let failures = storage.failures as f64;
        metric(
            &mut out,
            "weft_storage_failures_total",
            "counter",
            "Times the storage became unusable.",
            failures,
        );
    }
    #[allow(clippy::cast_precision_loss)]
    let (reloads, unloads) = (snapshot.room_reloads as f64, snapshot.room_unloads as f64);
    metric(
        &mut out,
        "weft_room_reloads_total",
        "counter",
        "Rooms loaded again after the storage was reopened.",
        reloads,
    );
    metric(
        &mut out,
        "weft_room_unloads_total",
        "counter",
        "Idle rooms unloaded.",
        unloads,
    );
    if let Some((rooms, stats)) = &snapshot.relay {
        relay(&mut out, *rooms, stats);
    }
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    #[allow(clippy::cast_precision_loss)]
    let failures = load(&commits.failures) as f64;
    metric(
        &mut out,
        "weft_commit_failures_total",
        "counter",
        "Writes of rooms not acknowledged (failed).",
        failures,
    );
    let name = "weft_commit_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} Time to commit a room's write (fsynced).\n# TYPE {name} histogram"
    );
    for (bound, bucket) in BUCKETS.iter().zip(&commits.buckets) {
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {}", load(bucket));
    }
    let count = load(&commits.count);
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
    #[allow(clippy::cast_precision_loss)]
    let sum = load(&commits.micros) as f64 / 1e6;
    let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_fill_cumulative_buckets() {
        let commits = Commits::default();
        commits.committed(Duration::from_micros(800));
        commits.committed(Duration::from_millis(20));
        commits.failed();
        let snapshot = Snapshot {
            connections: 3,
            rooms: 2,
            rooms_loaded: 1,
            stored_bytes: Some(4096),
            transactions: Some(3),
            conflicts: Some(6),
            queued_bytes: 0,
            storage: Some(Report {
                failed: true,
                failures: 2,
                last: None,
                recovered_at: None,
            }),
            room_reloads: 5,
            room_unloads: 7,
            relay: Some((
                4,
                BusStats {
                    delivered: 9,
                    lagged: 1,
                    ..BusStats::default()
                },
            )),
        };
        let text = render(&snapshot, &commits);
        for line in [
            "weft_connections 3",
            "weft_rooms_loaded 1",
            "weft_stored_bytes 4096",
            "weft_storage_transactions_total 3",
            "weft_storage_conflicts_total 6",
            "weft_commit_failures_total 1",
            "weft_storage_failed 1",
            "weft_storage_failures_total 2",
            "weft_room_reloads_total 5",
            "weft_room_unloads_total 7",
            "weft_relay_streams 4",
            "weft_relay_delivered_total 9",
            "weft_relay_lagged_total 1",
            "weft_relay_reconnects_total 0",
            "weft_commit_seconds_bucket{le=\"0.001\"} 1",
            "weft_commit_seconds_bucket{le=\"0.01\"} 1",
            "weft_commit_seconds_bucket{le=\"0.025\"} 2",
            "weft_commit_seconds_bucket{le=\"+Inf\"} 2",
            "weft_commit_seconds_count 2",
            "weft_commit_seconds_sum 0.0208",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }
}
