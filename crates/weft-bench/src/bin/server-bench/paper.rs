//! The paper room: the automerge-paper history uploaded through a client,
//! then the server's memory while the room is loaded, what it stores, and
//! how long a new client takes to be in sync with the whole text, with the
//! room loaded (warm) and after a restart (cold, loaded from storage).

use crate::servers::{self, Programs, Server};
use std::io::{Read, Write};
use std::time::{Duration, Instant};
use weft::Doc;
use weft_bench::harness::client::weft::WeftReplica;
use weft_bench::harness::client::yjs::YjsReplica;
use weft_bench::harness::client::{connect, framing, Client, Replica, Wire};
use weft_bench::harness::procfs;

/// The uploaded document, as each protocol carries it.
pub struct PaperDocs {
    /// A Weft document that replayed the trace (taken by the upload).
    pub weft: Option<Doc>,
    /// A yrs document that replayed the trace, as one v1 update.
    pub yjs: Vec<u8>,
    /// The text at the end of the trace.
    pub text: String,
}

pub struct PaperResult {
    /// Connect to the server acknowledging the upload: Weft once stored
    /// (`Durable`), Hocuspocus once merged (`SyncStatus`); y-websocket
    /// acknowledges nothing.
    pub upload: Option<Duration>,
    /// Server RSS with the room loaded, less before the upload.
    pub loaded_rss: i64,
    /// Connect to in sync with the whole text, room in memory.
    pub warm_open: Duration,
    /// What the server stores for the room, as it reports it.
    pub stored: Option<u64>,
    /// Its data directory's files after a clean stop.
    pub stored_files: Option<u64>,
    /// Connect to in sync with the whole text, after a restart.
    pub cold_open: Option<Duration>,
    /// Server RSS after the cold open, less before it.
    pub cold_rss: Option<i64>,
}

const ROOM: &str = "paper";
const LIMIT: Duration = Duration::from_secs(60);
/// Time for the server to settle before its memory is read (Hocuspocus
/// stores 2 s after the last change).
const SETTLE: Duration = Duration::from_secs(3);

pub async fn run(
    mut server: Server,
    programs: &Programs,
    docs: &mut PaperDocs,
) -> Result<PaperResult, String> {
    let wire = server.wire;
    warm_up(&server).await?;
    let before = procfs::memory(server.pid()).rss;

    let replica = match wire {
        Wire::Weft => {
            let doc = docs
                .weft
                .take()
                .ok_or("the Weft document was uploaded already")?;
            Replica::Weft(Box::new(WeftReplica::new(doc)))
        }
        _ => Replica::Yjs(YjsReplica::with_state(
            7001,
            framing(wire, ROOM),
            &docs.yjs,
        )?),
    };
    let started = Instant::now();
    let mut uploader = connect(wire, server.addr, ROOM, "uploader", replica).await?;
    uploader
        .until(LIMIT, |r| match r {
            Replica::Weft(w) => w.synced() && w.stored(),
            Replica::Yjs(y) => y.synced() && (wire == Wire::YWebsocket || y.acks() > 0),
        })
        .await?;
    let upload = (wire != Wire::YWebsocket).then(|| started.elapsed());

    let (warm_open, reader) = open(wire, &server, docs, "warm").await?;
    tokio::time::sleep(SETTLE).await;
    let loaded_rss = procfs::memory(server.pid()).rss as i64 - before as i64;
    let stored = match wire {
        Wire::Weft => weft_stored_bytes(&server)?,
        Wire::Hocuspocus => Some(hocuspocus_stored(&server).await?),
        Wire::YWebsocket => None,
    };
    drop((uploader, reader));

    let mut result = PaperResult {
        upload,
        loaded_rss,
        warm_open,
        stored,
        stored_files: None,
        cold_open: None,
        cold_rss: None,
    };
    if wire == Wire::YWebsocket {
        // Rooms live in its memory only: a restart loses them.
        return Ok(result);
    }
    let data = server.data.clone();
    let port = server.addr.port();
    server.stop()?;
    result.stored_files = Some(servers::dir_bytes(&data));
    server = Server::start(wire, programs, port, &data)?;
    warm_up(&server).await?;
    let before = procfs::memory(server.pid()).rss;
    let (cold_open, reader) = open(wire, &server, docs, "cold").await?;
    result.cold_open = Some(cold_open);
    tokio::time::sleep(SETTLE).await;
    result.cold_rss = Some(procfs::memory(server.pid()).rss as i64 - before as i64);
    drop(reader);
    server.stop()?;
    Ok(result)
}

/// A new client with an empty document, from connect to in sync with the
/// whole text (checked after the clock stops).
async fn open(
    wire: Wire,
    server: &Server,
    docs: &PaperDocs,
    peer: &str,
) -> Result<(Duration, Client), String> {
    let started = Instant::now();
    let replica = Replica::empty(wire, ROOM, 7002 + u64::from(peer == "cold"));
    let mut client = connect(wire, server.addr, ROOM, peer, replica).await?;
    let len = docs.text.chars().count();
    client
        .until(LIMIT, |r| r.synced() && r.char_count() == len)
        .await?;
    let took = started.elapsed();
    if client.replica.text() != docs.text {
        return Err(format!(
            "{}: the {peer} reader's text differs from the trace's",
            wire.name()
        ));
    }
    Ok((took, client))
}

/// One client in another room, in sync and gone: what a server sets up
/// on first use is not counted as the room's.
async fn warm_up(server: &Server) -> Result<(), String> {
    let wire = server.wire;
    let replica = Replica::empty(wire, "warm-up", 7000);
    let mut client = connect(wire, server.addr, "warm-up", "w", replica).await?;
    client.until(LIMIT, |r| r.synced()).await?;
    let _ = client.ws.close(None).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(())
}

/// `weft_stored_bytes` from the server's `/metrics`.
fn weft_stored_bytes(server: &Server) -> Result<Option<u64>, String> {
    let mut stream = std::net::TcpStream::connect(server.addr).map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nhost: bench\r\nconnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    Ok(response
        .lines()
        .find_map(|l| l.strip_prefix("weft_stored_bytes "))
        .and_then(|n| n.trim().parse().ok()))
}

/// Waits for Hocuspocus to report the room stored (its debounced store).
async fn hocuspocus_stored(server: &Server) -> Result<u64, String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(bytes) = server.hocuspocus_stored(ROOM) {
            return Ok(bytes);
        }
        if Instant::now() > deadline {
            return Err("hocuspocus did not store the paper room within 15 s".to_owned());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
