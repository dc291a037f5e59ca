//! One client: a replica of its room connected to one node, typing at the
//! pace it is given, merging what arrives, and moving on to the next node
//! when its node fails, as the providers do (Weft's rotates over its list
//! of server URLs; the Hocuspocus client does the same here).

use crate::recovery::Recovery;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::{sleep, sleep_until, timeout, Instant};
use weft_bench::harness::client::{connect, Client, Replica, Wire};
use weft_bench::harness::delivery::{Receiver, RoomLog, Scope};
use weft_bench::harness::stats::Latencies;
use weft_bench::harness::typing::{Keystroke, Typist};

/// How long one connection attempt (socket, join) may take.
const CONNECT_LIMIT: Duration = Duration::from_secs(5);
/// Pause once every node failed in a row (a provider backs off then).
const ROUND_BACKOFF: Duration = Duration::from_millis(250);
/// A client that cannot reconnect for this long gives up.
const GIVE_UP: Duration = Duration::from_secs(30);
/// After typing stops, how long what is in flight may take to arrive
/// before it counts as missing.
pub const DRAIN: Duration = Duration::from_secs(2);

/// Where a member is: its room, its place in the room, its node.
#[derive(Debug, Clone, Copy)]
pub struct Seat {
    pub room: usize,
    pub index: usize,
    pub node: usize,
}

pub struct Member {
    pub seat: Seat,
    wire: Wire,
    nodes: Arc<Vec<SocketAddr>>,
    client: Client,
    connected: bool,
    typist: Typist,
    receiver: Receiver,
    log: Arc<RoomLog>,
}

/// When a member types during a phase.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub first: Instant,
    pub period: Duration,
    /// No keystrokes from then on (but events still type).
    pub typing_until: Instant,
    /// The phase ends: what arrived by then arrived.
    pub until: Instant,
    /// Edits sent within it are timed.
    pub window: (std::time::Instant, std::time::Instant),
}

/// What the coordinator of a phase tells every member.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    /// Type one letter now: members on that node, or all.
    Type(Option<usize>),
    /// Stop typing; the phase ends after the drain.
    Stop,
}

/// What a member's phase came to.
#[derive(Default)]
pub struct Outcome {
    pub latencies: Latencies,
    pub missing: usize,
    /// Keystrokes sent in the window.
    pub edits: usize,
    pub reconnects: usize,
    /// The server had not acknowledged as stored all this member holds
    /// when the phase ended (`None`: its acknowledgements do not say).
    pub unstored: Option<bool>,
    pub error: Option<String>,
}

fn room_name(room: usize) -> String {
    format!("scale-{room}")
}

fn peer_name(index: usize) -> String {
    format!("p{index}")
}

impl Member {
    /// Connects to `seat.node` as author `log.author(seat.index)` and waits
    /// until in sync.
    pub async fn join(
        wire: Wire,
        nodes: Arc<Vec<SocketAddr>>,
        seat: Seat,
        log: Arc<RoomLog>,
        seed: u64,
    ) -> Result<Member, String> {
        let room = room_name(seat.room);
        let replica = Replica::empty(wire, &room, log.author(seat.index));
        let peer = peer_name(seat.index);
        let mut client = connect(wire, nodes[seat.node], &room, &peer, replica).await?;
        client.until(GIVE_UP, |r| r.synced()).await?;
        let mut receiver = Receiver::new(seat.index, log.clone(), Scope::OtherNodes);
        receiver.at_node(seat.node);
        Ok(Member {
            seat,
            wire,
            nodes,
            client,
            connected: true,
            typist: Typist::new(seed),
            receiver,
            log,
        })
    }

    pub fn author(&self) -> u64 {
        self.log.author(self.seat.index)
    }

    /// The text of this member's replica.
    pub fn text(&self) -> String {
        self.client.replica.text()
    }

    /// Types, merges and reconnects as `pace` and `events` say, reporting
    /// to `recovery` if given.
    pub async fn run(
        mut self,
        pace: Pace,
        mut events: broadcast::Receiver<Event>,
        recovery: Option<Arc<Recovery>>,
    ) -> (Member, Outcome) {
        let mut phase = Phase {
            pace,
            next: pace.first,
            outcome: Outcome::default(),
            recovery,
            resyncing: false,
            events_open: true,
        };
        if let Err(e) = self.exchange(&mut phase, &mut events).await {
            phase.outcome.error = Some(e);
        }
        phase.outcome.latencies = std::mem::take(&mut self.receiver.latencies);
        phase.outcome.missing = self.receiver.missing(pace.window);
        phase.outcome.unstored = self.client.replica.stored().map(|stored| !stored);
        (self, phase.outcome)
    }

    async fn exchange(
        &mut self,
        phase: &mut Phase,
        events: &mut broadcast::Receiver<Event>,
    ) -> Result<(), String> {
        loop {
            if !self.connected {
                // What the coordinator asked for meanwhile is typed
                // offline, as a browser's user goes on typing.
                while let Ok(event) = events.try_recv() {
                    self.on_event(event, phase).await;
                }
                self.reconnect(phase).await?;
            }
            tokio::select! {
                _ = sleep_until(phase.next), if phase.next < phase.pace.typing_until => {
                    let keystroke = self.typist.type_one(&mut self.client.replica);
                    self.sent(keystroke, phase).await;
                    phase.next += phase.pace.period;
                }
                message = self.client.recv(), if self.connected => {
                    let merged = match message {
                        Ok(message) => self.client.handle(message).await,
                        Err(e) => Err(e),
                    };
                    match merged {
                        Ok(()) => self.merged(phase),
                        // The node failed or dropped us: the next one.
                        Err(_) => self.connected = false,
                    }
                }
                event = events.recv(), if phase.events_open => match event {
                    Ok(event) => self.on_event(event, phase).await,
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => phase.events_open = false,
                },
                _ = sleep_until(phase.pace.until) => return Ok(()),
            }
        }
    }

    async fn on_event(&mut self, event: Event, phase: &mut Phase) {
        match event {
            Event::Type(node) if node.is_none_or(|n| n == self.seat.node) => {
                let keystroke = self.typist.insert_one(&mut self.client.replica);
                self.sent(keystroke, phase).await;
            }
            Event::Type(_) => {}
            Event::Stop => {
                let now = Instant::now();
                phase.pace.typing_until = now;
                phase.pace.until = phase.pace.until.min(now + DRAIN);
            }
        }
    }

    /// Notes a keystroke typed into the replica and sends it if connected.
    async fn sent(&mut self, keystroke: Keystroke, phase: &mut Phase) {
        let at = std::time::Instant::now();
        if keystroke.inserted {
            let author = self.log.author(self.seat.index);
            let count = self.client.replica.clocks().get(author);
            self.log.sent(self.seat.index, count, at, self.seat.node);
            if let Some(recovery) = &phase.recovery {
                recovery.typed(self.seat.room, self.seat.index, count, at);
            }
        }
        if at >= phase.pace.window.0 && at < phase.pace.window.1 {
            phase.outcome.edits += 1;
        }
        if self.connected && self.client.send(keystroke.messages).await.is_err() {
            self.connected = false;
        }
    }

    fn merged(&mut self, phase: &mut Phase) {
        let clocks = self.client.replica.clocks();
        self.receiver.merged(&clocks, phase.pace.window);
        let Some(recovery) = &phase.recovery else {
            return;
        };
        let now = std::time::Instant::now();
        if phase.resyncing && self.client.replica.synced() {
            phase.resyncing = false;
            recovery.resynced(self.seat.room, self.seat.index, now);
        }
        recovery.merged(self.seat.room, self.seat.index, &clocks, now);
    }

    /// Moves to the next node at once, each in turn, pausing only after
    /// every node failed in a row.
    async fn reconnect(&mut self, phase: &mut Phase) -> Result<(), String> {
        let started = Instant::now();
        let room = room_name(self.seat.room);
        let peer = peer_name(self.seat.index);
        let mut failed = 0;
        loop {
            self.seat.node = (self.seat.node + 1) % self.nodes.len();
            let addr = self.nodes[self.seat.node];
            let attempt = self.client.reconnect(self.wire, addr, &room, &peer);
            match timeout(CONNECT_LIMIT, attempt).await {
                Ok(Ok(())) => {
                    self.connected = true;
                    self.receiver.at_node(self.seat.node);
                    phase.resyncing = true;
                    phase.outcome.reconnects += 1;
                    return Ok(());
                }
                Ok(Err(e)) if started.elapsed() > GIVE_UP => {
                    return Err(format!("no node took the client back: {e}"))
                }
                Err(_) if started.elapsed() > GIVE_UP => {
                    return Err("no node took the client back: timed out".to_owned())
                }
                _ => failed += 1,
            }
            if failed % self.nodes.len() == 0 {
                sleep(ROUND_BACKOFF).await;
            }
        }
    }
}

/// A member's state within one phase.
struct Phase {
    pace: Pace,
    next: Instant,
    outcome: Outcome,
    recovery: Option<Arc<Recovery>>,
    /// Reconnected, handshake not complete yet.
    resyncing: bool,
    events_open: bool,
}
