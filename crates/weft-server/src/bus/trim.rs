//! How long a room's stream keeps its entries: [`STREAM_RETAIN`] by
//! default, by Redis's clock. Stream ids begin with the milliseconds at
//! which Redis added the entry, so each publish trims the entries older
//! than that (`XADD … MINID <ms> *`; exact, so each entry is removed
//! once, by the first publish after it expired). What a stream holds is then bounded by a
//! room's edits of the last minute, not by a count of entries that a quiet
//! room would keep for a day. Nothing relies on older entries: every
//! update is stored by the node that merged it, and a node that falls
//! further behind catches up by the version exchange.

use super::entry::StreamId;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long an entry stays in its room's stream, about.
pub const STREAM_RETAIN: Duration = Duration::from_secs(60);

/// Redis's clock as seen from this node: the offset of the last id Redis
/// gave this node's publishes from this node's clock (so a node whose
/// clock is off trims by Redis's time all the same).
pub(super) struct RedisClock {
    /// Redis's milliseconds minus ours; `UNKNOWN` before the first id.
    offset_ms: AtomicI64,
}

const UNKNOWN: i64 = i64::MIN;

impl Default for RedisClock {
    fn default() -> Self {
        RedisClock {
            offset_ms: AtomicI64::new(UNKNOWN),
        }
    }
}

fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

impl RedisClock {
    /// Redis gave an entry `id` just now.
    pub fn saw(&self, id: StreamId) {
        let ms = i64::try_from(id.ms()).unwrap_or(i64::MAX);
        self.offset_ms
            .store(ms.saturating_sub(now_ms()), Ordering::Relaxed);
    }

    /// The oldest id a stream that keeps entries for `retain` keeps now;
    /// `None` until Redis gave an id (the first publish trims nothing).
    pub fn min_id(&self, retain: Duration) -> Option<u64> {
        let offset = self.offset_ms.load(Ordering::Relaxed);
        if offset == UNKNOWN {
            return None;
        }
        let retain = i64::try_from(retain.as_millis()).unwrap_or(i64::MAX);
        let redis_now = now_ms().saturating_add(offset);
        u64::try_from(redis_now.saturating_sub(retain)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_by_the_clock_of_redis() {
        let clock = RedisClock::default();
        assert_eq!(clock.min_id(STREAM_RETAIN), None, "nothing known yet");
        // Redis's clock runs an hour ahead of ours.
        let hour = 3_600_000;
        let redis_now = u64::try_from(now_ms() + hour).unwrap();
        clock.saw(StreamId::parse(format!("{redis_now}-3").as_bytes()).unwrap());
        let min = clock.min_id(STREAM_RETAIN).unwrap();
        let retain = STREAM_RETAIN.as_millis() as u64;
        assert!(
            min >= redis_now - retain && min <= redis_now - retain + 1_000,
            "{min}"
        );
    }
}
