//! What only PostgreSQL does: one server at a time on a database, its
//! write connection, and a server that cannot be reached or would not
//! make commits durable.

use super::*;
use weft_server::storage::{Location, StorageError};

/// Servers starting at once on one empty database: one opens, migrates
/// and is counted; the others are refused with `InUse` (nothing of theirs
/// is counted). Once it closes, the next opens and loads what it wrote;
/// after a reopen it holds the database again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_server_at_a_time_uses_a_database() {
    let place = Place::new(Engine::Postgres).await;
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let location = place.location.clone();
            tokio::spawn(async move { Storage::open(&location).await })
        })
        .collect();
    let mut opened = Vec::new();
    for open in opens {
        match open.await.unwrap() {
            Ok(storage) => opened.push(storage),
            Err(e @ StorageError::InUse { .. }) => {
                assert!(e.to_string().contains(&place.location.to_string()), "{e}")
            }
            Err(other) => panic!("expected InUse, got {other:?}"),
        }
    }
    assert_eq!(opened.len(), 1, "one server opens");
    let first = opened.pop().unwrap();
    let raw = place.raw().await;
    let count = |name: &'static str| {
        let raw = &raw;
        async move {
            raw.integer(&format!("SELECT value FROM meta WHERE name = '{name}'"))
                .await
        }
    };
    assert_eq!(count("schema_version").await, 1);
    assert_eq!(count("opens").await, 1);
    let mut rng = Rng::new(7);
    let mut room = first.load("shared", 1, policy()).await.unwrap();
    append_edits(&first, "shared", &mut room, 3, &mut rng).await;
    first.close().await;

    let next = place.open().await;
    assert_eq!(count("opens").await, 2);
    let seen = next.load("shared", 2, policy()).await.unwrap();
    assert_eq!(seen.doc.to_string(), room.doc.to_string());
    next.reopen()
        .await
        .expect("its own lock does not keep it out");
    assert_eq!(count("opens").await, 3);
    assert!(matches!(
        Storage::open(&place.location).await,
        Err(StorageError::InUse { .. })
    ));
    let tables = raw
        .integer(
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_name IN ('meta', 'rooms', 'records', 'checkpoints')",
        )
        .await;
    assert_eq!(tables, 4);
    next.close().await;
}

/// A server nobody listens on, or a database that does not exist, is an
/// `Open` error saying why, at once (no pool waiting to time out), and
/// naming the database without its password.
#[tokio::test]
async fn an_unreachable_database_is_an_open_error() {
    let cluster = pg::shared();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let nowhere = Location::postgres(&format!("postgres://weft:pw@127.0.0.1:{closed}/x")).unwrap();
    let missing = Location::postgres(&cluster.url("no_such_database")).unwrap();
    for (location, why) in [(nowhere, "refused"), (missing, "does not exist")] {
        match Storage::open(&location).await {
            Err(e @ StorageError::Open { .. }) => {
                let message = e.to_string();
                assert!(message.contains(why), "{message}");
                assert!(message.contains(&location.to_string()), "{message}");
                assert!(!message.contains("pw"), "{message}");
            }
            other => panic!("expected Open, got {other:?}"),
        }
    }
}

/// A server that would acknowledge commits before they are durable
/// (`fsync` off) is refused; `synchronous_commit` off by default is not
/// enough to be refused, since the storage's sessions turn it on.
#[tokio::test]
async fn a_database_that_would_not_make_commits_durable_is_refused() {
    let cluster = pg::Cluster::start();
    let database = pg::Database::create(&cluster, "durable").await;
    let location = Location::postgres(&database.url).unwrap();
    let admin = Location::postgres(&cluster.url("postgres")).unwrap();
    let Location::Postgres(admin) = admin else {
        unreachable!()
    };
    let admin = sqlx::PgPool::connect_with(*admin).await.unwrap();
    let run = |sql: &'static str| {
        let admin = admin.clone();
        async move { sqlx::query(sql).execute(&admin).await.unwrap() }
    };
    run("ALTER SYSTEM SET synchronous_commit = off").await;
    run("SELECT pg_reload_conf()").await;
    Storage::open(&location)
        .await
        .expect("sessions turn it on")
        .close()
        .await;
    run("ALTER SYSTEM SET fsync = off").await;
    run("SELECT pg_reload_conf()").await;
    // The reload is asynchronous: wait until sessions see it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "fsync never turned off"
        );
        let fsync: String = sqlx::query_scalar("SHOW fsync")
            .fetch_one(&admin)
            .await
            .unwrap();
        if fsync == "off" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    match Storage::open(&location).await {
        Err(e @ StorageError::Open { .. }) => {
            assert!(e.to_string().contains("fsync"), "{e}")
        }
        other => panic!("expected Open, got {other:?}"),
    }
    admin.close().await;
}

/// Every write goes through the one session that holds the server's lock
/// for the storage's generation. Once that session is ended from outside,
/// the next write is `Unknown` (not done on a new connection that might
/// reach a server lacking the last commits); a reopen takes the lock in a
/// new session, and writing goes on.
#[tokio::test]
async fn a_lost_write_connection_is_never_replaced_unnoticed() {
    let place = Place::new(Engine::Postgres).await;
    let storage = place.open().await;
    let raw = place.raw().await;
    // The lock's key ("weft" plus one) is below 2^32: its low half.
    let holder_sql = format!(
        "SELECT COALESCE(MAX(pid), 0)::bigint FROM pg_locks \
         WHERE locktype = 'advisory' AND granted AND objid = {} \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        0x7765_6675_u32
    );
    let holder = || raw.integer(&holder_sql);
    let first = holder().await;
    assert_ne!(first, 0, "the lock is held");
    let mut rng = Rng::new(11);
    let mut room = storage.load("room", 1, policy()).await.unwrap();
    append_edits(&storage, "room", &mut room, 3, &mut rng).await;
    let stored = room.doc.to_string();
    assert_eq!(
        holder().await,
        first,
        "writes went through the lock's session"
    );

    raw.execute(&format!("SELECT pg_terminate_backend({first})"))
        .await;
    while holder().await == first {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    edit(&mut room.doc, &mut rng);
    let unsaved = room.journal.unsaved(&mut room.doc).unwrap().unwrap();
    match storage.append("room", &unsaved).await {
        Err(StorageError::Unknown { .. }) => {}
        other => panic!("expected Unknown, got {other:?}"),
    }
    assert_eq!(keys(&raw, "records", "room").await, [1, 2, 3]);

    storage.reopen().await.unwrap();
    let second = holder().await;
    assert!(second != 0 && second != first, "{first} then {second}");
    let mut loaded = storage.load("room", 2, policy()).await.unwrap();
    assert_eq!(loaded.doc.to_string(), stored);
    append_edits(&storage, "room", &mut loaded, 1, &mut rng).await;
    assert_eq!(keys(&raw, "records", "room").await, [1, 2, 3, 4]);
    storage.close().await;
}

/// Servers that relay rooms to each other share a database; a server
/// alone on it and they exclude each other, in either order. A SQLite
/// file is never shared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharing_servers_and_a_server_alone_exclude_each_other() {
    let place = Place::new(Engine::Postgres).await;
    let a = Storage::open_shared(&place.location).await.unwrap();
    let b = Storage::open_shared(&place.location).await.unwrap();
    assert!(matches!(
        Storage::open(&place.location).await,
        Err(StorageError::InUse { .. })
    ));
    b.reopen()
        .await
        .expect("a shared lock does not keep its own out");
    a.close().await;
    b.close().await;
    let alone = Storage::open(&place.location).await.unwrap();
    let refused = Storage::open_shared(&place.location).await.unwrap_err();
    assert!(matches!(refused, StorageError::InUse { .. }), "{refused}");
    assert!(refused.to_string().contains("Redis"), "{refused}");
    alone.close().await;
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Location::Sqlite(dir.path().to_owned());
    let err = Storage::open_shared(&sqlite).await.unwrap_err();
    assert!(matches!(err, StorageError::Open { .. }), "{err}");
    assert!(err.to_string().contains("PostgreSQL"), "{err}");
}

/// Two servers sharing a database append to the same rooms at once, in
/// groups that hold the rooms in every order, and each compacts what it
/// wrote as its journal says: a load afterwards holds every version
/// either acknowledged, and each server's compactions left the other's
/// records alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_sharing_a_database_lose_nothing() {
    const ROOMS: [&str; 4] = ["north", "east", "south", "west"];
    const POLICY: weft::journal::CompactionPolicy =
        weft::journal::CompactionPolicy { floor_bytes: 512 };
    let place = Place::new(Engine::Postgres).await;
    let mut writers = Vec::new();
    let mut servers = Vec::new();
    for server in 0..2u64 {
        let storage = Storage::open_shared(&place.location).await.unwrap();
        servers.push(storage.clone());
        // Each room written by its own task: the server's groups mix them.
        for (i, room) in ROOMS.iter().enumerate() {
            let storage = storage.clone();
            writers.push(tokio::spawn(async move {
                let mut rng = Rng::new(server * 100 + i as u64);
                let replica = server * 1000 + i as u64 + 1;
                let mut loaded = storage.load(room, replica, POLICY).await.unwrap();
                let mut compactions = 0;
                for _ in 0..60 {
                    edit(&mut loaded.doc, &mut rng);
                    append_unsaved(&storage, room, &mut loaded).await;
                    if loaded.journal.should_compact() {
                        let plan = loaded.journal.compaction(&mut loaded.doc).unwrap();
                        let (key, bytes) = storage.compact(room, &plan).await.unwrap();
                        loaded.journal.compacted(&plan, key, bytes);
                        compactions += 1;
                    }
                }
                (*room, loaded.doc.version(), compactions)
            }));
        }
    }
    let mut acknowledged: std::collections::HashMap<&str, weft::Version> = Default::default();
    let mut compactions = 0;
    for writer in writers {
        let (room, version, n) = writer.await.unwrap();
        acknowledged.entry(room).or_default().merge(&version);
        compactions += n;
    }
    assert!(compactions >= 8, "only {compactions} compactions");
    // They lock the rooms they write in one order: neither waited for the
    // other in a cycle (a deadlock, which PostgreSQL breaks after 1 s).
    for server in &servers {
        assert_eq!(
            server.conflicts(),
            0,
            "transactions lost to the other server"
        );
    }
    let reader = Storage::open_shared(&place.location).await.unwrap();
    for room in ROOMS {
        let loaded = reader.load(room, 99, POLICY).await.unwrap();
        assert!(loaded.problems.is_empty(), "{room}: {:?}", loaded.problems);
        loaded.doc.check_invariants();
        assert_eq!(&loaded.doc.version(), &acknowledged[room], "{room}");
    }
    reader.close().await;
}

/// Two servers sharing a database compact an encrypted room: the one
/// that asks last with an older checkpoint finds a newer one stored and
/// writes nothing, so no record the older one does not cover is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_sealed_checkpoint_never_replaces_a_newer_one() {
    let place = Place::new(Engine::Postgres).await;
    let (a, b) = (
        Storage::open_shared(&place.location).await.unwrap(),
        Storage::open_shared(&place.location).await.unwrap(),
    );
    for i in 1..=10u8 {
        let storage = if i % 2 == 0 { &a } else { &b };
        assert_eq!(
            storage.sealed_append("vault", vec![i]).await.unwrap(),
            u64::from(i)
        );
    }
    b.sealed_compact("vault", 8, b"up to 8".to_vec())
        .await
        .unwrap();
    a.sealed_compact("vault", 5, b"up to 5".to_vec())
        .await
        .unwrap();
    let loaded = a.sealed_load("vault", 0).await.unwrap();
    assert_eq!(loaded.checkpoint, Some((8, b"up to 8".to_vec())));
    assert_eq!(loaded.records, [(9, vec![9]), (10, vec![10])]);
    // A newer one still replaces it.
    a.sealed_compact("vault", 10, b"up to 10".to_vec())
        .await
        .unwrap();
    let loaded = b.sealed_load("vault", 0).await.unwrap();
    assert_eq!(loaded.checkpoint, Some((10, b"up to 10".to_vec())));
    assert!(loaded.records.is_empty());
}
