//! Whether the rooms' storage can be used, for `/health`, `/metrics` and
//! the log. A write that leaves the database's state unknown
//! ([`StorageError::Unknown`]: a failed commit or fsync, a lost
//! PostgreSQL connection) makes it unusable: nothing is acknowledged until
//! it is reopened. Operators see when that
//! happened, why, and how often since start, also after the recovery.

use crate::log;
use crate::storage::StorageError;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The first wait before reopening the storage after a failure; each
/// failed reopen doubles it...
pub const FIRST_WAIT: Duration = Duration::from_millis(200);
/// ...up to this.
pub const MAX_WAIT: Duration = Duration::from_secs(5);
/// How long `/health` waits for the database to answer before saying it
/// cannot reach it: well under a load balancer's timeout for the check.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// A failure this soon after the last recovery (a disk nearly full takes
/// small writes, the reopen's among them, and refuses large ones) starts
/// its recovery with twice the last one's first wait, so the storage does
/// not flap between failed and recovered.
const FLAPPING: Duration = Duration::from_secs(60);

/// The storage's state since the server started.
#[derive(Default)]
pub struct StorageHealth {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Since when the storage is unusable (`None`: it is usable).
    failed_since: Option<SystemTime>,
    /// Times it became unusable.
    failures: u64,
    /// The error that made it unusable last, and when.
    last: Option<(String, SystemTime)>,
    /// When it was usable again after the last failure.
    recovered_at: Option<SystemTime>,
    /// A task is reopening it.
    recovering: bool,
    /// The first wait of the last recovery.
    wait: Duration,
}

/// What `/health` and `/metrics` show of the storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Unusable now.
    pub failed: bool,
    /// Times it became unusable since start.
    pub failures: u64,
    /// The last failure's error and when it began.
    pub last: Option<(String, SystemTime)>,
    /// When it was usable again after the last failure (`None` while it
    /// is not).
    pub recovered_at: Option<SystemTime>,
}

impl StorageHealth {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every change below is a few plain assignments: consistent even
        // after a panic elsewhere.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `error` left the file's state unknown: unless `still_unusable` says
    /// the storage was reopened since, records the failure (logged at
    /// Error level once per failure) and, if no recovery runs, returns how
    /// long the caller's recovery should wait before its first reopen.
    /// `still_unusable` is asked under this type's lock, as
    /// [`recovered`](Self::recovered)'s check is, so a failure never goes
    /// unrecovered.
    pub fn failed(
        &self,
        error: &StorageError,
        still_unusable: impl FnOnce() -> bool,
    ) -> Option<Duration> {
        let mut state = self.lock();
        if !still_unusable() {
            return None;
        }
        if state.failed_since.is_none() {
            let now = SystemTime::now();
            state.failed_since = Some(now);
            state.failures += 1;
            state.last = Some((error.to_string(), now));
            log!(
                Error,
                "storage failed, nothing is acknowledged until it is reopened: {error}"
            );
        }
        if std::mem::replace(&mut state.recovering, true) {
            return None;
        }
        let flapping = state
            .recovered_at
            .and_then(|at| at.elapsed().ok())
            .is_some_and(|since| since < FLAPPING);
        state.wait = match flapping {
            true => (state.wait * 2).clamp(FIRST_WAIT, MAX_WAIT),
            false => FIRST_WAIT,
        };
        Some(state.wait)
    }

    /// The recovery reopened the storage: if `usable` says it still is
    /// (no write failed again meanwhile), records that and returns true;
    /// otherwise the recovery must go on.
    pub fn recovered(&self, usable: impl FnOnce() -> bool) -> bool {
        let mut state = self.lock();
        if !usable() {
            return false;
        }
        let now = SystemTime::now();
        let down = state
            .failed_since
            .take()
            .and_then(|since| now.duration_since(since).ok())
            .unwrap_or(Duration::ZERO);
        state.recovered_at = Some(now);
        state.recovering = false;
        log!(
            Info,
            "storage reopened after {down:.1?}: reloading the rooms"
        );
        true
    }

    /// The state now.
    pub fn report(&self) -> Report {
        let state = self.lock();
        let failed = state.failed_since.is_some();
        Report {
            failed,
            failures: state.failures,
            last: state.last.clone(),
            recovered_at: state.recovered_at.filter(|_| !failed),
        }
    }
}

impl Report {
    /// The `storage` object of `/health`: `state` (`ok`, `failed`, or
    /// `unreachable` while usable but `unreachable` says why the database
    /// does not answer), `failures` since start, the last failure's
    /// `error`, `failed_at` and `recovered_at` (null while failed, all null
    /// before any failure), and `unreachable` (null while it answers).
    pub fn to_json(&self, unreachable: Option<&str>) -> serde_json::Value {
        let (error, failed_at) = match &self.last {
            Some((error, at)) => (Some(error.as_str()), Some(rfc3339(*at))),
            None => (None, None),
        };
        let state = match (self.failed, unreachable) {
            (true, _) => "failed",
            (false, Some(_)) => "unreachable",
            (false, None) => "ok",
        };
        serde_json::json!({
            "state": state,
            "unreachable": unreachable,
            "failures": self.failures,
            "error": error,
            "failed_at": failed_at,
            "recovered_at": self.recovered_at.map(rfc3339),
        })
    }
}

/// `t` as an RFC 3339 UTC timestamp to the second, e.g.
/// `2024-05-01T12:00:00Z` (times before 1970 show as 1970).
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (hour, minute, second) = (rest / 3600, rest % 3600 / 60, rest % 60);
    // Days to a civil date (Howard Hinnant's `civil_from_days`), in eras
    // of 400 years from 0000-03-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Location;
    use std::path::PathBuf;
    use std::sync::Arc;

    #[test]
    fn timestamps_are_rfc3339() {
        let at = |secs| rfc3339(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(at(4_107_542_399), "2100-02-28T23:59:59Z");
    }

    fn unknown() -> StorageError {
        StorageError::Unknown {
            location: Location::Sqlite(PathBuf::from("data")),
            room: "r".into(),
            source: Arc::new(std::io::Error::other("disk full")),
        }
    }

    #[test]
    fn a_failure_is_counted_once_and_reported_after_recovery() {
        let health = StorageHealth::default();
        assert_eq!(health.report().to_json(None)["state"], "ok");
        assert_eq!(health.failed(&unknown(), || false), None, "reopened since");
        assert_eq!(health.report().failures, 0);
        let first = health.failed(&unknown(), || true);
        assert_eq!(first, Some(FIRST_WAIT), "start the recovery");
        assert_eq!(health.failed(&unknown(), || true), None, "one recovery");
        let failed = health.report().to_json(None);
        assert_eq!(failed["state"], "failed");
        assert_eq!(failed["failures"], 1);
        assert!(failed["error"].as_str().unwrap().contains("disk full"));
        assert!(failed["recovered_at"].is_null());
        assert!(!health.recovered(|| false), "failed again meanwhile");
        assert!(health.recovered(|| true));
        let report = health.report().to_json(None);
        assert_eq!(report["state"], "ok");
        assert_eq!(report["failures"], 1);
        assert_eq!(report["error"], failed["error"]);
        assert_eq!(report["failed_at"], failed["failed_at"]);
        assert!(report["recovered_at"].is_string());
        // The next failure starts a new recovery, which waits longer each
        // time the storage fails again soon after recovering.
        assert_eq!(health.failed(&unknown(), || true), Some(FIRST_WAIT * 2));
        assert_eq!(health.report().failures, 2);
        assert!(health.report().to_json(None)["recovered_at"].is_null());
        for _ in 0..10 {
            assert!(health.recovered(|| true));
            assert!(health.failed(&unknown(), || true).unwrap() <= MAX_WAIT);
        }
        assert_eq!(health.report().failures, 12);
    }
}
