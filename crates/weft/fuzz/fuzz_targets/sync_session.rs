//! Bytes read as frames (a length byte, then that many bytes) handed to a
//! sync session over a document with text, after a valid Hello or not,
//! from a peer that may write or only read:
//! no panic, a refused frame changes nothing, an accepted one keeps every
//! invariant. Run with `-rss_limit_mb=256` so that an allocation bomb (a
//! declared length buffered ahead, a column inflated past its bytes) fails.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weft::sync::{Budget, Session};
use weft::{Doc, IndexUnit, Version};

/// A whole message in one frame (version 1, first and last).
fn single_frame(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut f = vec![1, 3];
    let mut n = body.len() + 1;
    while n >= 0x80 {
        f.push(n as u8 | 0x80);
        n >>= 7;
    }
    f.push(n as u8);
    f.push(kind);
    f.extend_from_slice(body);
    f
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut rest)) = data.split_first() else { return };
    let mut doc = Doc::new(1);
    doc.insert(0, "seed text \u{1F600}\n", IndexUnit::Utf16).unwrap();
    let budget = Budget::new(1 << 20);
    let mut session = Session::with_max_message(4 << 20).with_budget(&budget);
    // With the mode's third bit the peer may only read: what it sends is
    // refused unless it holds no operation.
    if mode & 4 == 4 {
        session = session.peer_reads_only();
    }
    let _ = session.start(&doc);
    if mode & 1 == 1 {
        let hello = single_frame(1, &Version::new().encode());
        session.receive(&mut doc, &hello, IndexUnit::Utf16).unwrap();
    }
    while let Some((&len, tail)) = rest.split_first() {
        let len = (len as usize).min(tail.len());
        let (frame, tail) = tail.split_at(len);
        rest = tail;
        // With the mode's second bit, the bytes are a message body of the
        // kind its first byte names, framed correctly.
        let frame = match (mode & 2 == 2, frame.split_first()) {
            (true, Some((&kind, body))) => single_frame(kind % 4, body),
            _ => frame.to_vec(),
        };
        let before = (doc.version(), doc.to_string());
        match session.receive(&mut doc, &frame, IndexUnit::Utf16) {
            Ok(_) => doc.check_invariants(),
            Err(_) => {
                assert!((doc.version(), doc.to_string()) == before);
                break;
            }
        }
        let _ = session.outgoing(&mut doc);
    }
    drop(session);
    assert_eq!(budget.used(), 0);
});
