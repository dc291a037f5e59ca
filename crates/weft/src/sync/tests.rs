//! The protocol over a simulated network: 2 to 8 peers, frames delivered in
//! order per connection but in any order across connections, connections
//! cut and reopened (so everything is sent again), partitions, and peers
//! that are not directly connected. Everyone converges.

use super::*;
use crate::tests::rng::Rng;
use crate::{DecodeError, Doc, IndexUnit::CodePoint, Version};
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
    /// peer may lack (sessions whose peers had the same version share one
    /// encoded update, as on a server).
    fn push_from(&mut self, p: usize) {
        let mut shared = SharedOutgoing::default();
        for (&(a, b), link) in self.links.iter_mut() {
            let side = if a == p {
                0
            } else if b == p {
                1
            } else {
                continue;
            };
            let frames = link.sessions[side].outgoing_shared(&mut self.docs[p], &mut shared);
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
fn a_loaded_document_answers_a_new_peer_without_decoding_its_history() {
    let mut net = Net::new(2, 12);
    let mut source = Doc::new(3);
    for i in 0..300 {
        let at = (i * 7) % (source.len(CodePoint) + 1);
        source.insert(at, "ab", CodePoint).unwrap();
        if i % 3 == 0 {
            source.delete(at, 1, CodePoint).unwrap();
        }
    }
    net.docs[0] = Doc::from_snapshot(&source.encode_snapshot().unwrap(), 4).unwrap();
    net.connect(0, 1);
    net.quiesce(&mut Rng::new(3));
    assert_eq!(net.docs[1].to_string(), source.to_string());
    assert_eq!(net.docs[1].version(), source.version());
    assert!(net.docs[0].history.is_encoded());
    // Later changes reach the new peer as updates, either way.
    net.docs[0].insert(0, "A", CodePoint).unwrap();
    net.docs[1].insert(0, "B", CodePoint).unwrap();
    net.push_from(0);
    net.push_from(1);
    net.quiesce(&mut Rng::new(4));
    assert_eq!(net.docs[0].to_string(), net.docs[1].to_string());
    net.docs[1].check_invariants();
}

#[test]
fn a_new_peer_keeps_the_snapshot_it_adopted_encoded() {
    let mut net = Net::new(2, 12);
    let mut source = Doc::new(3);
    for i in 0..300 {
        let at = (i * 5) % (source.len(CodePoint) + 1);
        source.insert(at, "xy", CodePoint).unwrap();
    }
    net.docs[0] = Doc::from_snapshot(&source.encode_snapshot().unwrap(), 4).unwrap();
    net.connect(0, 1);
    net.quiesce(&mut Rng::new(5));
    assert_eq!(net.docs[1].to_string(), source.to_string());
    // Adopting checks a decoded copy and keeps its own encoded, and the
    // peer's Hello, answered with nothing new, decodes nothing either.
    assert!(net.docs[1].history.is_encoded());
    assert!(net.docs[0].history.is_encoded());
    net.docs[1].insert(0, "B", CodePoint).unwrap();
    net.push_from(1);
    net.quiesce(&mut Rng::new(6));
    assert_eq!(net.docs[0].to_string(), net.docs[1].to_string());
    net.docs[0].check_invariants();
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

    // A peer that sends an oversized presence anyway (after its Hello) is
    // refused.
    let hello_b = Session::new().start(&b);
    for frame in &hello_b {
        sa.receive(&mut a, frame, CodePoint).unwrap();
    }
    let mut m = vec![3u8];
    m.extend(vec![0; MAX_PRESENCE + 1]);
    let mut refused = false;
    for frame in frame::split(&m) {
        refused |= sa.receive(&mut a, &frame, CodePoint).is_err();
    }
    assert!(refused);
}

/// Frames of one message of `kind`.
fn frames_of(kind: u8, body: &[u8]) -> Vec<Vec<u8>> {
    let mut m = vec![kind];
    m.extend_from_slice(body);
    frame::split(&m)
}

fn bytes(frames: &[Vec<u8>]) -> usize {
    frames.iter().map(Vec::len).sum()
}

#[test]
fn repeated_hellos_are_answered_in_full_once() {
    let mut doc = Doc::new(1);
    doc.insert(0, &"a document worth answering ".repeat(2000), CodePoint)
        .unwrap();
    let before = doc.version();
    for hello in [Version::new(), before.clone()] {
        let mut s = Session::new();
        let request = frames_of(1, &hello.encode());
        let mut answers = Vec::new();
        for _ in 0..200 {
            for f in &request {
                answers.push(bytes(&s.receive(&mut doc, f, CodePoint).unwrap().frames));
            }
        }
        let (first, rest) = answers.split_first().unwrap();
        assert!(*first > 0, "the first Hello is answered");
        let per_request = bytes(&request);
        assert!(
            rest.iter().all(|&n| n <= 2 * per_request),
            "a repeated Hello costs at most twice its size: {:?}",
            &rest[..4]
        );
        assert_eq!(rest.iter().sum::<usize>(), 0, "nothing new to say");
    }
    // A Hello claiming less than was sent gets nothing again; one after a
    // change gets only the change.
    let mut s = Session::new();
    let empty = frames_of(1, &Version::new().encode());
    s.receive(&mut doc, &empty[0], CodePoint).unwrap();
    doc.insert(0, "new", CodePoint).unwrap();
    let answer = s.receive(&mut doc, &empty[0], CodePoint).unwrap().frames;
    assert!(bytes(&answer) < 100, "only the change: {}", bytes(&answer));
    assert!(bytes(&s.receive(&mut doc, &empty[0], CodePoint).unwrap().frames) == 0);
    assert_eq!(doc.version().get(1), before.get(1) + 3);
}

#[test]
fn nothing_is_accepted_before_the_peers_hello() {
    let mut a = Doc::new(1);
    a.insert(0, "from a", CodePoint).unwrap();
    let update = a.encode_update(&Version::new()).unwrap();
    let durable = a.version().encode();
    for (kind, body) in [(2u8, &update[..]), (3, &b"{}"[..]), (4, &durable[..])] {
        let mut b = Doc::new(2);
        let mut s = Session::new();
        let _ = s.start(&b);
        let err = s
            .receive(&mut b, &frames_of(kind, body)[0], CodePoint)
            .unwrap_err();
        assert!(matches!(err, SyncError::Protocol(_)), "{err}");
        assert!(b.is_empty());
    }
}

#[test]
fn presence_asked_for_before_the_hello_follows_it() {
    let (mut a, mut b) = (Doc::new(1), Doc::new(2));
    let (mut sa, mut sb) = (Session::new(), Session::new());
    // `b` answers: it has not said Hello when its presence is set.
    assert_eq!(sb.presence(b"{\"name\":\"Bo\"}"), Some(Vec::new()));
    let mut to_b = sa.start(&a);
    let mut to_a = Vec::new();
    let mut presence = None;
    while !to_b.is_empty() || !to_a.is_empty() {
        for f in std::mem::take(&mut to_b) {
            to_a.extend(sb.receive(&mut b, &f, CodePoint).unwrap().frames);
        }
        for f in std::mem::take(&mut to_a) {
            let r = sa.receive(&mut a, &f, CodePoint).unwrap();
            presence = r.presence.or(presence);
            to_b.extend(r.frames);
        }
    }
    assert_eq!(presence.as_deref(), Some(&b"{\"name\":\"Bo\"}"[..]));
    assert!(sa.is_synced() && sb.is_synced());
}

#[test]
fn durable_reports_arrive_as_versions_and_count_as_what_the_peer_has() {
    let (mut a, mut b) = (Doc::new(1), Doc::new(2));
    let (mut sa, mut sb) = (Session::new(), Session::new());
    // Asked for before `a`'s Hello: it follows the Hello.
    a.insert(0, "stored by a", CodePoint).unwrap();
    assert!(sa.durable(&a.version()).is_empty());
    let mut to_b = sa.start(&a);
    let mut to_a = sb.start(&b);
    let mut reported = None;
    while !to_b.is_empty() || !to_a.is_empty() {
        for f in std::mem::take(&mut to_b) {
            let r = sb.receive(&mut b, &f, CodePoint).unwrap();
            reported = r.durable.or(reported);
            to_a.extend(r.frames);
        }
        for f in std::mem::take(&mut to_a) {
            to_b.extend(sa.receive(&mut a, &f, CodePoint).unwrap().frames);
        }
    }
    assert_eq!(reported, Some(a.version()));
    assert_eq!(b.to_string(), "stored by a");

    // What `b` reports stored, `a` does not send it again.
    let mut elsewhere = Doc::new(3);
    elsewhere.insert(0, "typed elsewhere ", CodePoint).unwrap();
    let update = elsewhere.encode_update(&Version::new()).unwrap();
    a.apply_update(&update, CodePoint).unwrap();
    b.apply_update(&update, CodePoint).unwrap();
    for f in sb.durable(&b.version()) {
        let r = sa.receive(&mut a, &f, CodePoint).unwrap();
        assert_eq!(r.durable, Some(b.version()));
    }
    assert!(
        sa.outgoing(&mut a).is_empty(),
        "b stored it: nothing to send"
    );

    // A report that is no version is refused.
    let err = sa
        .receive(&mut a, &frames_of(4, &[0xff; 3])[0], CodePoint)
        .unwrap_err();
    assert!(matches!(err, SyncError::Protocol(_)), "{err}");
}

/// The first frame of a message of `len` bytes, and then its other frames.
fn unfinished(len: usize, frames: usize) -> Vec<Vec<u8>> {
    frames_of(2, &vec![0; len - 1])
        .into_iter()
        .take(frames)
        .collect()
}

#[test]
fn sessions_sharing_a_budget_buffer_at_most_its_limit_between_them() {
    let limit = 8 * MAX_FRAME;
    let budget = Budget::new(limit);
    let mut doc = Doc::new(1);
    let hello = frames_of(1, &Version::new().encode());
    let mut sessions: Vec<Session> = (0..8)
        .map(|_| {
            let mut s = Session::new().with_budget(&budget);
            s.receive(&mut doc, &hello[0], CodePoint).unwrap();
            s
        })
        .collect();
    // Each starts a message of 64 frames; three frames each fit.
    let frames = unfinished(64 * MAX_FRAME, 64);
    let mut refused = [false; 8];
    for frame in &frames[..4] {
        for (s, refused) in sessions.iter_mut().zip(&mut refused) {
            if *refused {
                continue; // its connection would be closed
            }
            match s.receive(&mut doc, frame, CodePoint) {
                Ok(_) => {}
                Err(SyncError::OverBudget { limit: l }) => {
                    assert_eq!(l, limit);
                    *refused = true;
                }
                Err(e) => panic!("{e}"),
            }
            assert!(budget.used() <= limit);
        }
    }
    assert!(refused.contains(&true), "some sessions were refused");
    assert!(refused.contains(&false), "not all");
    // Dropped sessions give back what they held; refused ones already did.
    drop(sessions);
    assert_eq!(budget.used(), 0);

    // A message that completes gives its bytes back, so does a failure.
    let mut s = Session::new().with_budget(&budget);
    s.receive(&mut doc, &hello[0], CodePoint).unwrap();
    let mut other = Doc::new(2);
    other
        .insert(0, &"z".repeat(3 * MAX_FRAME), CodePoint)
        .unwrap();
    let mut update = other.encode_update(&Version::new()).unwrap();
    // Incompressible enough to span frames.
    assert!(update.len() > MAX_FRAME / 8);
    for f in frames_of(2, &update) {
        s.receive(&mut doc, &f, CodePoint).unwrap();
    }
    assert_eq!(budget.used(), 0);
    update.truncate(update.len() / 2);
    let mut failed = false;
    for f in frames_of(2, &update) {
        failed |= s.receive(&mut doc, &f, CodePoint).is_err();
    }
    assert!(failed);
    assert_eq!(budget.used(), 0);
}

#[test]
fn a_share_of_a_budget_caps_its_sessions_and_leaves_the_rest_to_others() {
    let whole = Budget::new(8 * MAX_FRAME);
    let hostile = Budget::within(&whole, 3 * MAX_FRAME);
    let honest = Budget::within(&whole, 3 * MAX_FRAME);
    let mut doc = Doc::new(1);
    let hello = frames_of(1, &Version::new().encode());
    let session = |budget: &Budget, doc: &mut Doc| {
        let mut s = Session::new().with_budget(budget);
        s.receive(doc, &hello[0], CodePoint).unwrap();
        s
    };
    // One peer opens as many sessions as it likes on its share (rooms of
    // one connection), each starting a long message: the share stops it
    // with the share's limit, and the whole keeps the rest.
    let frames = unfinished(64 * MAX_FRAME, 64);
    let mut hostile_sessions: Vec<Session> = (0..4).map(|_| session(&hostile, &mut doc)).collect();
    let mut refused = 0;
    for s in &mut hostile_sessions {
        for frame in &frames[..4] {
            match s.receive(&mut doc, frame, CodePoint) {
                Ok(_) => {}
                Err(SyncError::OverBudget { limit }) => {
                    assert_eq!(limit, 3 * MAX_FRAME, "the share's limit");
                    refused += 1;
                    break;
                }
                Err(e) => panic!("{e}"),
            }
        }
    }
    assert!(refused >= 3, "the share refused the rest: {refused}");
    assert!(hostile.used() <= 3 * MAX_FRAME);
    assert_eq!(whole.used(), hostile.used(), "counted in the whole too");
    // The honest peer's message of the same size as the share fits.
    let mut s = session(&honest, &mut doc);
    let mut other = Doc::new(2);
    // Pseudo-random letters, so the update does not compress to one frame.
    let mut seed = 0x2545_f491_u32;
    let text: String = (0..2 * MAX_FRAME)
        .map(|_| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            char::from(b'a' + (seed >> 24) as u8 % 26)
        })
        .collect();
    other.insert(0, &text, CodePoint).unwrap();
    let update = other.encode_update(&Version::new()).unwrap();
    assert!(update.len() > MAX_FRAME, "spans frames");
    for f in frames_of(2, &update) {
        s.receive(&mut doc, &f, CodePoint).unwrap();
    }
    assert!(doc.to_string().contains(&text[..100]));
    assert_eq!(honest.used(), 0);
    // When the whole has too little left, its limit is the one reported,
    // and a refused share takes nothing from either.
    let greedy = Budget::within(&whole, 8 * MAX_FRAME);
    let mut s = session(&greedy, &mut doc);
    let mut refused_by = None;
    for frame in &frames {
        if let Err(SyncError::OverBudget { limit }) = s.receive(&mut doc, frame, CodePoint) {
            refused_by = Some(limit);
            break;
        }
    }
    assert_eq!(refused_by, Some(8 * MAX_FRAME));
    assert_eq!(greedy.used(), 0);
    assert_eq!(whole.used(), hostile.used());
    // Dropped sessions give back to the share and to the whole.
    drop(hostile_sessions);
    assert_eq!((hostile.used(), whole.used()), (0, 0));
}

#[test]
fn a_session_refuses_messages_over_its_limit_before_buffering() {
    let mut doc = Doc::new(1);
    let mut s = Session::new();
    s.receive(
        &mut doc,
        &frames_of(1, &Version::new().encode())[0],
        CodePoint,
    )
    .unwrap();
    let mut w = crate::encoding::Writer::default();
    w.bytes(&[PROTOCOL_VERSION, 1]);
    w.uvar(DEFAULT_MAX_MESSAGE as u64 + 1);
    w.bytes(&[2]);
    let err = s.receive(&mut doc, &w.into_bytes(), CodePoint).unwrap_err();
    assert!(matches!(
        err,
        SyncError::Protocol(DecodeError::LengthTooLarge { .. })
    ));
}

/// The frames of a whole conversation (Hellos, answers, updates, presence)
/// mutated at random and fed to a session, in the normal test run (the
/// `sync_session` fuzz target goes further): no panic, and a refused frame
/// changes nothing.
#[test]
fn mutated_conversations_never_panic_and_refusals_change_nothing() {
    let mut rng = Rng::new(11);
    let mut a = Doc::new(1);
    a.insert(0, &"shared text, ".repeat(50), CodePoint).unwrap();
    let mut conversation: Vec<Vec<u8>> = Vec::new();
    let mut sa = Session::new();
    conversation.extend(sa.start(&a));
    conversation.extend(sa.presence(b"{\"cursor\":3}").unwrap());
    let mut b = Doc::new(2);
    let mut sb = Session::new();
    for f in sb.start(&b) {
        conversation.extend(sa.receive(&mut a, &f, CodePoint).unwrap().frames);
    }
    for _ in 0..20 {
        rng.edit(&mut a, 35, 6, 5);
        conversation.extend(sa.outgoing(&mut a));
    }
    let _ = sb.receive(&mut b, &conversation[0], CodePoint);
    for seed in 0..300 {
        let mut doc = Doc::new(3);
        doc.insert(0, "keep", CodePoint).unwrap();
        let mut s = Session::new();
        let _ = s.start(&doc);
        let mut frames = conversation.clone();
        for _ in 0..1 + seed % 4 {
            let f = rng.below(frames.len());
            match rng.below(4) {
                0 => frames.remove(f).truncate(0),
                1 => {
                    let g = rng.below(frames.len());
                    frames.swap(f, g);
                }
                2 => {
                    let dup = frames[f].clone();
                    frames.insert(f, dup);
                }
                _ => {
                    let frame = &mut frames[f];
                    if !frame.is_empty() {
                        let i = rng.below(frame.len());
                        frame[i] ^= 1 << rng.below(8);
                    }
                }
            }
        }
        for f in &frames {
            let before = (doc.version(), doc.to_string());
            match s.receive(&mut doc, f, CodePoint) {
                Ok(_) => doc.check_invariants(),
                Err(e) => {
                    assert!(!e.to_string().is_empty());
                    assert_eq!((doc.version(), doc.to_string()), before);
                    break;
                }
            }
        }
    }
}

/// Delivers frames both ways until neither side has more to say; the first
/// refusal by `sessions[i]` is returned.
fn pump(
    docs: &mut [Doc; 2],
    sessions: &mut [Session; 2],
    mut queues: [Vec<Vec<u8>>; 2],
) -> Result<(), (usize, SyncError)> {
    while queues.iter().any(|q| !q.is_empty()) {
        for from in 0..2 {
            let to = 1 - from;
            for frame in std::mem::take(&mut queues[from]) {
                let got = sessions[to]
                    .receive(&mut docs[to], &frame, CodePoint)
                    .map_err(|e| (to, e))?;
                queues[to].extend(got.frames);
            }
        }
    }
    Ok(())
}

#[test]
fn a_reader_receives_everything_and_sends_nothing() {
    let mut docs = [Doc::new(1), Doc::new(2)];
    docs[0].insert(0, "written", CodePoint).unwrap();
    docs[1].insert(0, "kept here ", CodePoint).unwrap();
    let mut sessions = [
        Session::new().peer_reads_only(),
        Session::new().reads_only(),
    ];
    let hellos = [sessions[0].start(&docs[0]), sessions[1].start(&docs[1])];
    pump(&mut docs, &mut sessions, hellos).unwrap();
    assert!(sessions[0].is_synced() && sessions[1].is_synced());
    assert_eq!(docs[0].to_string(), "written");
    assert!(docs[1].to_string().contains("written"));
    // Later edits of the reader stay with it; the writer's still arrive.
    docs[1].insert(0, "more ", CodePoint).unwrap();
    assert!(sessions[1].outgoing(&mut docs[1]).is_empty());
    docs[0].insert(7, "!", CodePoint).unwrap();
    let frames = sessions[0].outgoing(&mut docs[0]);
    pump(&mut docs, &mut sessions, [frames, Vec::new()]).unwrap();
    assert_eq!(docs[0].to_string(), "written!");
    assert!(docs[1].to_string().contains("written!"));
}

#[test]
fn a_reader_that_sends_operations_is_refused_and_nothing_merges() {
    let mut docs = [Doc::new(1), Doc::new(2)];
    docs[0].insert(0, "written", CodePoint).unwrap();
    docs[1].insert(0, "forged", CodePoint).unwrap();
    let before = docs[0].version();
    // A hostile reader runs an ordinary session.
    let mut sessions = [Session::new().peer_reads_only(), Session::new()];
    let hellos = [sessions[0].start(&docs[0]), sessions[1].start(&docs[1])];
    let refused = pump(&mut docs, &mut sessions, hellos).unwrap_err();
    assert_eq!(refused, (0, SyncError::ReadOnly));
    assert_eq!(docs[0].to_string(), "written");
    assert_eq!(docs[0].version(), before);
    // Even operations the writer already has are refused: a reader sends none.
    let mut copy = docs[0].clone();
    let mut reader = Session::new();
    let mut writer = Session::new().peer_reads_only();
    for f in reader.start(&copy) {
        writer.receive(&mut docs[0], &f, CodePoint).unwrap();
    }
    let snapshot = copy.encode_snapshot().unwrap();
    let mut refused = None;
    for f in frames_of(2, &snapshot) {
        if let Err(e) = writer.receive(&mut docs[0], &f, CodePoint) {
            refused = Some(e);
        }
    }
    assert_eq!(refused, Some(SyncError::ReadOnly));
    assert_eq!(docs[0].version(), before);
}

/// The update sessions in sync were sent is the one `update_since` gives
/// for the version they had (a server relays it to other servers without
/// encoding it again); from another version it is encoded anew, and from
/// nothing it is a snapshot.
#[test]
fn the_update_sessions_were_sent_is_shared_with_the_caller() {
    let mut server = Doc::new(1);
    server.insert(0, "shared start", CodePoint).unwrap();
    let mut sessions = [Session::new(), Session::new()];
    let mut peers = [Doc::new(2), Doc::new(3)];
    for (session, peer) in sessions.iter_mut().zip(&mut peers) {
        let mut theirs = Session::new();
        let mut to_peer = session.start(&server);
        let mut to_server = theirs.start(peer);
        while !(to_peer.is_empty() && to_server.is_empty()) {
            for frame in std::mem::take(&mut to_peer) {
                to_server.extend(theirs.receive(peer, &frame, CodePoint).unwrap().frames);
            }
            for frame in std::mem::take(&mut to_server) {
                to_peer.extend(
                    session
                        .receive(&mut server, &frame, CodePoint)
                        .unwrap()
                        .frames,
                );
            }
        }
    }
    let before = server.version();
    server.insert(0, "typed ", CodePoint).unwrap();
    let mut shared = SharedOutgoing::default();
    let sent: Vec<Vec<Vec<u8>>> = sessions
        .iter_mut()
        .map(|s| s.outgoing_shared(&mut server, &mut shared))
        .collect();
    assert_eq!(sent[0], sent[1]);
    let update = shared.update_since(&mut server, &before).unwrap().to_vec();
    assert_eq!(update, server.encode_update(&before).unwrap());
    assert!(sent[0].concat().ends_with(&update), "the frames carry it");

    let empty = Version::new();
    let whole = shared.update_since(&mut server, &empty).unwrap().to_vec();
    assert_eq!(
        whole,
        server.encode_snapshot().unwrap(),
        "from nothing, a snapshot"
    );
    let mut fresh = Doc::new(4);
    fresh.apply_update(&whole, CodePoint).unwrap();
    assert_eq!(fresh.to_string(), "typed shared start");
}

/// A session checking snapshots elsewhere hands a large one back unapplied;
/// once found valid it is adopted as `receive` would have, and a damaged
/// one fails the check, leaving the document as it was.
#[test]
fn a_snapshot_checked_elsewhere_is_adopted_as_received() {
    let mut source = Doc::new(1);
    for i in 0..400 {
        let at = (i * 7) % (source.len(CodePoint) + 1);
        source.insert(at, "abc", CodePoint).unwrap();
    }
    let snapshot = source.encode_snapshot().unwrap();
    let mut sender = Session::new();
    let mut to_sender = Vec::new();
    for (damaged, from_bytes) in [(false, 1024), (true, 1024), (false, usize::MAX)] {
        let mut doc = Doc::new(2);
        let mut session = Session::new().checking_snapshots_elsewhere(from_bytes);
        to_sender.extend(session.start(&doc));
        let mut frames = sender.start(&source);
        let mut body = snapshot.clone();
        if damaged {
            let mid = body.len() / 2;
            body[mid] ^= 0x55;
            // Sealed again: past the checksum, into what loading defers.
            let len = body.len();
            let crc = crate::encoding::crc32c(&body[..len - 4]);
            body[len - 4..].copy_from_slice(&crc.to_le_bytes());
        }
        frames.extend(frames_of(2, &body));
        let mut handed = None;
        for f in &frames {
            let received = session.receive(&mut doc, f, CodePoint).unwrap();
            if let Some(bytes) = received.to_check {
                assert!(handed.replace(bytes).is_none(), "handed back once");
            }
        }
        if from_bytes == usize::MAX {
            assert!(handed.is_none(), "small enough to adopt at once");
            assert_eq!(doc.to_string(), source.to_string());
            continue;
        }
        let bytes = handed.expect("handed back to be checked");
        assert_eq!(doc.to_string(), "", "nothing applied before the check");
        assert!(!session.is_synced());
        match Doc::check_snapshot(&bytes) {
            Ok(()) => {
                assert!(!damaged);
                let received = session.adopt_checked(&mut doc, &bytes, CodePoint).unwrap();
                assert_eq!(received.patches.len(), 1);
                assert_eq!(doc.to_string(), source.to_string());
                assert!(session.is_synced(), "the snapshot answered our Hello");
                doc.finish_loading().unwrap();
                doc.check_invariants();
            }
            Err(_) => assert!(damaged, "a valid snapshot failed its check"),
        }
    }
}

/// Two peers' copies of a room reach an empty document at once and are
/// both handed back; once the first is adopted, the second holds nothing
/// new and is left without decoding it.
#[test]
fn a_second_copy_of_a_checked_snapshot_is_left_once_the_first_is_adopted() {
    let mut source = Doc::new(1);
    for i in 0..300 {
        let at = (i * 7) % (source.len(CodePoint) + 1);
        source.insert(at, "abc", CodePoint).unwrap();
    }
    let mut doc = Doc::new(2);
    let mut handed = Vec::new();
    for replica in [3, 4] {
        let mut peer = Doc::from_snapshot(&source.encode_snapshot().unwrap(), replica).unwrap();
        let mut theirs = Session::new();
        let mut ours = Session::new().checking_snapshots_elsewhere(1024);
        let hello = ours.start(&doc);
        let mut frames = theirs.start(&peer);
        for f in &hello {
            frames.extend(theirs.receive(&mut peer, f, CodePoint).unwrap().frames);
        }
        for f in &frames {
            if let Some(bytes) = ours.receive(&mut doc, f, CodePoint).unwrap().to_check {
                handed.push((ours, bytes));
                break;
            }
        }
    }
    assert_eq!(handed.len(), 2, "both copies handed back while empty");
    for (session, bytes) in &mut handed {
        Doc::check_snapshot(bytes).unwrap();
        session.adopt_checked(&mut doc, bytes, CodePoint).unwrap();
        assert!(session.is_synced());
    }
    assert_eq!(doc.to_string(), source.to_string());
    assert!(doc.history.is_encoded(), "the second copy was not decoded");
    doc.check_invariants();
}
