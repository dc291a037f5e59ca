//! What recovery after a node's SIGKILL is measured by. Right after the
//! kill every client types one letter (the victims, the clients of the
//! killed node, typed one just before it too). A victim has recovered once
//! it has reconnected to another node, it has every other member's letter
//! typed after the kill, and every other member has its own (so its
//! letter from just before the kill too: counts only grow). Recovery is
//! the time from the kill until the last victim has recovered.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use weft_bench::harness::client::Clocks;

pub struct Recovery {
    kill: OnceLock<Instant>,
    rooms: Vec<Mutex<Room>>,
}

struct Room {
    authors: Vec<u64>,
    /// Whether each member was on the killed node.
    victim: Vec<bool>,
    /// Each author's count after its first letter typed after the kill.
    target: Vec<Option<u64>>,
    /// `[receiver][author]`: when the receiver first held the target.
    reached: Vec<Vec<Option<Instant>>>,
    /// When each victim's handshake with another node completed.
    resynced: Vec<Option<Instant>>,
}

/// The figures, from the kill.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub victims: usize,
    /// Victims in sync again, as defined above.
    pub recovered: usize,
    /// Until the last victim recovered (`None` unless all did).
    pub all: Option<Duration>,
    /// The median victim's.
    pub median: Option<Duration>,
    /// Until the last victim's handshake with another node completed.
    pub resynced: Option<Duration>,
}

impl Recovery {
    /// `rooms`: each room's authors, and whether each is a victim.
    pub fn new(rooms: Vec<(Vec<u64>, Vec<bool>)>) -> Recovery {
        let rooms = rooms
            .into_iter()
            .map(|(authors, victim)| {
                let n = authors.len();
                Mutex::new(Room {
                    authors,
                    victim,
                    target: vec![None; n],
                    reached: vec![vec![None; n]; n],
                    resynced: vec![None; n],
                })
            })
            .collect();
        Recovery {
            kill: OnceLock::new(),
            rooms,
        }
    }

    /// The node was killed now.
    pub fn killed(&self) {
        let _ = self.kill.set(Instant::now());
    }

    fn after_kill(&self, at: Instant) -> bool {
        self.kill.get().is_some_and(|&k| at > k)
    }

    /// `member` typed a letter, bringing its count to `count` (called
    /// before the letter is sent, so no receiver can have it yet).
    pub fn typed(&self, room: usize, member: usize, count: u64, at: Instant) {
        if self.after_kill(at) {
            let mut room = self.rooms[room].lock().expect("not poisoned");
            room.target[member].get_or_insert(count);
        }
    }

    /// `member` merged what arrived and now holds `clocks`.
    pub fn merged(&self, room: usize, member: usize, clocks: &Clocks, at: Instant) {
        if !self.after_kill(at) {
            return;
        }
        let mut room = self.rooms[room].lock().expect("not poisoned");
        for author in 0..room.authors.len() {
            let Some(target) = room.target[author] else {
                continue;
            };
            if author != member
                && room.reached[member][author].is_none()
                && clocks.get(room.authors[author]) >= target
            {
                room.reached[member][author] = Some(at);
            }
        }
    }

    /// `member` completed a handshake with another node after losing its
    /// own.
    pub fn resynced(&self, room: usize, member: usize, at: Instant) {
        if self.after_kill(at) {
            let mut room = self.rooms[room].lock().expect("not poisoned");
            room.resynced[member].get_or_insert(at);
        }
    }

    /// Whether every member of every room has every other's target.
    pub fn done(&self) -> bool {
        self.rooms.iter().all(|room| {
            let room = room.lock().expect("not poisoned");
            (0..room.authors.len())
                .all(|r| (0..room.authors.len()).all(|a| r == a || room.reached[r][a].is_some()))
        })
    }

    pub fn figures(&self) -> Figures {
        let Some(&kill) = self.kill.get() else {
            return Figures::default();
        };
        let mut times = Vec::new();
        let mut victims = 0;
        let mut resynced = Some(Duration::ZERO);
        for room in &self.rooms {
            let room = room.lock().expect("not poisoned");
            let n = room.authors.len();
            for v in (0..n).filter(|&v| room.victim[v]) {
                victims += 1;
                resynced = resynced
                    .zip(room.resynced[v])
                    .map(|(d, at)| d.max(at - kill));
                let both_ways = (0..n)
                    .filter(|&m| m != v)
                    .map(|m| room.reached[v][m].zip(room.reached[m][v]))
                    .map(|pair| pair.map(|(got, gave)| got.max(gave)))
                    .try_fold(kill, |last, at| at.map(|at| last.max(at)));
                if let Some(at) = both_ways {
                    times.push(at - kill);
                }
            }
        }
        times.sort_unstable();
        Figures {
            victims,
            recovered: times.len(),
            all: (times.len() == victims).then(|| times.last().copied().unwrap_or_default()),
            median: times.get(times.len() / 2).copied(),
            resynced: resynced.filter(|_| victims > 0),
        }
    }
}
