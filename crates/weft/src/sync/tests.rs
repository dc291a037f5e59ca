//! The protocol over a simulated network: 2 to 8 peers, frames delivered in
//! order per connection but in any order across connections, connections
//! cut and reopened (so everything is sent again), partitions, and peers
//! that are not directly connected. Everyone converges.

use super::*;
use crate::tests::rng::Rng;
use crate::{Doc, IndexUnit::CodePoint};
use std::collections::{BTreeMap, VecDeque};

/// A connection between peers `a < b`: a session at each end and a queue of
/// frames in each direction.
struct Link {
    sessions: [Session; 2],
    queues: [VecDeque<Vec<u8>>; 2], // [0]: a -> b, [1]: b -> a
}

struct Net {
    docs: Vec<Doc>,
    links: BTreeMap<(usize, usize), Link>,
    frames_seen: usize,
}

impl Net {
    fn new(n: usize, seed: u64) -> Net {
        Net {
            docs: (0..n).map(|i| Doc::new(seed * 100 + i as u64)).collect(),
            links: BTreeMap::new(),
            frames_seen: 0,
        }
    }

    fn connect(&mut self, a: usize, b: usize) {
        let (a, b) = (a.min(b), a.max(b));
        if a == b || self.links.contains_key(&(a, b)) {
            return;
        }
        let mut link = Link {
            sessions: [Session::new(), Session::new()],
            queues: Default::default(),
        };
        link.queues[0].extend(link.sessions[0].start(&self.docs[a]));
        link.queues[1].extend(link.sessions[1].start(&self.docs[b]));
        self.links.insert((a, b), link);
    }

    /// After peer `p`'s document changed, every session of it sends what its
    /// peer may lack.
    fn push_from(&mut self, p: usize) {
        for (&(a, b), link) in self.links.iter_mut() {
            let side = if a == p {
                0
            } else if b == p {
                1
            } else {
                continue;
            };
            let frames = link.sessions[side].outgoing(&self.docs[p]);
            link.queues[side].extend(frames);
        }
    }

    fn edit(&mut self, rng: &mut Rng, p: usize) {
        rng.edit(&mut self.docs[p], 35, 6, 5);
        self.push_from(p);
    }

    /// Delivers the next frame on a random busy direction of a random link.
    fn deliver(&mut self, rng: &mut Rng) -> bool {
        let busy: Vec<((usize, usize), usize)> = self
            .links
            .iter()
            .flat_map(|(&k, l)| {
                (0..2)
                    .filter(|&d| !l.queues[d].is_empty())
                    .map(move |d| (k, d))
            })
            .collect();
        if busy.is_empty() {
            return false;
        }
        let &((a, b), dir) = rng.pick(&busy);
        let to = if dir == 0 { b } else { a };
        let link = self.links.get_mut(&(a, b)).expect("busy link");
        let frame = link.queues[dir].pop_front().expect("busy");
        assert!(frame.len() <= MAX_FRAME);
        self.frames_seen += 1;
        let received = link.sessions[1 - dir]
            .receive(&mut self.docs[to], &frame, CodePoint)
            .expect("valid frames");
        link.queues[1 - dir].extend(received.frames);
        if !received.patches.is_empty() {
            self.push_from(to);
        }
        true
    }

    fn quiesce(&mut self, rng: &mut Rng) {
        while self.deliver(rng) {}
    }
}

fn run(seed: u64, steps: usize) {
    let mut rng = Rng::new(seed);
    let n = 2 + rng.below(7);
    let mut net = Net::new(n, seed);
    for a in 0..n {
        for b in a + 1..n {
            if rng.chance(60) {
                net.connect(a, b);
            }
        }
    }
    for _ in 0..steps {
        match rng.below(12) {
            0..=3 => {
                let p = rng.below(n);
                net.edit(&mut rng, p);
            }
            4..=8 => {
                net.deliver(&mut rng);
            }
            9 => {
                // Cut a connection; frames in flight are lost.
                if let Some(&k) = net.links.keys().nth(rng.below(net.links.len().max(1))) {
                    net.links.remove(&k);
                }
            }
            10 => {
                // Partition: cut every link across a random split.
                let side: Vec<bool> = (0..n).map(|_| rng.chance(50)).collect();
                net.links.retain(|&(a, b), _| side[a] == side[b]);
            }
            _ => {
                let (a, b) = (rng.below(n), rng.below(n));
                net.connect(a, b);
            }
        }
    }
    // Heal: a path through every peer suffices, changes are forwarded.
    for p in 1..n {
        net.connect(p - 1, p);
    }
    net.quiesce(&mut rng);
    for d in &net.docs {
        d.check_invariants();
        assert_eq!(
            d.to_string(),
            net.docs[0].to_string(),
            "seed {seed}: peers diverged"
        );
        assert_eq!(d.version(), net.docs[0].version());
    }
}

#[test]
fn peers_converge_over_a_lossy_changing_network() {
    for seed in 0..40 {
        run(seed, 300);
    }
}

#[test]
#[ignore = "soak: many more seeds and steps"]
fn peers_converge_soak() {
    for seed in 1000..1200 {
        run(seed, 3000);
    }
}

#[test]
fn a_late_joiner_receives_a_megabyte_in_small_frames() {
    let mut rng = Rng::new(1);
    let mut net = Net::new(2, 77);
    // Random letters: deflate cannot shrink them below many frames' worth.
    let big: String = (0..1_100_000)
        .map(|_| {
            if rng.chance(2) {
                '\n'
            } else {
                (b'a' + rng.below(26) as u8) as char
            }
        })
        .collect();
    net.docs[0].insert(0, &big, CodePoint).unwrap();
    net.connect(0, 1);
    net.quiesce(&mut rng);
    assert_eq!(net.docs[1].len(CodePoint), big.len());
    assert_eq!(net.docs[1].to_string(), big);
    assert!(
        net.frames_seen > 500_000 / MAX_FRAME,
        "split into frames ({} seen)",
        net.frames_seen
    );
}

#[test]
fn a_reconnect_resumes_with_only_what_is_missing() {
    let mut rng = Rng::new(2);
    let mut net = Net::new(2, 5);
    net.docs[0].insert(0, "shared history ", CodePoint).unwrap();
    net.connect(0, 1);
    net.quiesce(&mut rng);
    net.links.clear();
    net.docs[0].insert(0, "A", CodePoint).unwrap();
    net.docs[1].insert(0, "B", CodePoint).unwrap();
    net.connect(0, 1);
    let bytes: usize = net
        .links
        .values()
        .flat_map(|l| l.queues.iter().flatten())
        .map(Vec::len)
        .sum();
    net.quiesce(&mut rng);
    assert_eq!(net.docs[0].to_string(), net.docs[1].to_string());
    assert_eq!(net.docs[0].len(CodePoint), "shared history ".len() + 2);
    assert!(bytes < 100, "hellos only at first ({bytes} bytes)");
}

#[test]
fn garbage_frames_are_refused_and_change_nothing() {
    let mut doc = Doc::new(1);
    doc.insert(0, "keep", CodePoint).unwrap();
    let hello = Session::new().start(&Doc::new(2));
    let mut rng = Rng::new(3);
    let cases: Vec<Vec<u8>> = vec![
        vec![],
        vec![9, 3, 0],                   // unknown protocol version
        vec![PROTOCOL_VERSION, 0, 1, 2], // continuation without a first frame
        vec![PROTOCOL_VERSION, 3, 0xff, 0xff, 0xff, 0xff, 0x7f], // declared too long
        vec![PROTOCOL_VERSION, 3, 2, 9, 9], // unknown message kind
        vec![PROTOCOL_VERSION, 3, 3, 2, 1, 2], // an update that is not one
        vec![PROTOCOL_VERSION, 3, 5, 1], // shorter than declared
        vec![0; MAX_FRAME + 1],
    ];
    for frame in cases.into_iter().chain((0..200).map(|_| {
        let mut f = hello[0].clone();
        let i = rng.below(f.len());
        f[i] ^= 1 << rng.below(8);
        f
    })) {
        let mut s = Session::new();
        let before = doc.version();
        if let Err(e) = s.receive(&mut doc, &frame, CodePoint) {
            assert!(!e.to_string().is_empty());
        }
        assert_eq!(doc.version(), before);
        assert_eq!(doc.to_string(), "keep");
    }
}

#[test]
fn frames_round_trip_at_every_size_boundary() {
    for len in [
        0,
        1,
        MAX_FRAME - 13,
        MAX_FRAME - 12,
        MAX_FRAME - 2,
        MAX_FRAME - 1,
        MAX_FRAME,
        3 * MAX_FRAME + 5,
    ] {
        let msg: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let frames = frame::split(&msg);
        assert!(frames.iter().all(|f| f.len() <= MAX_FRAME));
        let mut r = frame::Reassembly::default();
        let mut out = None;
        for (i, f) in frames.iter().enumerate() {
            let got = r.push(f, 1 << 20).unwrap();
            assert_eq!(got.is_some(), i == frames.len() - 1);
            out = got.or(out);
        }
        assert_eq!(out.unwrap(), msg);
    }
}

#[test]
fn synced_only_after_the_answer_to_our_hello_even_when_nothing_is_missing() {
    let mut rng = Rng::new(4);
    let mut net = Net::new(2, 6);
    net.docs[0].insert(0, "only here", CodePoint).unwrap();
    net.connect(0, 1);
    let synced = |net: &Net| {
        let link = &net.links[&(0, 1)];
        [link.sessions[0].is_synced(), link.sessions[1].is_synced()]
    };
    assert_eq!(synced(&net), [false, false]);
    net.quiesce(&mut rng);
    assert_eq!(synced(&net), [true, true]);
    assert_eq!(net.docs[1].to_string(), "only here");

    // Both sides already equal: the answers are empty updates, still answers.
    net.links.clear();
    net.connect(0, 1);
    net.quiesce(&mut rng);
    assert_eq!(synced(&net), [true, true]);
}

#[test]
fn presence_arrives_as_opaque_bytes_and_oversized_states_are_refused() {
    let (mut a, mut b) = (Doc::new(1), Doc::new(2));
    let (mut sa, mut sb) = (Session::new(), Session::new());
    let mut to_b: Vec<Vec<u8>> = sa.start(&a);
    to_b.extend(sa.presence(b"{\"name\":\"Ada\"}").unwrap());
    let _ = sb.start(&b);
    let mut got = None;
    for frame in &to_b {
        let received = sb.receive(&mut b, frame, CodePoint).unwrap();
        got = received.presence.or(got);
    }
    assert_eq!(got.as_deref(), Some(&b"{\"name\":\"Ada\"}"[..]));
    assert!(sa.presence(&vec![0; MAX_PRESENCE + 1]).is_none());

    // A peer that sends an oversized presence anyway is refused.
    let mut m = vec![3u8];
    m.extend(vec![0; MAX_PRESENCE + 1]);
    let mut refused = false;
    for frame in frame::split(&m) {
        refused |= sa.receive(&mut a, &frame, CodePoint).is_err();
    }
    assert!(refused);
}
