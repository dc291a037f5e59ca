//! A Yjs client as y-websocket's and Hocuspocus's providers are: a yrs
//! document synced over the y-sync protocol (`yrs::sync`). y-websocket
//! names the room in the URL and sends the protocol's messages as they
//! are; Hocuspocus prefixes every message with the document's name,
//! wants an authentication message first (empty token, then the provider
//! version, as `@hocuspocus/provider` sends), and acknowledges updates
//! with `SyncStatus` messages of its own.

use tokio_tungstenite::tungstenite::Message;
use yrs::block::ClientID;
use yrs::encoding::read::Read;
use yrs::encoding::write::Write;
use yrs::sync::SyncMessage;
use yrs::updates::decoder::{Decode, DecoderV1};
use yrs::updates::encoder::{Encode, Encoder, EncoderV1};
use yrs::{GetString, OffsetKind, Options, ReadTxn, StateVector, Text, TextRef, Transact, Update};

/// The top-level message types both servers share, and Hocuspocus's own.
const SYNC: u32 = 0;
const AUTH: u32 = 2;
const AUTH_TOKEN: u32 = 0;
const AUTH_DENIED: u32 = 1;
const SYNC_STATUS: u32 = 8;
/// `@hocuspocus/provider`'s version, sent after the token.
const PROVIDER_VERSION: &str = "4.8.0";

/// How messages are wrapped on the wire.
#[derive(Debug, Clone)]
pub enum Framing {
    YWebsocket,
    /// Every message starts with the document's name.
    Hocuspocus(String),
}

pub struct YjsReplica {
    doc: yrs::Doc,
    text: TextRef,
    framing: Framing,
    /// The server's answer to our SyncStep1 arrived.
    synced: bool,
    /// Hocuspocus's acknowledgements: it merged one of our sync messages.
    acks: usize,
}

impl YjsReplica {
    /// An empty document under yjs client id `client`.
    pub fn new(client: u64, framing: Framing) -> YjsReplica {
        let doc = yrs::Doc::with_options(Options {
            client_id: ClientID::new(client),
            offset_kind: OffsetKind::Utf16,
            ..Options::default()
        });
        let text = doc.get_or_insert_text("text");
        YjsReplica {
            doc,
            text,
            framing,
            synced: false,
            acks: 0,
        }
    }

    /// A document holding `state` (a v1 update), under client id `client`.
    pub fn with_state(client: u64, framing: Framing, state: &[u8]) -> Result<YjsReplica, String> {
        let replica = YjsReplica::new(client, framing);
        let update = Update::decode_v1(state).map_err(|e| e.to_string())?;
        replica
            .doc
            .transact_mut()
            .apply_update(update)
            .map_err(|e| e.to_string())?;
        Ok(replica)
    }

    /// Forgets the last connection's handshake.
    pub fn new_connection(&mut self) {
        self.synced = false;
    }

    pub fn start(&mut self) -> Vec<Message> {
        let mut out = Vec::new();
        if let Framing::Hocuspocus(_) = self.framing {
            let mut e = self.encoder();
            e.write_var(AUTH);
            e.write_var(AUTH_TOKEN);
            e.write_string("");
            e.write_string(PROVIDER_VERSION);
            out.push(Message::binary(e.to_vec()));
        }
        let sv = self.doc.transact().state_vector();
        out.push(self.sync(SyncMessage::SyncStep1(sv)));
        out
    }

    pub fn receive(&mut self, message: &Message) -> Result<Vec<Message>, String> {
        let Message::Binary(bytes) = message else {
            return Ok(Vec::new());
        };
        let mut d = DecoderV1::from(&bytes[..]);
        if let Framing::Hocuspocus(name) = &self.framing {
            let got = d.read_string().map_err(|e| e.to_string())?;
            if got != name {
                return Err(format!("a message for document {got:?}"));
            }
        }
        match d.read_var::<u32>().map_err(|e| e.to_string())? {
            SYNC => {
                let message = SyncMessage::decode(&mut d).map_err(|e| e.to_string())?;
                self.on_sync(message)
            }
            AUTH if matches!(self.framing, Framing::Hocuspocus(_)) => {
                if d.read_var::<u32>().map_err(|e| e.to_string())? == AUTH_DENIED {
                    let reason = d.read_string().unwrap_or("");
                    return Err(format!("permission denied: {reason}"));
                }
                Ok(Vec::new())
            }
            SYNC_STATUS if matches!(self.framing, Framing::Hocuspocus(_)) => {
                if d.read_var::<u32>().map_err(|e| e.to_string())? == 1 {
                    self.acks += 1;
                }
                Ok(Vec::new())
            }
            // Awareness and the like: nothing to do.
            _ => Ok(Vec::new()),
        }
    }

    fn on_sync(&mut self, message: SyncMessage) -> Result<Vec<Message>, String> {
        match message {
            SyncMessage::SyncStep1(sv) => {
                let update = self.doc.transact().encode_diff_v1(&sv);
                Ok(vec![self.sync(SyncMessage::SyncStep2(update))])
            }
            SyncMessage::SyncStep2(update) => {
                self.apply(&update)?;
                self.synced = true;
                Ok(Vec::new())
            }
            SyncMessage::Update(update) => {
                self.apply(&update)?;
                Ok(Vec::new())
            }
        }
    }

    fn apply(&mut self, update: &[u8]) -> Result<(), String> {
        let update = Update::decode_v1(update).map_err(|e| e.to_string())?;
        self.doc
            .transact_mut()
            .apply_update(update)
            .map_err(|e| e.to_string())
    }

    pub fn insert(&mut self, pos: usize, text: &str) -> Vec<Message> {
        let update = {
            let mut txn = self.doc.transact_mut();
            self.text.insert(&mut txn, pos as u32, text);
            txn.encode_update_v1()
        };
        vec![self.sync(SyncMessage::Update(update))]
    }

    pub fn delete(&mut self, pos: usize, len: usize) -> Vec<Message> {
        let update = {
            let mut txn = self.doc.transact_mut();
            self.text.remove_range(&mut txn, pos as u32, len as u32);
            txn.encode_update_v1()
        };
        vec![self.sync(SyncMessage::Update(update))]
    }

    pub fn char_count(&self) -> usize {
        self.text.len(&self.doc.transact()) as usize
    }

    pub fn state_vector(&self) -> StateVector {
        self.doc.transact().state_vector()
    }

    pub fn synced(&self) -> bool {
        self.synced
    }

    /// Sync messages Hocuspocus reported merged (y-websocket says nothing).
    pub fn acks(&self) -> usize {
        self.acks
    }

    pub fn text(&self) -> String {
        self.text.get_string(&self.doc.transact())
    }

    fn encoder(&self) -> EncoderV1 {
        let mut e = EncoderV1::new();
        if let Framing::Hocuspocus(name) = &self.framing {
            e.write_string(name);
        }
        e
    }

    fn sync(&self, message: SyncMessage) -> Message {
        let mut e = self.encoder();
        e.write_var(SYNC);
        message.encode(&mut e);
        Message::binary(e.to_vec())
    }
}

/// How much of `client`'s history a state vector holds.
pub fn clock(sv: &StateVector, client: u64) -> u32 {
    sv.get(&ClientID::new(client))
}
