//! One side of one connection.

use super::budget::Budget;
use super::frame::{split, FrameError, Reassembly};
use crate::update::{empty_update, holds_operations};
use crate::{DecodeError, Doc, Error, IndexUnit, Patch, Version};
use std::fmt;

const HELLO: u8 = 1;
const UPDATE: u8 = 2;
const PRESENCE: u8 = 3;
const DURABLE: u8 = 4;

/// Largest presence state a session accepts or sends: presence is a name, a
/// colour and a few positions, not a channel for documents.
pub const MAX_PRESENCE: usize = 64 * 1024;

/// Largest message a session accepts by default: 64 MiB (an update or
/// snapshot of a document of tens of millions of characters).
pub const DEFAULT_MAX_MESSAGE: usize = 64 << 20;

/// Why a session refused what arrived. The connection should be closed (and
/// may be reopened with a new session); the document is unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncError {
    /// The bytes are not a valid frame or message of this protocol.
    Protocol(DecodeError),
    /// A complete update that could not be merged.
    Update(Error),
    /// This document's own history could not be read: the snapshot it was
    /// loaded from has an invalid one (see [`Doc::finish_loading`]).
    History(Error),
    /// The message arriving would take the sessions sharing this session's
    /// [`Budget`] over its limit, or over the limit of the whole budget it
    /// is a share of (messages on other connections are arriving
    /// meanwhile). Not necessarily the peer's fault: a new connection may
    /// try again.
    OverBudget {
        /// The limit in bytes of the budget that has too little left.
        limit: usize,
    },
    /// The peer may only read (see [`Session::peer_reads_only`]) and sent
    /// an update holding operations; none was merged.
    ReadOnly,
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncError::Protocol(e) => write!(f, "sync protocol violation: {e}"),
            SyncError::Update(e) => write!(f, "sync update rejected: {e}"),
            SyncError::History(e) => write!(f, "this document's history is unreadable: {e}"),
            SyncError::OverBudget { limit } => write!(
                f,
                "messages arriving would hold more than the {limit} bytes their budget allows"
            ),
            SyncError::ReadOnly => write!(f, "the peer may only read, yet sent changes"),
        }
    }
}

impl std::error::Error for SyncError {}

/// What a received frame led to.
#[derive(Debug, Default)]
pub struct Received {
    /// Frames to send back on this connection.
    pub frames: Vec<Vec<u8>>,
    /// Visible changes merged into the document (then other sessions should
    /// be asked for their `outgoing` frames).
    pub patches: Vec<Patch>,
    /// The peer's new presence state, opaque bytes (the latest replaces any
    /// earlier one).
    pub presence: Option<Vec<u8>>,
    /// A version the peer reported stored durably (everything in it is on
    /// its disk; the latest report includes the earlier ones).
    pub durable: Option<Version>,
    /// A snapshot the document would adopt whole, not applied: to be
    /// checked elsewhere ([`Doc::check_snapshot`]), then given to
    /// [`Session::adopt_checked`] (see
    /// [`Session::checking_snapshots_elsewhere`]).
    pub to_check: Option<Vec<u8>>,
}

/// The sync state of one connection.
#[derive(Debug)]
pub struct Session {
    reassembly: Reassembly,
    hello_sent: bool,
    /// What the peer is known to have: its `Hello`, plus what was sent to it
    /// and received from it. `None` until its `Hello` arrives.
    peer_has: Option<Version>,
    /// Whether the peer's answer to our `Hello` arrived.
    answered: bool,
    /// A presence state asked for before our `Hello` went out: it follows
    /// the `Hello` (nothing precedes a `Hello`).
    presence_waiting: Option<Vec<u8>>,
    /// Likewise a durable report asked for before our `Hello`.
    durable_waiting: Option<Version>,
    max_message: usize,
    /// Whether this side sends its operations (false: it may only read).
    sends: bool,
    /// Whether the peer's operations are merged (false: it may only read).
    accepts: bool,
    /// Snapshots of at least this many bytes that the document would adopt
    /// are handed back to be checked elsewhere.
    check_elsewhere_from: Option<usize>,
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

impl Session {
    /// A session for a new connection, accepting messages up to
    /// [`DEFAULT_MAX_MESSAGE`], with a budget of its own (see
    /// [`Session::with_budget`] to share one).
    pub fn new() -> Session {
        Session::with_max_message(DEFAULT_MAX_MESSAGE)
    }

    /// A session accepting messages up to `max_message` bytes.
    pub fn with_max_message(max_message: usize) -> Session {
        Session {
            reassembly: Reassembly::default(),
            hello_sent: false,
            peer_has: None,
            answered: false,
            presence_waiting: None,
            durable_waiting: None,
            max_message,
            sends: true,
            accepts: true,
            check_elsewhere_from: None,
        }
    }

    /// This session, buffering the messages it receives against `budget`,
    /// shared with the other sessions it is given to (those of one
    /// document, or of a whole program): they cannot hold more than its
    /// limit between them.
    pub fn with_budget(mut self, budget: &Budget) -> Session {
        self.reassembly = Reassembly::new(budget.clone());
        self
    }

    /// This session, for a side that may only read (a role granted by the
    /// server): it sends none of its operations, so edits made on this side
    /// stay here. Its answer to the peer's `Hello` is an empty update, which
    /// still tells the peer it is in sync.
    pub fn reads_only(mut self) -> Session {
        self.sends = false;
        self
    }

    /// This session, for a peer that may only read: an update from it that
    /// holds any operation is refused with [`SyncError::ReadOnly`] before
    /// anything is merged. (Its empty answers, presence and durable reports
    /// are accepted.)
    pub fn peer_reads_only(mut self) -> Session {
        self.accepts = false;
        self
    }

    /// Whether the handshake is done both ways: the peer's `Hello` arrived,
    /// and so did its answer to ours, so this side has everything the peer
    /// had when it answered.
    pub fn is_synced(&self) -> bool {
        self.peer_has.is_some() && self.answered
    }

    /// Frames that tell the peer this side's presence state (opaque bytes,
    /// at most [`MAX_PRESENCE`]; longer states are refused with `None`).
    /// Before this side's `Hello` no frames: the state follows the `Hello`.
    pub fn presence(&mut self, state: &[u8]) -> Option<Vec<Vec<u8>>> {
        if state.len() > MAX_PRESENCE {
            return None;
        }
        if !self.hello_sent {
            self.presence_waiting = Some(state.to_vec());
            return Some(Vec::new());
        }
        Some(message(PRESENCE, state))
    }

    /// Frames that tell the peer everything in `version` is stored durably
    /// on this side (a tab that wrote it to disk, a server that committed
    /// it). Before this side's `Hello` no frames: the report follows it.
    pub fn durable(&mut self, version: &Version) -> Vec<Vec<u8>> {
        if !self.hello_sent {
            self.durable_waiting = Some(version.clone());
            return Vec::new();
        }
        message(DURABLE, &version.encode())
    }

    /// The frames to send when the connection opens: this side's `Hello`
    /// (again when called again: a peer that already has it answers
    /// nothing new).
    pub fn start(&mut self, doc: &Doc) -> Vec<Vec<u8>> {
        self.hello(doc)
    }

    /// Hands back, unapplied, every snapshot of at least `from_bytes` bytes
    /// that the document would adopt whole (it has no history):
    /// `Received::to_check`. Checking a large one takes long (a second for
    /// 10 MB in a browser), which the page's thread must not spend: a
    /// Worker checks it, then [`Session::adopt_checked`] adopts it. The
    /// caller handles no other frame of this session meanwhile.
    pub fn checking_snapshots_elsewhere(mut self, from_bytes: usize) -> Session {
        self.check_elsewhere_from = Some(from_bytes);
        self
    }

    /// Applies `snapshot`, handed back by `receive` and found valid by
    /// [`Doc::check_snapshot`], as that `receive` would have: adopted
    /// without checking it again if the document still has no history,
    /// else merged (and checked) as any.
    ///
    /// # Errors
    /// As [`Session::receive`] for an update that cannot merge.
    pub fn adopt_checked(
        &mut self,
        doc: &mut Doc,
        snapshot: &[u8],
        unit: IndexUnit,
    ) -> Result<Received, SyncError> {
        let (patches, sent) = doc
            .apply_checked_snapshot(snapshot, Some(unit))
            .map_err(SyncError::Update)?;
        self.received_from_peer(&sent);
        Ok(Received {
            patches,
            ..Received::default()
        })
    }

    /// The peer sent what `sent` says it has up to.
    fn received_from_peer(&mut self, sent: &Version) {
        if let Some(has) = &mut self.peer_has {
            has.merge(sent);
            self.answered = true;
        }
    }

    fn hello(&mut self, doc: &Doc) -> Vec<Vec<u8>> {
        self.hello_sent = true;
        let mut frames = message(HELLO, &doc.version().encode());
        if let Some(state) = self.presence_waiting.take() {
            frames.extend(message(PRESENCE, &state));
        }
        if let Some(version) = self.durable_waiting.take() {
            frames.extend(message(DURABLE, &version.encode()));
        }
        frames
    }

    /// Handles one frame from the peer, merging what it completes into `doc`
    /// (patches indexed in `unit`).
    ///
    /// # Errors
    /// A [`SyncError`] for bytes that break the protocol (an `Update` or
    /// `Presence` before the peer's `Hello` among them) or an update that
    /// cannot merge; nothing is changed then.
    pub fn receive(
        &mut self,
        doc: &mut Doc,
        frame: &[u8],
        unit: IndexUnit,
    ) -> Result<Received, SyncError> {
        self.receive_in(doc, frame, Some(unit))
    }

    /// [`Session::receive`] for a replica whose text nobody watches (a
    /// server's): no patches are worked out, which saves a tree walk per
    /// change merged.
    ///
    /// # Errors
    /// As [`Session::receive`].
    pub fn receive_unwatched(
        &mut self,
        doc: &mut Doc,
        frame: &[u8],
    ) -> Result<Received, SyncError> {
        self.receive_in(doc, frame, None)
    }

    fn receive_in(
        &mut self,
        doc: &mut Doc,
        frame: &[u8],
        unit: Option<IndexUnit>,
    ) -> Result<Received, SyncError> {
        let msg = match self.reassembly.push(frame, self.max_message) {
            Ok(Some(msg)) => msg,
            Ok(None) => return Ok(Received::default()),
            Err(FrameError::Invalid(e)) => return Err(SyncError::Protocol(e)),
            Err(FrameError::OverBudget(limit)) => return Err(SyncError::OverBudget { limit }),
        };
        let (&kind, body) = msg
            .split_first()
            .ok_or(SyncError::Protocol(DecodeError::UnexpectedEnd))?;
        if kind != HELLO && self.peer_has.is_none() {
            return Err(SyncError::Protocol(DecodeError::InvalidValue(
                "a message before the peer's Hello",
            )));
        }
        let mut out = Received::default();
        match kind {
            HELLO => {
                let theirs = Version::decode(body).map_err(SyncError::Protocol)?;
                if !self.hello_sent {
                    out.frames.extend(self.hello(doc));
                }
                out.frames.extend(self.answer(doc, theirs)?);
            }
            UPDATE => {
                if !self.accepts && holds_operations(body).map_err(SyncError::Update)? {
                    return Err(SyncError::ReadOnly);
                }
                if self.check_elsewhere_from.is_some_and(|n| body.len() >= n)
                    && doc.would_adopt(body)
                {
                    out.to_check = Some(body.to_vec());
                    return Ok(out);
                }
                let (patches, sent) = doc.apply_update_in(body, unit).map_err(SyncError::Update)?;
                out.patches = patches;
                self.received_from_peer(&sent);
            }
            PRESENCE => {
                if body.len() > MAX_PRESENCE {
                    return Err(SyncError::Protocol(DecodeError::LengthTooLarge {
                        declared: body.len() as u64,
                        max: MAX_PRESENCE as u64,
                    }));
                }
                out.presence = Some(body.to_vec());
            }
            DURABLE => {
                let stored = Version::decode(body).map_err(SyncError::Protocol)?;
                // What the peer stored, it has: not sent to it again.
                if let Some(has) = &mut self.peer_has {
                    has.merge(&stored);
                }
                out.durable = Some(stored);
            }
            other => return Err(SyncError::Protocol(DecodeError::WrongKind(other))),
        }
        Ok(out)
    }

    /// The answer to the peer's `Hello` with version `theirs`. The first is
    /// always answered, even with an empty update: the answer is how the
    /// peer learns it is in sync. A peer with nothing gets a snapshot: the
    /// same operations, loaded in O(n) instead of merged one by one.
    ///
    /// A later `Hello` (a peer repeats its own until answered) gets only
    /// what this session has not sent and the peer did not have, usually
    /// nothing: frames on a connection arrive in order, so what was sent
    /// arrives, and the first answer is on its way. So no request costs
    /// more than its own size again, but the first `Hello`.
    fn answer(&mut self, doc: &mut Doc, theirs: Version) -> Result<Vec<Vec<u8>>, SyncError> {
        if !self.sends {
            // Nothing of ours goes out, but the answer still does.
            let first = self.peer_has.is_none();
            self.peer_has
                .get_or_insert_with(Version::default)
                .merge(&theirs);
            return Ok(if first {
                message(UPDATE, &empty_update())
            } else {
                Vec::new()
            });
        }
        let ours = doc.version();
        if let Some(has) = &mut self.peer_has {
            has.merge(&theirs);
            if has.includes(&ours) {
                return Ok(Vec::new());
            }
            let update = doc.encode_update(has).map_err(SyncError::History)?;
            has.merge(&ours);
            return Ok(message(UPDATE, &update));
        }
        // A loaded snapshot's history stays encoded while only snapshots
        // are sent (a document nobody changes since it was loaded); later
        // updates reach back no further than what the peer then has.
        let update = if theirs.is_empty() && !ours.is_empty() {
            doc.encode_snapshot()
        } else {
            doc.finish_loading()
                .and_then(|()| doc.encode_update(&theirs))
        }
        .map_err(SyncError::History)?;
        let mut has = theirs;
        has.merge(&ours);
        self.peer_has = Some(has);
        Ok(message(UPDATE, &update))
    }

    /// Frames with whatever the peer may lack after `doc` changed (locally or
    /// from another peer). Empty until the handshake is done, or when the
    /// peer has everything.
    pub fn outgoing(&mut self, doc: &mut Doc) -> Vec<Vec<u8>> {
        self.outgoing_shared(doc, &mut SharedOutgoing::default())
    }

    /// [`Session::outgoing`] for one of many sessions of `doc` after one
    /// change: sessions whose peers had the same version share one encoded
    /// update (on a server, every peer of a room in sync: one encoding per
    /// edit instead of one per peer). Use a new `shared` after each change.
    pub fn outgoing_shared(&mut self, doc: &mut Doc, shared: &mut SharedOutgoing) -> Vec<Vec<u8>> {
        if !self.sends {
            return Vec::new();
        }
        let Some(has) = &mut self.peer_has else {
            return Vec::new();
        };
        if has.includes(shared.ours.get_or_insert_with(|| doc.version())) {
            return Vec::new();
        }
        // The peer has what the handshake sent (the loaded snapshot's
        // history included), so an update since then needs none of a
        // snapshot's history: this does not fail. Were it to, nothing is
        // sent and the next call tries again.
        let Ok(encoded) = shared.encoded_since(doc, has) else {
            return Vec::new();
        };
        let frames = encoded
            .frames
            .get_or_insert_with(|| message(UPDATE, &encoded.update))
            .clone();
        if let Some(ours) = &shared.ours {
            has.merge(ours);
        }
        frames
    }
}

/// What sessions of one document share after a change (see
/// [`Session::outgoing_shared`]): its version, and the last update
/// encoded with the version it was encoded from.
#[derive(Debug, Default)]
pub struct SharedOutgoing {
    ours: Option<Version>,
    last: Option<Encoded>,
}

/// An update from `since` to the document's version, and its frames once
/// a session needed them.
#[derive(Debug)]
struct Encoded {
    since: Version,
    update: Vec<u8>,
    frames: Option<Vec<Vec<u8>>>,
}

impl SharedOutgoing {
    /// For a document whose version (after the change) the caller has
    /// already: not computed again.
    pub fn at(version: Version) -> SharedOutgoing {
        SharedOutgoing {
            ours: Some(version),
            last: None,
        }
    }

    /// The update from `since` to `doc`'s version: the one a session was
    /// sent if it was encoded from `since`, else encoded now (and shared
    /// with the sessions after). A server relaying a change to other
    /// servers sends what its clients were sent, encoded once. From
    /// nothing it is a snapshot, which applies wherever an update does and
    /// costs a copy where a snapshot was merged whole and not changed since
    /// (an update from nothing would decode its whole history).
    ///
    /// # Errors
    /// As [`Doc::encode_update`].
    pub fn update_since(&mut self, doc: &mut Doc, since: &Version) -> Result<&[u8], Error> {
        Ok(&self.encoded_since(doc, since)?.update)
    }

    fn encoded_since(&mut self, doc: &mut Doc, since: &Version) -> Result<&mut Encoded, Error> {
        let encoded = match self.last.take() {
            Some(e) if e.since == *since => e,
            _ => Encoded {
                update: if since.is_empty() {
                    doc.encode_snapshot()?
                } else {
                    doc.encode_update(since)?
                },
                since: since.clone(),
                frames: None,
            },
        };
        Ok(self.last.insert(encoded))
    }
}

fn message(kind: u8, body: &[u8]) -> Vec<Vec<u8>> {
    let mut m = Vec::with_capacity(body.len() + 1);
    m.push(kind);
    m.extend_from_slice(body);
    split(&m)
}
