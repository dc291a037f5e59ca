//! Each connection buffers incoming sync messages within its own share of
//! the server's budget: one that starts long messages in several rooms and
//! never finishes them cannot leave the others nothing.

use crate::client::{closed, connect, start};
use crate::peer::{join_sync, random_text, send_frame, Peer};
use std::time::Duration;
use weft::sync::{Session, MAX_FRAME, PROTOCOL_VERSION};
use weft::Doc;
use weft_server::{close, Config, Limits};

const SHARE: usize = 1 << 20;

/// The frames of a message declaring `SHARE` bytes, all but its last: the
/// server buffers it (up to `SHARE`) and waits for the rest forever.
fn unfinished_message() -> Vec<Vec<u8>> {
    let mut first = vec![PROTOCOL_VERSION, 1];
    let mut len = SHARE;
    while len >= 0x80 {
        first.push((len & 0x7f) as u8 | 0x80);
        len >>= 7;
    }
    first.push(len as u8);
    first.resize(MAX_FRAME, b'x');
    let mut frames = vec![first];
    let mut sent = MAX_FRAME - 5;
    while sent + MAX_FRAME - 2 < SHARE {
        let mut frame = vec![PROTOCOL_VERSION, 0];
        frame.resize(MAX_FRAME, b'x');
        frames.push(frame);
        sent += MAX_FRAME - 2;
    }
    frames
}

/// An honest upload of about 900 KB, in many frames, seen by another peer.
async fn honest_upload(addr: std::net::SocketAddr, room: &str, seed: u32) {
    let mut writer = Peer::join(addr, room, "writer", u64::from(seed)).await;
    writer.until_synced().await;
    let text = random_text(900_000, seed);
    writer.append(&text).await;
    let mut reader = Peer::join(addr, room, "reader", u64::from(seed) + 1).await;
    reader
        .until(Duration::from_secs(20), |r| r.doc.to_string() == text)
        .await;
}

#[tokio::test]
async fn a_connection_cannot_take_more_than_its_share_of_the_sync_budget() {
    let server = start(Config {
        limits: Limits {
            sync_receive_bytes: SHARE,
            max_sync_receive_bytes: 2 * SHARE,
            ..Limits::default()
        },
        ..Config::default()
    })
    .await;
    let addr = server.addr;
    let mut hostile = connect(addr).await;
    let hello = Session::new().start(&Doc::new(66));
    let frames = unfinished_message();
    // One room's unfinished message: the whole share, and it may keep it.
    let first = join_sync(&mut hostile, "h0", "x").await;
    for frame in hello.iter().chain(&frames) {
        send_frame(&mut hostile, first, frame).await;
    }
    honest_upload(addr, "honest-1", 1).await;
    // A second room's: more than its share (it would take the rest of the
    // server's budget), so the connection is closed.
    let second = join_sync(&mut hostile, "h1", "x").await;
    for frame in hello.iter().chain(&frames) {
        send_frame(&mut hostile, second, frame).await;
    }
    let (code, reason) = closed(&mut hostile).await;
    assert_eq!(code, close::TRY_AGAIN_LATER, "{reason}");
    assert!(reason.contains(&SHARE.to_string()), "{reason}");
    // Others sync as before.
    honest_upload(addr, "honest-2", 2).await;
    server.shutdown().await;
}
