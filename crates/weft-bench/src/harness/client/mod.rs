//! Clients that behave like browsers of each server: a replica of one
//! room's document, synced over that server's own protocol on one
//! WebSocket.

pub mod weft;
pub mod yjs;

use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use weft::WeftReplica;
use yjs::{Framing, YjsReplica};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Which server, hence which protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    Weft,
    Hocuspocus,
    YWebsocket,
}

impl Wire {
    /// The server's name in tables and messages.
    pub fn name(self) -> &'static str {
        match self {
            Wire::Weft => "weft-server",
            Wire::Hocuspocus => "hocuspocus",
            Wire::YWebsocket => "y-websocket",
        }
    }

    /// A shorter name, for ratio columns.
    pub fn short(self) -> &'static str {
        match self {
            Wire::Weft => "weft",
            Wire::Hocuspocus => "hocus",
            Wire::YWebsocket => "y-ws",
        }
    }
}

/// A client's document, in the protocol of its server.
pub enum Replica {
    // Boxed: a Weft replica is several times a yrs handle's size.
    Weft(Box<WeftReplica>),
    Yjs(YjsReplica),
}

/// How much of each author's history a replica holds: a Weft version or
/// a yrs state vector. Both count operations, so an edit is "there" once
/// its author's count reaches what it was right after the edit.
pub enum Clocks {
    Weft(::weft::Version),
    Yjs(::yrs::StateVector),
}

impl Clocks {
    pub fn get(&self, author: u64) -> u64 {
        match self {
            Clocks::Weft(v) => u64::from(v.get(author)),
            Clocks::Yjs(sv) => u64::from(yjs::clock(sv, author)),
        }
    }
}

impl Replica {
    /// An empty replica with author id `id` for a room on `wire`.
    pub fn empty(wire: Wire, room: &str, id: u64) -> Replica {
        match wire {
            Wire::Weft => Replica::Weft(Box::new(WeftReplica::new(::weft::Doc::new(id)))),
            Wire::Hocuspocus => Replica::Yjs(YjsReplica::new(id, framing(wire, room))),
            Wire::YWebsocket => Replica::Yjs(YjsReplica::new(id, framing(wire, room))),
        }
    }

    pub fn receive(&mut self, message: &Message) -> Result<Vec<Message>, String> {
        match self {
            Replica::Weft(r) => r.receive(message),
            Replica::Yjs(r) => r.receive(message),
        }
    }

    pub fn insert(&mut self, pos: usize, text: &str) -> Vec<Message> {
        match self {
            Replica::Weft(r) => r.insert(pos, text),
            Replica::Yjs(r) => r.insert(pos, text),
        }
    }

    pub fn delete(&mut self, pos: usize, len: usize) -> Vec<Message> {
        match self {
            Replica::Weft(r) => r.delete(pos, len),
            Replica::Yjs(r) => r.delete(pos, len),
        }
    }

    /// Length in characters.
    pub fn char_count(&self) -> usize {
        match self {
            Replica::Weft(r) => r.char_count(),
            Replica::Yjs(r) => r.char_count(),
        }
    }

    pub fn clocks(&self) -> Clocks {
        match self {
            Replica::Weft(r) => Clocks::Weft(r.version()),
            Replica::Yjs(r) => Clocks::Yjs(r.state_vector()),
        }
    }

    /// The handshake with the server is done: this replica has what the
    /// server had when it answered.
    pub fn synced(&self) -> bool {
        match self {
            Replica::Weft(r) => r.synced(),
            Replica::Yjs(r) => r.synced(),
        }
    }

    pub fn text(&self) -> String {
        match self {
            Replica::Weft(r) => r.text(),
            Replica::Yjs(r) => r.text(),
        }
    }

    /// Whether the server acknowledged as stored everything this replica
    /// holds; `None` where acknowledgements do not mean stored (Yjs
    /// servers acknowledge what they merged in memory).
    pub fn stored(&self) -> Option<bool> {
        match self {
            Replica::Weft(r) => Some(r.stored()),
            Replica::Yjs(_) => None,
        }
    }
}

pub fn framing(wire: Wire, room: &str) -> Framing {
    match wire {
        Wire::Hocuspocus => Framing::Hocuspocus(room.to_owned()),
        _ => Framing::YWebsocket,
    }
}

/// One connected client.
pub struct Client {
    pub ws: Socket,
    pub replica: Replica,
}

/// Connects `replica` to the server at `addr` as a browser would, joins
/// `room` as `peer` and starts the sync handshake (without waiting for it).
pub async fn connect(
    wire: Wire,
    addr: SocketAddr,
    room: &str,
    peer: &str,
    mut replica: Replica,
) -> Result<Client, String> {
    let ws = open(wire, addr, room, peer, &mut replica).await?;
    Ok(Client { ws, replica })
}

/// A socket to the server at `addr`, joined to `room` as `peer`, with
/// `replica`'s half of the handshake sent.
async fn open(
    wire: Wire,
    addr: SocketAddr,
    room: &str,
    peer: &str,
    replica: &mut Replica,
) -> Result<Socket, String> {
    let path = match wire {
        Wire::Weft => "signal".to_owned(),
        Wire::Hocuspocus => String::new(),
        Wire::YWebsocket => room.to_owned(),
    };
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (mut ws, _) = tokio_tungstenite::client_async(
        format!("ws://{addr}/{path}"),
        MaybeTlsStream::Plain(stream),
    )
    .await
    .map_err(|e| format!("connecting to {addr}: {e}"))?;
    let start = match replica {
        Replica::Weft(r) => {
            r.new_connection();
            ws.send(WeftReplica::join(room, peer))
                .await
                .map_err(|e| e.to_string())?;
            while !r.joined(&next(&mut ws).await?)? {}
            r.start()
        }
        Replica::Yjs(r) => {
            r.new_connection();
            r.start()
        }
    };
    for message in start {
        ws.feed(message).await.map_err(|e| e.to_string())?;
    }
    ws.flush().await.map_err(|e| e.to_string())?;
    Ok(ws)
}

/// The next message (pings are answered by the library).
async fn next(ws: &mut Socket) -> Result<Message, String> {
    match ws.next().await {
        Some(Ok(message)) => Ok(message),
        Some(Err(e)) => Err(e.to_string()),
        None => Err("the server closed the connection".to_owned()),
    }
}

impl Client {
    /// Moves to the server at `addr`, as a provider does when its server
    /// fails: joins `room` as `peer` again and starts a new handshake. The
    /// replica keeps everything, edits made while disconnected included,
    /// and the handshake sends the server what it lacks.
    pub async fn reconnect(
        &mut self,
        wire: Wire,
        addr: SocketAddr,
        room: &str,
        peer: &str,
    ) -> Result<(), String> {
        self.ws = open(wire, addr, room, peer, &mut self.replica).await?;
        Ok(())
    }

    pub async fn send(&mut self, messages: Vec<Message>) -> Result<(), String> {
        for message in messages {
            self.ws.feed(message).await.map_err(|e| e.to_string())?;
        }
        self.ws.flush().await.map_err(|e| e.to_string())
    }

    /// The next message from the server.
    pub async fn recv(&mut self) -> Result<Message, String> {
        next(&mut self.ws).await
    }

    /// Merges `message` and sends the answer.
    pub async fn handle(&mut self, message: Message) -> Result<(), String> {
        if let Message::Close(frame) = &message {
            return Err(format!("closed by the server: {frame:?}"));
        }
        let answer = self.replica.receive(&message)?;
        self.send(answer).await
    }

    /// Reads one message, merges it and sends the answer.
    pub async fn step(&mut self) -> Result<(), String> {
        let message = self.recv().await?;
        self.handle(message).await
    }

    /// Handles messages until `done` holds (at most `limit`).
    pub async fn until(
        &mut self,
        limit: Duration,
        done: impl Fn(&Replica) -> bool,
    ) -> Result<(), String> {
        tokio::time::timeout(limit, async {
            while !done(&self.replica) {
                self.step().await?;
            }
            Ok(())
        })
        .await
        .map_err(|_| format!("not done within {limit:?}"))?
    }
}
