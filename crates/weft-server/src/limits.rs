//! What the server and each connection may do, and the range each limit
//! must lie in (checked before anything is served).

use std::fmt;
use std::time::Duration;

/// Limits that keep one client from hurting the others. Each is named
/// after its command-line flag in [`LimitError`] and `weft-server --help`.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest message, in bytes (SDP offers are a few KiB).
    pub max_message_bytes: usize,
    /// Rooms one connection may be in at once.
    pub max_rooms_per_connection: usize,
    /// Peers one room may hold.
    pub max_peers_per_room: usize,
    /// Peers one room may hold from one address (an IPv4 address or an
    /// IPv6 /64), so that one client cannot fill a room.
    pub max_peers_per_address: usize,
    /// Open WebSocket connections; more are closed with 1013.
    pub max_connections: usize,
    /// Rooms on the server; joining another is refused with `server-full`.
    pub max_rooms: usize,
    /// Messages per second a connection may send, on average...
    pub messages_per_second: f64,
    /// ...and in a burst (ICE candidates come in bursts).
    pub message_burst: f64,
    /// A connection that sends nothing for this long is closed.
    pub idle_timeout: Duration,
    /// A connection that takes longer than this to accept one message is
    /// closed: it stopped reading.
    pub write_timeout: Duration,
    /// Messages queued for one client before more are refused...
    pub queue_messages: usize,
    /// ...and bytes.
    pub queue_bytes: usize,
    /// Bytes queued for all clients together before more are refused.
    pub max_queued_bytes: usize,
    /// Sync frames (16 KiB each at most) a connection may send per second
    /// on average...
    pub sync_frames_per_second: f64,
    /// ...and in a burst (a document uploaded whole comes as one).
    pub sync_frame_burst: f64,
    /// Bytes of sync frames waiting for one client; past them the
    /// connection closes (4001) and its next session starts over.
    pub sync_queue_bytes: usize,
    /// Rooms whose replica is in memory at once; loading another unloads
    /// idle ones first, and is refused (1013) while none is idle.
    pub max_loaded_rooms: usize,
    /// Bytes of sync messages one connection may hold while their frames
    /// arrive (its share of the next): a message larger than this cannot be
    /// received, and a connection that would hold more is closed (1013).
    pub sync_receive_bytes: usize,
    /// ...and all connections together.
    pub max_sync_receive_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 64 * 1024,
            max_rooms_per_connection: 32,
            max_peers_per_room: 64,
            max_peers_per_address: 16,
            max_connections: 10_000,
            max_rooms: 10_000,
            messages_per_second: 100.0,
            message_burst: 500.0,
            idle_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(10),
            queue_messages: 1024,
            queue_bytes: 1024 * 1024,
            max_queued_bytes: 256 * 1024 * 1024,
            sync_frames_per_second: 1000.0,
            // 64 MiB: the largest update a session accepts.
            sync_frame_burst: 4096.0,
            // The largest update, and room for what follows it.
            sync_queue_bytes: 80 << 20,
            max_loaded_rooms: 10_000,
            // The largest message a session accepts: one connection may
            // upload a whole document, two at once hold all there is.
            sync_receive_bytes: weft::sync::DEFAULT_MAX_MESSAGE,
            max_sync_receive_bytes: weft::sync::DEFAULT_BUDGET,
        }
    }
}

/// A limit outside its range, named by its command-line flag.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LimitError {
    /// The flag that sets the limit, e.g. `--idle-timeout-secs`.
    pub flag: &'static str,
    /// The value given.
    pub value: String,
    /// The values allowed.
    pub allowed: String,
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let LimitError {
            flag,
            value,
            allowed,
        } = self;
        write!(f, "{flag} must be {allowed}, not {value}")
    }
}

impl std::error::Error for LimitError {}

/// The longest timeout: a day.
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

impl Limits {
    /// Checks every limit against its range. Timeouts are 1 s to 1 day (so
    /// deadlines never overflow), rates positive and finite, a room holds at
    /// least 2 peers, and a client's queue at least two of the largest
    /// messages (a relayed message is a little larger than the one sent).
    ///
    /// # Errors
    /// The first limit out of range.
    pub fn validate(&self) -> Result<(), LimitError> {
        count(
            "--max-message-bytes",
            self.max_message_bytes,
            1024,
            16 << 20,
        )?;
        count("--max-rooms", self.max_rooms_per_connection, 1, 1024)?;
        count("--max-peers-per-room", self.max_peers_per_room, 2, 100_000)?;
        count(
            "--max-peers-per-address",
            self.max_peers_per_address,
            1,
            100_000,
        )?;
        count("--max-connections", self.max_connections, 1, 1_000_000)?;
        count("--max-total-rooms", self.max_rooms, 1, 10_000_000)?;
        rate_and_burst(
            ("--messages-per-second", self.messages_per_second),
            ("--message-burst", self.message_burst),
        )?;
        seconds("--idle-timeout-secs", self.idle_timeout)?;
        seconds("--write-timeout-secs", self.write_timeout)?;
        count("--queue-messages", self.queue_messages, 1, 1_000_000)?;
        let least = self.max_message_bytes.saturating_mul(2);
        count("--queue-bytes", self.queue_bytes, least, 1 << 30)?;
        count(
            "--max-queued-bytes",
            self.max_queued_bytes,
            self.queue_bytes,
            1 << 40,
        )?;
        rate_and_burst(
            ("--sync-frames-per-second", self.sync_frames_per_second),
            ("--sync-frame-burst", self.sync_frame_burst),
        )?;
        // At least one whole frame, or nothing could be sent.
        count(
            "--sync-queue-bytes",
            self.sync_queue_bytes,
            weft::sync::MAX_FRAME + 16,
            1 << 40,
        )?;
        count("--max-loaded-rooms", self.max_loaded_rooms, 1, 10_000_000)?;
        // A message of two frames at least.
        count(
            "--sync-receive-bytes",
            self.sync_receive_bytes,
            weft::sync::MAX_FRAME,
            1 << 40,
        )?;
        count(
            "--max-sync-receive-bytes",
            self.max_sync_receive_bytes,
            self.sync_receive_bytes,
            1 << 40,
        )
    }
}

fn count(flag: &'static str, value: usize, min: usize, max: usize) -> Result<(), LimitError> {
    if (min..=max).contains(&value) {
        return Ok(());
    }
    Err(LimitError {
        flag,
        value: value.to_string(),
        allowed: format!("from {min} to {max}"),
    })
}

/// A token bucket's rate (above 0, at most a million a second) and burst
/// (1 to a million), each with its flag.
fn rate_and_burst(
    (rate_flag, rate): (&'static str, f64),
    (burst_flag, burst): (&'static str, f64),
) -> Result<(), LimitError> {
    let fits = rate > 0.0 && rate <= 1e6;
    real(rate_flag, rate, fits, "above 0 and at most 1000000")?;
    let fits = (1.0..=1e6).contains(&burst);
    real(burst_flag, burst, fits, "from 1 to 1000000")
}

/// A rate or burst: NaN fails every comparison, so it never `fits`.
fn real(flag: &'static str, value: f64, fits: bool, allowed: &str) -> Result<(), LimitError> {
    if fits {
        return Ok(());
    }
    Err(LimitError {
        flag,
        value: value.to_string(),
        allowed: allowed.to_owned(),
    })
}

fn seconds(flag: &'static str, value: Duration) -> Result<(), LimitError> {
    if (Duration::from_secs(1)..=MAX_TIMEOUT).contains(&value) {
        return Ok(());
    }
    Err(LimitError {
        flag,
        // Whole seconds as the flag takes them; a fraction from the API.
        value: match value.subsec_nanos() {
            0 => value.as_secs().to_string(),
            _ => format!("{value:?}"),
        },
        allowed: format!("from 1 to {} seconds", MAX_TIMEOUT.as_secs()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        Limits::default().validate().unwrap();
    }

    #[test]
    fn limits_out_of_range_name_their_flag() {
        let bad = [
            Limits {
                idle_timeout: Duration::from_secs(u64::MAX),
                ..Limits::default()
            },
            Limits {
                write_timeout: Duration::ZERO,
                ..Limits::default()
            },
            Limits {
                max_peers_per_room: 1,
                ..Limits::default()
            },
            Limits {
                messages_per_second: f64::NAN,
                ..Limits::default()
            },
            Limits {
                message_burst: f64::INFINITY,
                ..Limits::default()
            },
            Limits {
                queue_bytes: 64 * 1024,
                ..Limits::default()
            },
        ];
        let flags: Vec<_> = bad.iter().map(|l| l.validate().unwrap_err().flag).collect();
        assert_eq!(
            flags,
            [
                "--idle-timeout-secs",
                "--write-timeout-secs",
                "--max-peers-per-room",
                "--messages-per-second",
                "--message-burst",
                "--queue-bytes"
            ]
        );
        let error = bad[0].validate().unwrap_err().to_string();
        assert_eq!(
            error,
            "--idle-timeout-secs must be from 1 to 86400 seconds, not 18446744073709551615"
        );
    }
}
