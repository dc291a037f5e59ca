//! The sealed-room protocol: how a client keeps an encrypted room on a
//! server that cannot read it. The server stores opaque records (sealed
//! updates) under increasing sequence numbers and at most one opaque
//! checkpoint (a sealed snapshot) covering the records up to its number,
//! and replays them to whoever opens the room. Clients decrypt and merge;
//! from time to time one uploads a checkpoint, which replaces the records
//! it covers, so storage stays bounded.
//!
//! Messages travel in the same frames as the sync protocol (so any size
//! fits in 16 KiB frames); [`SealedChannel`] reassembles them on either
//! side. The bytes are in `docs/format.md`.

use super::budget::Budget;
use super::frame::{split, FrameError, Reassembly};
use super::session::{SyncError, DEFAULT_MAX_MESSAGE};
use crate::encoding::{Reader, Writer};
use crate::DecodeError;

const OPEN: u8 = 16;
const APPEND: u8 = 17;
const COMPACT: u8 = 18;
const RECORD: u8 = 20;
const CHECKPOINT: u8 = 21;
const CAUGHT_UP: u8 = 22;
const STORED: u8 = 23;
const COMPACTED: u8 = 24;

/// One message of the sealed-room protocol. Bodies are opaque: sealed by
/// the clients with the room key, never read by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealedMessage {
    /// Client: send me the room, past the records up to `after` (which I
    /// merged already; 0: nothing).
    Open {
        /// The last sequence number the client merged.
        after: u64,
    },
    /// Client: store this sealed update as the next record.
    Append {
        /// The sealed update.
        body: Vec<u8>,
    },
    /// Client: this sealed snapshot holds every record up to `covers`;
    /// keep it instead of them.
    Compact {
        /// The last record it covers.
        covers: u64,
        /// The sealed snapshot.
        body: Vec<u8>,
    },
    /// Server: a stored record (another client's append, or replayed).
    Record {
        /// Its sequence number.
        seq: u64,
        /// The sealed update.
        body: Vec<u8>,
    },
    /// Server: the stored checkpoint, covering the records up to `seq`.
    Checkpoint {
        /// The last record it covers.
        seq: u64,
        /// The sealed snapshot.
        body: Vec<u8>,
    },
    /// Server: everything stored when the room was opened has been sent;
    /// `seq` is the last record's number (0: none).
    CaughtUp {
        /// The last record's number.
        seq: u64,
    },
    /// Server: this connection's append is stored (committed) as `seq`.
    Stored {
        /// Its sequence number.
        seq: u64,
    },
    /// Server: a checkpoint covering the records up to `seq` is stored (the
    /// one this connection uploaded, or a newer one).
    Compacted {
        /// The last record it covers.
        seq: u64,
    },
}

impl SealedMessage {
    /// Whether a client sends it (else the server does).
    pub fn from_client(&self) -> bool {
        matches!(
            self,
            SealedMessage::Open { .. }
                | SealedMessage::Append { .. }
                | SealedMessage::Compact { .. }
        )
    }

    /// The message as frames of at most 16 KiB.
    pub fn to_frames(&self) -> Vec<Vec<u8>> {
        let mut w = Writer::default();
        match self {
            SealedMessage::Open { after } => {
                w.bytes(&[OPEN]);
                w.uvar(*after);
            }
            SealedMessage::Append { body } => {
                w.bytes(&[APPEND]);
                w.bytes(body);
            }
            SealedMessage::Compact { covers, body } => {
                w.bytes(&[COMPACT]);
                w.uvar(*covers);
                w.bytes(body);
            }
            SealedMessage::Record { seq, body } => {
                w.bytes(&[RECORD]);
                w.uvar(*seq);
                w.bytes(body);
            }
            SealedMessage::Checkpoint { seq, body } => {
                w.bytes(&[CHECKPOINT]);
                w.uvar(*seq);
                w.bytes(body);
            }
            SealedMessage::CaughtUp { seq } => {
                w.bytes(&[CAUGHT_UP]);
                w.uvar(*seq);
            }
            SealedMessage::Stored { seq } => {
                w.bytes(&[STORED]);
                w.uvar(*seq);
            }
            SealedMessage::Compacted { seq } => {
                w.bytes(&[COMPACTED]);
                w.uvar(*seq);
            }
        }
        split(&w.into_bytes())
    }

    fn decode(message: &[u8]) -> Result<SealedMessage, DecodeError> {
        let mut r = Reader::new(message);
        let kind = r.u8()?;
        let message = match kind {
            OPEN => SealedMessage::Open { after: r.uvar()? },
            APPEND => SealedMessage::Append {
                body: r.rest().to_vec(),
            },
            COMPACT => SealedMessage::Compact {
                covers: r.uvar()?,
                body: r.rest().to_vec(),
            },
            RECORD => SealedMessage::Record {
                seq: r.uvar()?,
                body: r.rest().to_vec(),
            },
            CHECKPOINT => SealedMessage::Checkpoint {
                seq: r.uvar()?,
                body: r.rest().to_vec(),
            },
            CAUGHT_UP => SealedMessage::CaughtUp { seq: r.uvar()? },
            STORED => SealedMessage::Stored { seq: r.uvar()? },
            COMPACTED => SealedMessage::Compacted { seq: r.uvar()? },
            other => return Err(DecodeError::WrongKind(other)),
        };
        if matches!(
            message,
            SealedMessage::Open { .. }
                | SealedMessage::CaughtUp { .. }
                | SealedMessage::Stored { .. }
                | SealedMessage::Compacted { .. }
        ) {
            r.finish()?;
        }
        Ok(message)
    }
}

/// One side of one sealed-room connection: reassembles the frames that
/// arrive into messages, accepting only those of the other side.
#[derive(Debug)]
pub struct SealedChannel {
    reassembly: Reassembly,
    max_message: usize,
    /// Whether this is the client's side (it accepts the server's messages).
    client: bool,
}

impl SealedChannel {
    /// The client's side, accepting messages up to [`DEFAULT_MAX_MESSAGE`]
    /// buffered against `budget`.
    pub fn client(budget: &Budget) -> SealedChannel {
        SealedChannel {
            reassembly: Reassembly::new(budget.clone()),
            max_message: DEFAULT_MAX_MESSAGE,
            client: true,
        }
    }

    /// The server's side, likewise.
    pub fn server(budget: &Budget) -> SealedChannel {
        SealedChannel {
            client: false,
            ..SealedChannel::client(budget)
        }
    }

    /// Handles one frame: the message it completes, if any.
    ///
    /// # Errors
    /// [`SyncError::Protocol`] for bytes that are not this protocol's
    /// (frames, kinds, a message the other side does not send), and
    /// [`SyncError::OverBudget`] as for sync sessions.
    pub fn receive(&mut self, frame: &[u8]) -> Result<Option<SealedMessage>, SyncError> {
        let message = match self.reassembly.push(frame, self.max_message) {
            Ok(Some(message)) => message,
            Ok(None) => return Ok(None),
            Err(FrameError::Invalid(e)) => return Err(SyncError::Protocol(e)),
            Err(FrameError::OverBudget(limit)) => return Err(SyncError::OverBudget { limit }),
        };
        let message = SealedMessage::decode(&message).map_err(SyncError::Protocol)?;
        if message.from_client() == self.client {
            return Err(SyncError::Protocol(DecodeError::InvalidValue(
                "a sealed-room message of the wrong side",
            )));
        }
        Ok(Some(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deliver(to: &mut SealedChannel, m: &SealedMessage) -> Vec<SealedMessage> {
        m.to_frames()
            .iter()
            .filter_map(|f| to.receive(f).unwrap())
            .collect()
    }

    #[test]
    fn messages_round_trip_in_frames_of_any_size() {
        let budget = Budget::default();
        let mut server = SealedChannel::server(&budget);
        let mut client = SealedChannel::client(&budget);
        let big = (0..100_000u32).map(|i| (i * 31) as u8).collect::<Vec<_>>();
        for m in [
            SealedMessage::Open { after: 0 },
            SealedMessage::Open { after: u64::MAX },
            SealedMessage::Append { body: Vec::new() },
            SealedMessage::Append { body: big.clone() },
            SealedMessage::Compact {
                covers: 7,
                body: big.clone(),
            },
        ] {
            assert_eq!(deliver(&mut server, &m), [m]);
        }
        for m in [
            SealedMessage::Record {
                seq: 1,
                body: big.clone(),
            },
            SealedMessage::Checkpoint { seq: 9, body: big },
            SealedMessage::CaughtUp { seq: 0 },
            SealedMessage::Stored { seq: 300 },
            SealedMessage::Compacted { seq: 5 },
        ] {
            assert_eq!(deliver(&mut client, &m), [m]);
        }
    }

    #[test]
    fn each_side_refuses_what_it_would_send_itself_and_garbage() {
        let budget = Budget::default();
        let mut server = SealedChannel::server(&budget);
        let frames = SealedMessage::Stored { seq: 1 }.to_frames();
        assert!(matches!(
            server.receive(&frames[0]),
            Err(SyncError::Protocol(_))
        ));
        let mut client = SealedChannel::client(&budget);
        let frames = SealedMessage::Append { body: vec![1] }.to_frames();
        assert!(matches!(
            client.receive(&frames[0]),
            Err(SyncError::Protocol(_))
        ));
        // An unknown kind, a sync message, trailing bytes, an empty message.
        for message in [vec![99u8], vec![1, 0], vec![OPEN, 0, 0], vec![]] {
            let mut framed = vec![1, 3, message.len() as u8];
            framed.extend(&message);
            assert!(server.receive(&framed).is_err(), "{message:?}");
        }
    }

    #[test]
    fn a_declared_length_over_the_limit_is_refused_before_buffering() {
        let budget = Budget::new(1 << 20);
        let mut server = SealedChannel::server(&budget);
        // First frame of a 1 GiB message.
        let mut frame = vec![1, 1];
        let mut w = Writer::default();
        w.uvar(1 << 30);
        frame.extend(w.into_bytes());
        frame.push(APPEND);
        assert!(matches!(
            server.receive(&frame),
            Err(SyncError::Protocol(_))
        ));
        assert_eq!(budget.used(), 0);
    }
}
