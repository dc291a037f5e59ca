//! A client's side of the sealed-room protocol: what of the document the
//! server holds, what to upload next, and when to upload a checkpoint.
//! Sealing and opening bodies is the caller's (the key never comes here):
//! a `Sealed` event's body is opened by the caller and handed to
//! [`SealedClient::merge`]; a plain update from
//! [`SealedClient::outgoing`] is sealed by the caller and handed to
//! [`SealedClient::append`].

use super::budget::Budget;
use super::sealed::{SealedChannel, SealedMessage};
use super::session::SyncError;
use crate::{Doc, Error, IndexUnit, Patch, Version};
use std::collections::VecDeque;

/// Fewest bytes of records past the checkpoint before a client uploads a
/// new one (below this, replaying records costs less than re-uploading).
const MIN_RECORDS_FOR_CHECKPOINT: usize = 64 * 1024;

/// What a frame from the server completed.
#[derive(Debug, PartialEq, Eq)]
pub enum SealedEvent {
    /// A stored record or checkpoint, sealed: open it and pass it to
    /// [`SealedClient::merge`] with `seq`, in the order they come.
    Sealed {
        /// Its number.
        seq: u64,
        /// The sealed bytes.
        body: Vec<u8>,
    },
    /// Everything stored was sent: uploads may start.
    CaughtUp,
    /// An upload of this client is stored: everything in this version is
    /// on the server's disk.
    Stored(Version),
    /// A checkpoint is stored.
    Compacted,
}

/// One client's state for one encrypted room on one server, kept across
/// reconnections (call [`SealedClient::open`] on each new connection).
#[derive(Debug)]
pub struct SealedClient {
    channel: SealedChannel,
    budget: Budget,
    /// What the server holds or will hold: stored, plus uploads on their way.
    server_has: Version,
    /// What the server has stored, as far as this client knows.
    stored: Version,
    /// The versions of uploads not yet acknowledged, oldest first.
    pending: VecDeque<Version>,
    /// The last record merged or acknowledged.
    last: u64,
    caught_up: bool,
    /// Bytes of records past the latest checkpoint, and that checkpoint's.
    since_checkpoint: usize,
    checkpoint_bytes: usize,
    /// A checkpoint upload is on its way.
    compacting: bool,
}

impl SealedClient {
    /// A client that has nothing of the room yet, buffering against `budget`.
    pub fn new(budget: &Budget) -> SealedClient {
        SealedClient {
            channel: SealedChannel::client(budget),
            budget: budget.clone(),
            server_has: Version::default(),
            stored: Version::default(),
            pending: VecDeque::new(),
            last: 0,
            caught_up: false,
            since_checkpoint: 0,
            checkpoint_bytes: 0,
            compacting: false,
        }
    }

    /// The frames that open the room on a new connection: the server sends
    /// what came after the last record this client merged. Uploads not
    /// acknowledged on the old connection are sent again.
    pub fn open(&mut self) -> Vec<Vec<u8>> {
        self.channel = SealedChannel::client(&self.budget);
        self.server_has = self.stored.clone();
        self.pending.clear();
        self.caught_up = false;
        self.compacting = false;
        SealedMessage::Open { after: self.last }.to_frames()
    }

    /// Handles one frame from the server.
    ///
    /// # Errors
    /// [`SyncError::Protocol`] for bytes that break the protocol (also a
    /// `Stored` for no upload), [`SyncError::OverBudget`].
    pub fn receive(&mut self, frame: &[u8]) -> Result<Option<SealedEvent>, SyncError> {
        let Some(message) = self.channel.receive(frame)? else {
            return Ok(None);
        };
        let protocol = |what| Err(SyncError::Protocol(crate::DecodeError::InvalidValue(what)));
        Ok(Some(match message {
            SealedMessage::Record { seq, body } => {
                self.since_checkpoint += body.len();
                SealedEvent::Sealed { seq, body }
            }
            SealedMessage::Checkpoint { seq, body } => {
                self.checkpoint_bytes = body.len();
                self.since_checkpoint = 0;
                SealedEvent::Sealed { seq, body }
            }
            SealedMessage::CaughtUp { seq } => {
                self.last = self.last.max(seq);
                self.caught_up = true;
                SealedEvent::CaughtUp
            }
            SealedMessage::Stored { seq } => {
                let Some(version) = self.pending.pop_front() else {
                    return protocol("Stored without an upload");
                };
                self.last = self.last.max(seq);
                self.stored.merge(&version);
                SealedEvent::Stored(version)
            }
            SealedMessage::Compacted { .. } => {
                self.compacting = false;
                self.since_checkpoint = 0;
                SealedEvent::Compacted
            }
            _ => return protocol("a client's message from the server"),
        }))
    }

    /// Merges the opened body of a `Sealed` event numbered `seq` into
    /// `doc`: the server has it, stored.
    ///
    /// # Errors
    /// As [`Doc::apply_update`]; nothing is merged then.
    pub fn merge(
        &mut self,
        doc: &mut Doc,
        seq: u64,
        update: &[u8],
        unit: IndexUnit,
    ) -> Result<Vec<Patch>, Error> {
        let (patches, version) = doc.apply_update_in(update, Some(unit))?;
        self.last = self.last.max(seq);
        self.server_has.merge(&version);
        self.stored.merge(&version);
        Ok(patches)
    }

    /// The update the server lacks of `doc` (to seal and pass to
    /// [`SealedClient::append`]), once caught up; `None` when it has
    /// everything.
    ///
    /// # Errors
    /// As [`Doc::encode_update`].
    pub fn outgoing(&mut self, doc: &mut Doc) -> Result<Option<Vec<u8>>, Error> {
        let ours = doc.version();
        if !self.caught_up || self.server_has.includes(&ours) {
            return Ok(None);
        }
        let update = doc.encode_update(&self.server_has)?;
        self.server_has.merge(&ours);
        self.pending.push_back(ours);
        Ok(Some(update))
    }

    /// The frames that upload `sealed` (the last `outgoing` update, sealed).
    pub fn append(&mut self, sealed: Vec<u8>) -> Vec<Vec<u8>> {
        self.since_checkpoint += sealed.len();
        SealedMessage::Append { body: sealed }.to_frames()
    }

    /// Whether to upload a checkpoint: caught up, and the records past the
    /// latest one outweigh it (and 64 KiB).
    pub fn wants_checkpoint(&self) -> bool {
        self.caught_up
            && !self.compacting
            && self.since_checkpoint >= MIN_RECORDS_FOR_CHECKPOINT.max(self.checkpoint_bytes)
    }

    /// The frames that upload `sealed`, a sealed snapshot of the document
    /// taken after every record so far was merged: it covers them.
    pub fn compact(&mut self, sealed: Vec<u8>) -> Vec<Vec<u8>> {
        self.compacting = true;
        self.checkpoint_bytes = sealed.len();
        SealedMessage::Compact {
            covers: self.last,
            body: sealed,
        }
        .to_frames()
    }

    /// What the server has stored, as far as this client knows.
    pub fn stored(&self) -> &Version {
        &self.stored
    }

    /// Whether everything stored was received on this connection.
    pub fn is_caught_up(&self) -> bool {
        self.caught_up
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::rng::Rng;
    use crate::IndexUnit::CodePoint;

    /// A server keeping one room in memory, as weft-server does (bodies are
    /// not sealed here: sealing is the caller's and changes nothing).
    #[derive(Default)]
    struct Server {
        records: Vec<(u64, Vec<u8>)>,
        checkpoint: Option<(u64, Vec<u8>)>,
        last: u64,
    }

    impl Server {
        /// Answers one client's frames: (to it, to the others).
        fn handle(&mut self, frames: Vec<Vec<u8>>) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
            let mut channel = SealedChannel::server(&Budget::default());
            let (mut back, mut others) = (Vec::new(), Vec::new());
            for f in frames {
                let Some(m) = channel.receive(&f).unwrap() else {
                    continue;
                };
                match m {
                    SealedMessage::Open { after } => {
                        let mut from = after;
                        if let Some((seq, body)) = self.checkpoint.clone().filter(|c| c.0 > after) {
                            from = seq;
                            back.extend(SealedMessage::Checkpoint { seq, body }.to_frames());
                        }
                        for (seq, body) in self.records.iter().filter(|r| r.0 > from) {
                            let record = SealedMessage::Record {
                                seq: *seq,
                                body: body.clone(),
                            };
                            back.extend(record.to_frames());
                        }
                        back.extend(SealedMessage::CaughtUp { seq: self.last }.to_frames());
                    }
                    SealedMessage::Append { body } => {
                        self.last += 1;
                        self.records.push((self.last, body.clone()));
                        back.extend(SealedMessage::Stored { seq: self.last }.to_frames());
                        others.extend(
                            SealedMessage::Record {
                                seq: self.last,
                                body,
                            }
                            .to_frames(),
                        );
                    }
                    SealedMessage::Compact { covers, body } => {
                        self.records.retain(|r| r.0 > covers);
                        self.checkpoint = Some((covers, body));
                        back.extend(SealedMessage::Compacted { seq: covers }.to_frames());
                    }
                    other => panic!("{other:?}"),
                }
            }
            (back, others)
        }
    }

    /// Feeds `frames` to a client, merging what they bring; returns its
    /// uploads (and a checkpoint when it wants one).
    fn feed(client: &mut SealedClient, doc: &mut Doc, frames: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        for f in frames {
            if let Some(SealedEvent::Sealed { seq, body }) = client.receive(&f).unwrap() {
                client.merge(doc, seq, &body, CodePoint).unwrap();
            }
        }
        upload(client, doc)
    }

    fn upload(client: &mut SealedClient, doc: &mut Doc) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if let Some(update) = client.outgoing(doc).unwrap() {
            out.extend(client.append(update));
        }
        if client.wants_checkpoint() {
            out.extend(client.compact(doc.encode_snapshot().unwrap()));
        }
        out
    }

    #[test]
    fn clients_converge_through_a_server_that_only_stores_and_replays() {
        let mut rng = Rng::new(11);
        let mut server = Server::default();
        let budget = Budget::default();
        let mut docs = [Doc::new(1), Doc::new(2)];
        let mut clients = [SealedClient::new(&budget), SealedClient::new(&budget)];
        for i in 0..2 {
            let open = clients[i].open();
            let (back, _) = server.handle(open);
            let up = feed(&mut clients[i], &mut docs[i], back);
            assert!(up.is_empty());
        }
        for round in 0..400 {
            let i = rng.below(2);
            let len = docs[i].len(CodePoint);
            let text = format!("{i}{}", rng.text(300));
            docs[i]
                .insert(rng.below(len + 1), &text, CodePoint)
                .unwrap();
            if round % 50 == 49 {
                // A reconnect: whatever was not acknowledged goes again.
                let open = clients[i].open();
                let (back, _) = server.handle(open);
                let up = feed(&mut clients[i], &mut docs[i], back);
                let (back, others) = server.handle(up);
                feed(&mut clients[i], &mut docs[i], back);
                feed(&mut clients[1 - i], &mut docs[1 - i], others);
                continue;
            }
            let up = upload(&mut clients[i], &mut docs[i]);
            let (back, others) = server.handle(up);
            let more = feed(&mut clients[i], &mut docs[i], back);
            let (back2, others2) = server.handle(more);
            feed(&mut clients[i], &mut docs[i], back2);
            let reply = feed(
                &mut clients[1 - i],
                &mut docs[1 - i],
                [others, others2].concat(),
            );
            let (back, others) = server.handle(reply);
            feed(&mut clients[1 - i], &mut docs[1 - i], back);
            feed(&mut clients[i], &mut docs[i], others);
        }
        assert_eq!(docs[0].to_string(), docs[1].to_string());
        assert!(docs[0].len(CodePoint) > 10_000);
        // Checkpoints kept the records bounded.
        assert!(server.checkpoint.is_some());
        let stored: usize = server.records.iter().map(|r| r.1.len()).sum();
        assert!(stored < 64 * 1024 + docs[0].encode_snapshot().unwrap().len());
        // Everything uploaded is acknowledged.
        assert!(clients[0].stored().includes(&docs[0].version()));
        // A late joiner gets the checkpoint and the records after it.
        let mut late = Doc::new(3);
        let mut client = SealedClient::new(&budget);
        let open = client.open();
        let (back, _) = server.handle(open);
        assert!(feed(&mut client, &mut late, back).is_empty());
        assert_eq!(late.to_string(), docs[0].to_string());
        late.check_invariants();
    }

    #[test]
    fn a_stored_report_without_an_upload_is_refused() {
        let mut client = SealedClient::new(&Budget::default());
        client.open();
        let frames = SealedMessage::Stored { seq: 1 }.to_frames();
        assert!(matches!(
            client.receive(&frames[0]),
            Err(SyncError::Protocol(_))
        ));
    }
}
