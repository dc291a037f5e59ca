//! What only PostgreSQL does: servers sharing one database, and a server
//! that cannot be reached or would not make commits durable.

use super::*;
use weft_server::storage::{Location, StorageError};

/// Servers starting at once on one empty database each migrate in turn
/// (the advisory lock): every open succeeds, the schema is made once, and
/// each open is counted. Opening again changes nothing but the count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_once_when_servers_start_at_once() {
    let place = Place::new(Engine::Postgres).await;
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let location = place.location.clone();
            tokio::spawn(async move { Storage::open(&location).await })
        })
        .collect();
    let mut storages = Vec::new();
    for open in opens {
        storages.push(open.await.unwrap().expect("every server opens"));
    }
    let raw = place.raw().await;
    let count = |name: &'static str| {
        let raw = &raw;
        async move {
            raw.integer(&format!("SELECT value FROM meta WHERE name = '{name}'"))
                .await
        }
    };
    assert_eq!(count("schema_version").await, 1);
    assert_eq!(count("opens").await, 4);
    // What one server writes, another loads.
    let mut rng = Rng::new(7);
    let mut room = storages[0].load("shared", 1, policy()).await.unwrap();
    append_edits(&storages[0], "shared", &mut room, 3, &mut rng).await;
    let seen = storages[3].load("shared", 2, policy()).await.unwrap();
    assert_eq!(seen.doc.to_string(), room.doc.to_string());
    for storage in &storages {
        storage.close().await;
    }
    let again = place.open().await;
    assert_eq!(count("opens").await, 5);
    let tables = raw
        .integer(
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_name IN ('meta', 'rooms', 'records', 'checkpoints')",
        )
        .await;
    assert_eq!(tables, 4);
    assert_eq!(
        again
            .load("shared", 3, policy())
            .await
            .unwrap()
            .doc
            .to_string(),
        room.doc.to_string()
    );
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
