//! Access control: with an auth secret, joins need a token for their room,
//! and a token that only reads cannot change the room.

use crate::client::{closed, connect, recv, recv_until, send, start, Server};
use crate::sync::Client;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_tungstenite::tungstenite::Message;
use weft::sync::Session;
use weft::{Doc, IndexUnit::CodePoint};
use weft_server::auth::{Auth, Role};
use weft_server::storage::Location;
use weft_server::{close, Config};

const SECRET: &str = "a secret of at least thirty-two bytes, for tests";

struct Guarded {
    server: Server,
    auth: Auth,
    _dir: tempfile::TempDir,
    data: std::path::PathBuf,
}

/// A server that checks tokens, storing in a fresh directory.
async fn guarded() -> Guarded {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    let auth = Auth::from_file(&secret).unwrap();
    let data = dir.path().join("data");
    let server = start(Config {
        storage: Some(Location::Sqlite(data.clone())),
        auth: Some(auth.clone()),
        ..Config::default()
    })
    .await;
    Guarded {
        server,
        auth,
        _dir: dir,
        data,
    }
}

fn join(room: &str, peer: &str, token: Option<&str>) -> serde_json::Value {
    let mut m = json!({"type": "join", "room": room, "peer": peer, "sync": true});
    if let Some(token) = token {
        m["token"] = token.into();
    }
    m
}

/// A token signed with `secret` whatever its claims (expired ones too).
fn signed(secret: &str, claims: serde_json::Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).unwrap();
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn joins_without_a_valid_token_for_the_room_are_closed_and_store_nothing() {
    let g = guarded().await;
    let hour = Duration::from_secs(3600);
    let expired = signed(
        SECRET,
        json!({"room": "plans", "role": "write", "exp": now() - 3600}),
    );
    let forged = signed(
        "another secret, thirty-two bytes or more",
        json!({"room": "plans", "role": "write", "exp": now() + 3600}),
    );
    let elsewhere = g.auth.mint("other-room", Role::Write, hour);
    let cases = [
        (None, "token-missing"),
        (Some(expired.as_str()), "token-expired"),
        (Some(forged.as_str()), "token-invalid"),
        (Some("not.a.token"), "token-invalid"),
        (Some(elsewhere.as_str()), "token-wrong-room"),
    ];
    for (token, code) in cases {
        let mut ws = connect(g.server.addr).await;
        send(&mut ws, join("plans", "mallory", token)).await;
        // Frames sent right behind the join: a whole document.
        let mut doc = Doc::new(66);
        doc.insert(0, "MARKER written without a token", CodePoint)
            .unwrap();
        // Its Hello and whole document, as answered to an empty replica.
        let mut session = Session::new();
        let mut frames = Vec::new();
        for f in Session::new().start(&Doc::new(67)) {
            frames.extend(session.receive(&mut doc, &f, CodePoint).unwrap().frames);
        }
        assert!(frames.len() >= 2);
        for f in frames {
            let mut m = vec![0];
            m.extend(f);
            let _ = ws.send(Message::binary(m)).await;
        }
        let (closed_with, reason) = closed(&mut ws).await;
        assert_eq!(closed_with, close::FORBIDDEN, "{reason}");
        assert!(reason.starts_with(code), "{code}: {reason}");
    }
    // An honest writer finds the room empty, and nothing was stored.
    let token = g.auth.mint("plans", Role::Write, hour);
    let mut ada = Client::join_with(
        g.server.addr,
        join("plans", "ada", Some(&token)),
        Doc::new(1),
        Session::new(),
    )
    .await;
    ada.until(|_| true).await;
    assert!(ada.doc.is_empty());
    assert_eq!(ada.joined["role"], "write");
    drop(ada);
    g.server.shutdown().await;
    assert!(!on_disk(&g.data, "MARKER"));
}

/// Whether `text` is in any file of the data directory (the database and
/// its write-ahead log).
fn on_disk(data: &std::path::Path, text: &str) -> bool {
    std::fs::read_dir(data).unwrap().any(|entry| {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        bytes.windows(text.len()).any(|w| w == text.as_bytes())
    })
}

#[tokio::test]
async fn a_welcome_says_whether_tokens_are_needed() {
    let g = guarded().await;
    let mut ws = crate::client::dial(g.server.addr, tokio::net::TcpSocket::new_v4().unwrap()).await;
    let welcome = recv(&mut ws).await;
    assert_eq!(welcome["auth"], true, "{welcome}");
    g.server.shutdown().await;
    let open = start(Config::default()).await;
    let mut ws = crate::client::dial(open.addr, tokio::net::TcpSocket::new_v4().unwrap()).await;
    assert_eq!(recv(&mut ws).await["auth"], false);
    open.shutdown().await;
}

#[tokio::test]
async fn readers_receive_the_room_and_their_changes_are_refused() {
    let g = guarded().await;
    let hour = Duration::from_secs(3600);
    let write = g.auth.mint("team/plans", Role::Write, hour);
    // One token for every room of the team.
    let read = g.auth.mint("team/*", Role::Read, hour);
    let mut ada = Client::join_with(
        g.server.addr,
        join("team/plans", "ada", Some(&write)),
        Doc::new(1),
        Session::new(),
    )
    .await;
    ada.until(|_| true).await;
    ada.edit(0, "written by ada").await;
    ada.until_durable(&ada.doc.version()).await;

    // A reader that plays by the rules: it receives everything, sends none
    // of its own changes.
    let mut bob = Client::join_with(
        g.server.addr,
        join("team/plans", "bob", Some(&read)),
        Doc::new(2),
        Session::new().reads_only(),
    )
    .await;
    assert_eq!(bob.joined["role"], "read");
    assert_eq!(bob.joined["peers"][0]["role"], "write", "{}", bob.joined);
    bob.until(|d| d.to_string() == "written by ada").await;
    bob.edit(0, "bob's draft: ").await;
    // The server tells the others what bob may do.
    recv_until(&mut ada.ws, Duration::from_secs(5), |m| {
        m["type"] == "peer-joined" && m["peer"] == "bob" && m["role"] == "read"
    })
    .await;
    ada.edit(ada.doc.len(CodePoint), ", still").await;
    bob.until(|d| d.to_string().ends_with("written by ada, still"))
        .await;

    // A reader running an ordinary session: its changes are refused and it
    // is closed.
    let mut forger = Doc::new(3);
    forger.insert(0, "FORGED", CodePoint).unwrap();
    let mut mallory = Client::join_with(
        g.server.addr,
        join("team/plans", "mallory", Some(&read)),
        forger,
        Session::new(),
    )
    .await;
    // It answers the server's Hello with its changes, as any writer would.
    let (code, reason) = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match mallory.ws.next().await {
                Some(Ok(Message::Binary(bytes))) => {
                    let got = mallory
                        .session
                        .receive(&mut mallory.doc, &bytes[1..], CodePoint)
                        .unwrap();
                    mallory.send(got.frames).await;
                }
                Some(Ok(Message::Close(Some(frame)))) => {
                    break (u16::from(frame.code), frame.reason.to_string())
                }
                Some(Ok(_)) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await
    .expect("closed in time");
    assert_eq!(code, close::FORBIDDEN, "{reason}");
    assert!(reason.starts_with("read-only"), "{reason}");

    // Nothing of theirs reached the room, in memory or on disk.
    let mut cy = Client::join_with(
        g.server.addr,
        join("team/plans", "cy", Some(&write)),
        Doc::new(4),
        Session::new(),
    )
    .await;
    cy.until(|d| d.to_string() == "written by ada, still").await;
    drop((ada, bob, cy));
    g.server.shutdown().await;
    // What the writers typed is stored as text, so a forged change would be too.
    assert!(on_disk(&g.data, "written by ada"));
    assert!(!on_disk(&g.data, "FORGED"));
    assert!(!on_disk(&g.data, "bob's draft"));
}

#[tokio::test]
async fn readers_of_an_encrypted_room_cannot_add_to_it() {
    use weft::sync::{Budget, SealedChannel, SealedMessage};
    let g = guarded().await;
    let read = g.auth.mint("vault", Role::Read, Duration::from_secs(60));
    let mut ws = connect(g.server.addr).await;
    let mut join = join("vault", "bob", Some(&read));
    join["sync"] = false.into();
    join["sealed"] = "k3y".into();
    send(&mut ws, join).await;
    let channel = recv(&mut ws).await["channel"].as_u64().unwrap() as u8;
    let mut reassembly = SealedChannel::client(&Budget::default());
    for message in [
        SealedMessage::Open { after: 0 },
        SealedMessage::Append {
            body: b"SEALED-BY-READER".to_vec(),
        },
    ] {
        for f in message.to_frames() {
            let mut m = vec![channel];
            m.extend(f);
            ws.send(Message::binary(m)).await.unwrap();
        }
    }
    // Opening is allowed: the room (empty) is replayed.
    let caught_up = loop {
        if let Some(Ok(Message::Binary(b))) = ws.next().await {
            if let Some(m) = reassembly.receive(&b[1..]).unwrap() {
                break m;
            }
        }
    };
    assert_eq!(caught_up, SealedMessage::CaughtUp { seq: 0 });
    let (code, reason) = closed(&mut ws).await;
    assert_eq!(code, close::FORBIDDEN, "{reason}");
    g.server.shutdown().await;
    assert!(!on_disk(&g.data, "SEALED-BY-READER"));
}
