//! Bytes read as frames (a length byte, then that many bytes) handed to a
//! sealed-room client, as a hostile server would send them; each `Sealed`
//! event's body merged as if it had opened (a server with the key): no
//! panic, a refused merge changes nothing, an accepted one keeps every
//! invariant, and the budget is given back. Run with `-rss_limit_mb=256`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weft::sync::{Budget, SealedClient, SealedEvent};
use weft::{Doc, IndexUnit};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    let mut doc = Doc::new(1);
    doc.insert(0, "seed text \u{1F600}\n", IndexUnit::Utf16).unwrap();
    let budget = Budget::new(1 << 20);
    let mut client = SealedClient::new(&budget);
    let _ = client.open();
    while let Some((&len, tail)) = rest.split_first() {
        let len = (len as usize).min(tail.len());
        let (frame, tail) = tail.split_at(len);
        rest = tail;
        match client.receive(frame) {
            Ok(Some(SealedEvent::Sealed { seq, body })) => {
                let before = (doc.version(), doc.to_string());
                match client.merge(&mut doc, seq, &body, IndexUnit::Utf16) {
                    Ok(_) => doc.check_invariants(),
                    Err(_) => assert!((doc.version(), doc.to_string()) == before),
                }
            }
            Ok(_) => {}
            Err(_) => break,
        }
        if let Ok(Some(update)) = client.outgoing(&mut doc) {
            let _ = client.append(update);
        }
    }
    drop(client);
    assert_eq!(budget.used(), 0);
});
