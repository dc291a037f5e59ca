//! The crash test: a writer process appends and compacts in a loop and is
//! killed with SIGKILL at random moments; everything it acknowledged must
//! be in what the next open loads, and the next writer carries on from it.
//!
//! The writer is this test binary itself, run again with [`DIR_VAR`] set
//! so that only [`writer_child`] runs and does the writing.

use super::*;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use weft::journal::CompactionPolicy;
use weft::Version;

/// Set to the place's address (a directory or a URL) in the writer
/// process.
const PLACE_VAR: &str = "WEFT_STORAGE_CRASH_PLACE";
/// Set to the writer's seed.
const SEED_VAR: &str = "WEFT_STORAGE_CRASH_SEED";
const ROOMS: [&str; 3] = ["north", "south", "east"];
/// Small, so compactions happen within a round of a few hundred ms.
const POLICY: CompactionPolicy = CompactionPolicy { floor_bytes: 1024 };
const ROUNDS: usize = 10;
/// A writer whose parent died stops by itself after this.
const WRITER_LIFETIME: Duration = Duration::from_secs(20);

/// Kills the writer at random moments, seeded; after each kill, opens the
/// file and checks that each room includes every version acknowledged for
/// it so far, loads without damage and passes its invariant checks.
mod acknowledged_writes_survive_sigkill {
    use super::*;

    #[test]
    fn sqlite() {
        acknowledged_writes_survive_sigkill(Engine::Sqlite);
    }

    #[test]
    fn postgres() {
        acknowledged_writes_survive_sigkill(Engine::Postgres);
    }
}

fn acknowledged_writes_survive_sigkill(engine: Engine) {
    let mut rng = Rng::new(0x5eed);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let place = runtime.block_on(Place::new(engine));
    let mut acknowledged: HashMap<String, Version> = HashMap::new();
    let (mut acks, mut compactions) = (0, 0);
    for round in 0..ROUNDS {
        let round_acks = run_writer(&place.address, rng.next_u64(), 150 + rng.below(450));
        for ack in &round_acks {
            acknowledged
                .entry(ack.room.clone())
                .or_default()
                .merge(&ack.version);
            compactions += usize::from(ack.compaction);
        }
        acks += round_acks.len();
        runtime.block_on(async {
            let storage = place.open().await;
            for (room, version) in &acknowledged {
                let replica = 1_000_000 + round as u64;
                let loaded = storage.load(room, replica, POLICY).await.unwrap();
                assert!(
                    loaded.problems.is_empty(),
                    "round {round}, {room}: {:?}",
                    loaded.problems
                );
                loaded.doc.check_invariants();
                assert!(
                    loaded.doc.version().includes(version),
                    "round {round}, {room}: loaded {:?} lacks acknowledged {:?}",
                    loaded.doc.version(),
                    version
                );
            }
            storage.close().await;
        });
    }
    // The test means something only if the writer got far enough.
    assert!(acks >= 100, "only {acks} acknowledged writes");
    assert!(compactions >= 3, "only {compactions} compactions");
    assert_eq!(acknowledged.len(), ROOMS.len());
}

/// One acknowledged write, as the writer printed it.
struct Ack {
    room: String,
    version: Version,
    compaction: bool,
}

/// Runs a writer on the place at `address` for `ms` milliseconds, kills it
/// with SIGKILL and returns what it acknowledged.
fn run_writer(address: &str, seed: u64, ms: usize) -> Vec<Ack> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["crash::writer_child", "--exact", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(PLACE_VAR, address)
        .env(SEED_VAR, seed.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut acks = Vec::new();
        // A line cut short by the kill has no newline: `lines` still yields
        // it, but it does not parse and was not acknowledged anyway.
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(ack) = parse_ack(&line) {
                acks.push(ack);
            }
        }
        acks
    });
    std::thread::sleep(Duration::from_millis(ms as u64));
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "the writer must still be running when killed: {status}"
    );
    reader.join().unwrap()
}

/// `ack <room> <r|c> <version hex>`.
fn parse_ack(line: &str) -> Option<Ack> {
    let mut parts = line.strip_prefix("ack ")?.split(' ');
    let (room, kind, hex) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || hex.len() % 2 != 0 {
        return None;
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    Some(Ack {
        room: room.to_owned(),
        version: Version::decode(&bytes).ok()?,
        compaction: kind == "c",
    })
}

/// Prints an acknowledgement, once `append` or `compact` has returned.
fn ack(room: &str, kind: char, version: &Version) {
    let hex: String = version
        .encode()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    println!("ack {room} {kind} {hex}");
}

/// The writer: not a test of its own. Does nothing unless [`PLACE_VAR`] is
/// set, as it is only in the process [`run_writer`] starts.
#[test]
fn writer_child() {
    let Ok(address) = std::env::var(PLACE_VAR) else {
        return;
    };
    let seed: u64 = std::env::var(SEED_VAR).unwrap().parse().unwrap();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            let storage = Storage::open(&Place::location_at(&address)).await.unwrap();
            // One task per room, as the server has: writes from several
            // rooms queue for the database at once.
            let tasks: Vec<_> = ROOMS
                .iter()
                .enumerate()
                .map(|(i, room)| {
                    let storage = storage.clone();
                    let seed = seed.wrapping_add(i as u64 * 0x1000_0001);
                    tokio::spawn(write_room(storage, room, seed))
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        });
}

/// Random edits to `room` from what is on disk, each acknowledged once
/// appended; compacts when the journal says, sometimes with an edit
/// appended between planning and committing the compaction.
async fn write_room(storage: Storage, room: &str, seed: u64) {
    let mut rng = Rng::new(seed);
    // A fresh replica id per session, as the server would take.
    let mut loaded = storage
        .load(room, rng.next_u64() >> 1, POLICY)
        .await
        .unwrap();
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    let deadline = Instant::now() + WRITER_LIFETIME;
    while Instant::now() < deadline {
        edit(&mut loaded.doc, &mut rng);
        append_acknowledged(&storage, room, &mut loaded).await;
        if loaded.journal.should_compact() {
            let plan = loaded.journal.compaction(&mut loaded.doc).unwrap();
            if rng.below(2) == 0 {
                edit(&mut loaded.doc, &mut rng);
                append_acknowledged(&storage, room, &mut loaded).await;
            }
            let (key, bytes) = storage.compact(room, &plan).await.unwrap();
            loaded.journal.compacted(&plan, key, bytes);
            ack(room, 'c', &plan.version);
        }
    }
}

async fn append_acknowledged(storage: &Storage, room: &str, loaded: &mut LoadedRoom) {
    let unsaved = loaded.journal.unsaved(&mut loaded.doc).unwrap().unwrap();
    let version = unsaved.version.clone();
    let (key, bytes) = storage.append(room, &unsaved).await.unwrap();
    loaded.journal.appended(key, bytes, unsaved);
    ack(room, 'r', &version);
}
