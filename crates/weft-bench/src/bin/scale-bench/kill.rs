//! The recovery scenario: while every member types at a modest rate, node
//! 1 is killed with SIGKILL; its clients move to the next node. Measured
//! as `recovery` says; then whether every room's replicas ended equal.

use crate::member::{Event, Member};
use crate::phase::{self, Totals};
use crate::recovery::{Figures, Recovery};
use crate::side::Side;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{sleep, sleep_until, Instant};
use weft_bench::harness::rng::Rng;

/// The node killed: the first (clients of each room are on every node).
pub const KILLED: usize = 0;
/// Typing before the kill, so the rooms are busy when it comes.
const SETTLE: Duration = Duration::from_secs(2);
/// The victims' letters "just before" the kill: sent, maybe not relayed.
const JUST_BEFORE: Duration = Duration::from_millis(20);
/// Recovery is given up on after this long.
const LIMIT: Duration = Duration::from_secs(30);

pub struct KillResult {
    pub figures: Figures,
    pub totals: Totals,
    /// Rooms whose members' texts differ once typing stopped and what was
    /// in flight arrived.
    pub diverged: usize,
}

pub async fn run(
    members: Vec<Member>,
    side: &mut Side,
    rate: f64,
    rng: &mut Rng,
) -> Result<(Vec<Member>, KillResult), String> {
    let mut rooms: BTreeMap<usize, (Vec<u64>, Vec<bool>)> = BTreeMap::new();
    for m in &members {
        let (authors, victims) = rooms.entry(m.seat.room).or_default();
        authors.push(m.author());
        victims.push(m.seat.node == KILLED);
    }
    let recovery = Arc::new(Recovery::new(rooms.into_values().collect()));
    let start = Instant::now() + Duration::from_millis(100);
    // Nothing is timed: the window is empty.
    let running = phase::spawn(
        members,
        rate,
        start,
        SETTLE + LIMIT,
        (start, start),
        rng,
        Some(recovery.clone()),
    );
    sleep_until(start + SETTLE).await;
    running.tell(Event::Type(Some(KILLED)));
    sleep(JUST_BEFORE).await;
    recovery.killed();
    side.kill(KILLED);
    running.tell(Event::Type(None));
    let killed = Instant::now();
    while !recovery.done() && killed.elapsed() < LIMIT {
        sleep(Duration::from_millis(10)).await;
    }
    running.tell(Event::Stop);
    let (members, totals) = running.join().await?;
    let diverged = diverged_rooms(&members);
    Ok((
        members,
        KillResult {
            figures: recovery.figures(),
            totals,
            diverged,
        },
    ))
}

fn diverged_rooms(members: &[Member]) -> usize {
    let mut texts: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for m in members {
        texts.entry(m.seat.room).or_default().push(m.text());
    }
    texts
        .values()
        .filter(|t| t.iter().any(|text| text != &t[0]))
        .count()
}
