//! Every member at once: joining the rooms, spread over the nodes; then
//! phases in which all of them type at one rate, the coordinator telling
//! them of events, each phase's outcomes added up.

use crate::args::NODES;
use crate::member::{Event, Member, Outcome, Pace, Seat, DRAIN};
use crate::recovery::Recovery;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use weft_bench::harness::client::Wire;
use weft_bench::harness::delivery::RoomLog;
use weft_bench::harness::rng::Rng;
use weft_bench::harness::stats::Latencies;

/// Connections opened at once while joining (a crowd of browsers
/// arriving, not a SYN flood).
const JOINING_AT_ONCE: usize = 50;

/// Every member of `rooms` rooms of `per_room`, member `i` of room `r` on
/// node `(r + i) % NODES`: every room spans nodes. Connected and in sync.
pub async fn join_all(
    wire: Wire,
    nodes: &[SocketAddr],
    rooms: usize,
    per_room: usize,
    rng: &mut Rng,
) -> Result<Vec<Member>, String> {
    let nodes = Arc::new(nodes.to_vec());
    let gate = Arc::new(Semaphore::new(JOINING_AT_ONCE));
    let mut pending = Vec::new();
    for room in 0..rooms {
        let authors = (0..per_room)
            .map(|i| 1 + (room * per_room + i) as u64)
            .collect();
        let log = RoomLog::new(authors);
        for index in 0..per_room {
            let seat = Seat {
                room,
                index,
                node: (room + index) % NODES,
            };
            let (gate, nodes, log) = (gate.clone(), nodes.clone(), log.clone());
            let seed = rng.next_u64();
            pending.push(tokio::spawn(async move {
                let _turn = gate.acquire_owned().await.map_err(|e| e.to_string())?;
                Member::join(wire, nodes, seat, log, seed).await
            }));
        }
    }
    let mut members = Vec::new();
    for p in pending {
        members.push(p.await.map_err(|e| e.to_string())??);
    }
    Ok(members)
}

/// A phase under way.
pub struct Running {
    handles: Vec<JoinHandle<(Member, Outcome)>>,
    events: broadcast::Sender<Event>,
}

/// The members' outcomes added up.
#[derive(Default)]
pub struct Totals {
    pub latencies: Latencies,
    /// Deliveries of timed edits that never arrived.
    pub missing: usize,
    pub edits: usize,
    pub reconnects: usize,
    /// Members whose server had not acknowledged as stored all they held
    /// when the phase ended (`None`: the server's acknowledgements do not
    /// mean stored).
    pub unstored: Option<usize>,
    /// Members that gave up, and the first one's reason.
    pub failed: usize,
    pub first_error: Option<String>,
}

/// Starts a phase: from `start`, every member types `rate` edits per second
/// between them for `typing`, then receives for the drain; edits sent in
/// `window` are timed.
pub fn spawn(
    members: Vec<Member>,
    rate: f64,
    start: Instant,
    typing: Duration,
    window: (Instant, Instant),
    rng: &mut Rng,
    recovery: Option<Arc<Recovery>>,
) -> Running {
    let period = Duration::from_secs_f64(members.len() as f64 / rate);
    let (events, _) = broadcast::channel(16);
    let handles = members
        .into_iter()
        .map(|member| {
            let pace = Pace {
                // Spread over the first period, not all at once.
                first: start + period.mul_f64(rng.below(1000) as f64 / 1000.0),
                period,
                typing_until: start + typing,
                until: start + typing + DRAIN,
                window: (window.0.into_std(), window.1.into_std()),
            };
            tokio::spawn(member.run(pace, events.subscribe(), recovery.clone()))
        })
        .collect();
    Running { handles, events }
}

impl Running {
    /// Tells every member of `event` (none is listening only if every
    /// member's phase ended already).
    pub fn tell(&self, event: Event) {
        let _ = self.events.send(event);
    }

    /// Waits for every member's phase to end.
    pub async fn join(self) -> Result<(Vec<Member>, Totals), String> {
        let mut members = Vec::new();
        let mut totals = Totals::default();
        for handle in self.handles {
            let (member, outcome) = handle.await.map_err(|e| e.to_string())?;
            totals.latencies.extend(outcome.latencies);
            totals.missing += outcome.missing;
            totals.edits += outcome.edits;
            totals.reconnects += outcome.reconnects;
            if let Some(unstored) = outcome.unstored {
                *totals.unstored.get_or_insert(0) += usize::from(unstored);
            }
            if let Some(e) = outcome.error {
                totals.failed += 1;
                totals.first_error.get_or_insert(e);
            }
            members.push(member);
        }
        Ok((members, totals))
    }
}
