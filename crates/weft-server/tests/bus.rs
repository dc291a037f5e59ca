//! The room bus between server nodes, on a real Redis of each test's own:
//! two `Bus`es on one Redis stand for two nodes.

use std::time::{Duration, Instant};
use weft_server::bus::{Bus, BusConfig, BusEntry, BusError, BusEvent, EntryKind, Subscription};
use weft_services::redis::Redis;

/// Long enough for anything that should be prompt, on a loaded machine.
const PROMPT: Duration = Duration::from_secs(5);

fn config() -> BusConfig {
    BusConfig::default()
}

async fn node(redis: &Redis, id: u64, config: BusConfig) -> Bus {
    Bus::connect(&redis.url(), id, config)
        .await
        .expect("the bus connects")
}

/// The next event, failing the test if none comes promptly.
async fn next(subscription: &mut Subscription) -> BusEvent {
    match tokio::time::timeout(PROMPT, subscription.recv()).await {
        Ok(Some(event)) => event,
        Ok(None) => panic!("room {}: the subscription ended", subscription.room()),
        Err(_) => panic!("room {}: nothing within {PROMPT:?}", subscription.room()),
    }
}

/// The next event, which must be an entry.
async fn next_entry(subscription: &mut Subscription) -> BusEntry {
    match next(subscription).await {
        BusEvent::Entry(entry) => entry,
        other => panic!("room {}: {other:?}, not an entry", subscription.room()),
    }
}

fn update(node: u64, data: &[u8]) -> BusEntry {
    BusEntry {
        node,
        kind: EntryKind::Update,
        data: data.to_vec(),
    }
}

/// Runs a command on Redis as any client could, bypassing the bus.
async fn raw(redis: &Redis, args: &[&[u8]]) -> redis::Value {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let mut command = redis::cmd(std::str::from_utf8(args[0]).unwrap());
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command.query_async(&mut connection).await.unwrap()
}

/// Polls `condition` until it holds, failing the test after [`PROMPT`].
async fn until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PROMPT;
    while !condition() {
        assert!(Instant::now() < deadline, "{what}: not within {PROMPT:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn updates_reach_the_other_node_in_order_and_not_their_own() {
    let redis = Redis::start();
    let a = node(&redis, 1, config()).await;
    let b = node(&redis, 2, config()).await;
    let mut at_a = a.subscribe("room").await.unwrap();
    let mut at_b = b.subscribe("room").await.unwrap();
    for i in 0..20u8 {
        a.publish_update("room", &[i; 3]).await.unwrap();
    }
    a.publish_version("room", b"version").await.unwrap();
    for i in 0..20u8 {
        assert_eq!(next_entry(&mut at_b).await, update(1, &[i; 3]));
    }
    let version = next_entry(&mut at_b).await;
    assert_eq!(
        (version.kind, &version.data[..]),
        (EntryKind::Version, &b"version"[..])
    );
    // A skipped its own 21 entries: the first it gets is B's.
    b.publish_update("room", b"from b").await.unwrap();
    assert_eq!(next_entry(&mut at_a).await, update(2, b"from b"));
    assert_eq!(at_b.try_recv(), None, "B got its own update");
}

#[tokio::test]
async fn a_subscription_gets_what_was_published_after_it_and_nothing_before() {
    let redis = Redis::start();
    let a = node(&redis, 1, config()).await;
    let b = node(&redis, 2, config()).await;
    a.publish_update("room", b"before").await.unwrap();
    let mut at_b = b.subscribe("room").await.unwrap();
    // What a node does between subscribing and reading the database:
    // entries published meanwhile must not be lost.
    a.publish_update("room", b"while loading").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    a.publish_update("room", b"after").await.unwrap();
    assert_eq!(next_entry(&mut at_b).await, update(1, b"while loading"));
    assert_eq!(next_entry(&mut at_b).await, update(1, b"after"));
}

#[tokio::test]
async fn a_new_stream_is_read_from_its_first_entry() {
    let redis = Redis::start();
    let a = node(&redis, 1, config()).await;
    let b = node(&redis, 2, config()).await;
    // The stream does not exist when B subscribes.
    let mut at_b = b.subscribe("fresh").await.unwrap();
    a.publish_update("fresh", b"first").await.unwrap();
    assert_eq!(next_entry(&mut at_b).await, update(1, b"first"));
}

#[tokio::test]
async fn a_room_subscribed_while_the_reader_blocks_is_read_at_once() {
    let redis = Redis::start();
    let a = node(&redis, 1, config()).await;
    // A read blocks far longer than the test waits: only the wake stream
    // can bring the new room in time.
    let slow = BusConfig {
        block: Duration::from_secs(60),
        ..config()
    };
    let b = node(&redis, 2, slow).await;
    let _first = b.subscribe("first").await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await; // B's reader blocks now
    for room in ["second", "third"] {
        let mut at_b = b.subscribe(room).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        a.publish_update(room, room.as_bytes()).await.unwrap();
        // Within PROMPT, far less than the block.
        assert_eq!(next_entry(&mut at_b).await, update(1, room.as_bytes()));
    }
}

#[tokio::test]
async fn many_rooms_are_read_at_once_each_in_order() {
    let redis = Redis::start();
    let a = node(&redis, 1, config()).await;
    let b = node(&redis, 2, config()).await;
    let rooms: Vec<String> = (0..100).map(|i| format!("room {i}")).collect();
    let mut subscriptions = Vec::new();
    for room in &rooms {
        subscriptions.push(b.subscribe(room).await.unwrap());
    }
    assert_eq!(b.room_count(), 100);
    for round in 0..3u8 {
        for room in &rooms {
            a.publish_update(room, format!("{room}/{round}").as_bytes())
                .await
                .unwrap();
        }
    }
    for (room, subscription) in rooms.iter().zip(&mut subscriptions) {
        for round in 0..3 {
            let expected = format!("{room}/{round}");
            assert_eq!(
                next_entry(subscription).await,
                update(1, expected.as_bytes())
            );
        }
    }
    assert_eq!(b.stats().delivered, 300);
}

#[tokio::test]
async fn an_oversize_publish_is_refused() {
    let redis = Redis::start();
    let small = BusConfig {
        max_entry_bytes: 1000,
        ..config()
    };
    let a = node(&redis, 1, small).await;
    let b = node(&redis, 2, config()).await;
    let mut at_b = b.subscribe("room").await.unwrap();
    match a.publish_update("room", &[7; 1001]).await {
        Err(BusError::TooLarge {
            len: 1001,
            max: 1000,
        }) => {}
        other => panic!("{other:?}"),
    }
    assert!(a.publish_version("room", &[7; 1001]).await.is_err());
    a.publish_update("room", &[7; 1000]).await.unwrap();
    // The refused ones never reached Redis: the first B gets is the last.
    assert_eq!(next_entry(&mut at_b).await, update(1, &[7; 1000]));
}

#[tokio::test]
async fn oversize_entries_are_skipped_on_read() {
    let redis = Redis::start();
    let a = node(&redis, 1, config()).await;
    let small = BusConfig {
        max_entry_bytes: 1000,
        ..config()
    };
    let b = node(&redis, 2, small).await;
    let mut at_b = b.subscribe("room").await.unwrap();
    a.publish_update("room", &[1; 1001]).await.unwrap();
    a.publish_update("room", &[2; 10]).await.unwrap();
    assert_eq!(next_entry(&mut at_b).await, update(1, &[2; 10]));
    assert_eq!(b.stats().oversize, 1);
}

#[tokio::test]
async fn malformed_entries_are_skipped() {
    let redis = Redis::start();
    let a = node(&redis, 1, config()).await;
    let b = node(&redis, 2, config()).await;
    let mut at_b = b.subscribe("room").await.unwrap();
    let malformed: [&[&[u8]]; 6] = [
        &[b"kind", b"u", b"data", b"no node"],
        &[b"node", b"node one", b"kind", b"u", b"data", b"bad node"],
        &[b"node", b"-1", b"kind", b"u", b"data", b"negative node"],
        &[b"node", b"1", b"data", b"no kind"],
        &[b"node", b"1", b"kind", b"update", b"data", b"unknown kind"],
        &[b"node", b"1", b"kind", b"u"],
    ];
    for fields in malformed {
        let mut command: Vec<&[u8]> = vec![b"XADD", b"weft:room:room", b"*"];
        command.extend_from_slice(fields);
        raw(&redis, &command).await;
    }
    a.publish_update("room", b"well formed").await.unwrap();
    assert_eq!(next_entry(&mut at_b).await, update(1, b"well formed"));
    assert_eq!(b.stats().malformed, 6);
    // The reader goes on reading.
    a.publish_update("room", b"next").await.unwrap();
    assert_eq!(next_entry(&mut at_b).await, update(1, b"next"));
}

#[tokio::test]
async fn a_subscriber_that_does_not_keep_up_is_told_it_lagged() {
    let redis = Redis::start();
    let a = node(&redis, 1, config()).await;
    let short = BusConfig {
        queue_entries: 4,
        ..config()
    };
    let b = node(&redis, 2, short).await;
    let mut at_b = b.subscribe("room").await.unwrap();
    for i in 0..20u8 {
        a.publish_update("room", &[i]).await.unwrap();
    }
    until("all 20 handled", || {
        let stats = b.stats();
        stats.delivered + stats.lagged == 20
    })
    .await;
    assert_eq!(b.stats().lagged, 16);
    assert_eq!(next(&mut at_b).await, BusEvent::Lagged);
    for i in 0..4u8 {
        assert_eq!(next_entry(&mut at_b).await, update(1, &[i]));
    }
    // Caught up: entries arrive again.
    a.publish_update("room", b"after").await.unwrap();
    assert_eq!(next_entry(&mut at_b).await, update(1, b"after"));
}

#[tokio::test]
async fn a_subscriber_queues_bytes_up_to_its_limit() {
    let redis = Redis::start();
    let a = node(&redis, 1, config()).await;
    let short = BusConfig {
        queue_bytes: 100,
        ..config()
    };
    let b = node(&redis, 2, short).await;
    let mut at_b = b.subscribe("room").await.unwrap();
    // The first fits the empty queue whatever its size; then nothing fits.
    a.publish_update("room", &[1; 150]).await.unwrap();
    a.publish_update("room", &[2; 10]).await.unwrap();
    until("both handled", || b.stats().lagged == 1).await;
    assert_eq!(next(&mut at_b).await, BusEvent::Lagged);
    assert_eq!(next_entry(&mut at_b).await, update(1, &[1; 150]));
    a.publish_update("room", &[3; 60]).await.unwrap();
    a.publish_update("room", &[4; 40]).await.unwrap();
    assert_eq!(next_entry(&mut at_b).await, update(1, &[3; 60]));
    assert_eq!(next_entry(&mut at_b).await, update(1, &[4; 40]));
}

#[tokio::test]
async fn the_bus_survives_a_redis_restart() {
    let mut redis = Redis::start();
    let a = node(&redis, 1, config()).await;
    let b = node(&redis, 2, config()).await;
    let mut at_b = b.subscribe("room").await.unwrap();
    a.publish_update("room", b"before").await.unwrap();
    assert_eq!(next_entry(&mut at_b).await, update(1, b"before"));

    redis.stop();
    let started = Instant::now();
    let error = a.publish_update("room", b"lost").await.unwrap_err();
    // Within the command timeout (2 s), with some slack.
    assert!(started.elapsed() < PROMPT, "{:?}", started.elapsed());
    assert!(
        matches!(error, BusError::Redis { .. } | BusError::Timeout { .. }),
        "{error:?}"
    );
    let address = format!("127.0.0.1:{}", redis.port());
    assert!(error.to_string().contains(&address), "{error}");
    assert!(b.subscribe("other").await.is_err());
    // Down for longer than the connection manager tries to reconnect by
    // itself (about a second), as Redis down for minutes would be.
    tokio::time::sleep(Duration::from_secs(2)).await;

    redis.start_again();
    assert_eq!(next(&mut at_b).await, BusEvent::Reconnected);
    // The manager only reconnects once a command failed: the bus tries
    // again, so the first publish after the restart succeeds.
    a.publish_update("room", b"after").await.unwrap();
    assert_eq!(next_entry(&mut at_b).await, update(1, b"after"));
    assert_eq!(b.stats().reconnects, 1);
    // Subscribing works again too.
    let mut other = b.subscribe("other").await.unwrap();
    a.publish_update("other", b"other").await.unwrap();
    assert_eq!(next_entry(&mut other).await, update(1, b"other"));
}

#[tokio::test]
async fn dropping_a_subscription_stops_delivery() {
    let redis = Redis::start();
    let a = node(&redis, 1, config()).await;
    let b = node(&redis, 2, config()).await;
    let first = b.subscribe("room").await.unwrap();
    let mut second = b.subscribe("room").await.unwrap();
    assert_eq!(b.room_count(), 1);
    drop(first);
    a.publish_update("room", b"x").await.unwrap();
    assert_eq!(next_entry(&mut second).await, update(1, b"x"));
    // Handed to the second only.
    assert_eq!(b.stats().delivered, 1);
    drop(second);
    assert_eq!(b.room_count(), 0);
    a.publish_update("room", b"y").await.unwrap();
    // Another room's entry, published later, comes after the reader saw
    // "y" (or after "y" was out of its read): "y" went to nobody.
    let mut later = b.subscribe("later").await.unwrap();
    a.publish_update("later", b"z").await.unwrap();
    assert_eq!(next_entry(&mut later).await, update(1, b"z"));
    assert_eq!(b.stats().delivered, 2);
}

#[tokio::test]
async fn closing_ends_subscriptions_and_refuses_more() {
    let redis = Redis::start();
    let b = node(&redis, 2, config()).await;
    let mut at_b = b.subscribe("room").await.unwrap();
    b.close().await;
    let ended = tokio::time::timeout(PROMPT, at_b.recv()).await;
    assert_eq!(ended, Ok(None));
    assert!(matches!(
        b.publish_update("room", b"x").await,
        Err(BusError::Closed)
    ));
    assert!(matches!(b.subscribe("room").await, Err(BusError::Closed)));
    assert_eq!(b.room_count(), 0);
}

#[tokio::test]
async fn connecting_fails_with_the_address_and_never_the_password() {
    let mut redis = Redis::start();
    let port = redis.port();
    redis.stop();
    let url = format!("redis://:hunter2@127.0.0.1:{port}/");
    let error = Bus::connect(&url, 1, config()).await.unwrap_err();
    let message = error.to_string();
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    assert!(!format!("{error:?}").contains("hunter2"), "{error:?}");

    let error = Bus::connect("redis://:hunter2@[::1", 1, config())
        .await
        .unwrap_err();
    assert!(matches!(error, BusError::Url { .. }), "{error:?}");
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

/// A room's stream keeps its entries for `stream_retain` by Redis's clock:
/// each publish removes those older, and the stream expires when nobody
/// writes to it.
#[tokio::test]
async fn a_stream_keeps_only_its_recent_entries() {
    let redis = Redis::start();
    let retain = BusConfig {
        stream_retain: Duration::from_millis(300),
        ..config()
    };
    let a = node(&redis, 1, retain).await;
    for i in 0..5u8 {
        a.publish_update("room", &[i]).await.unwrap();
    }
    let length = |reply: redis::Value| match reply {
        redis::Value::Int(n) => n,
        other => panic!("XLEN answered {other:?}"),
    };
    assert_eq!(length(raw(&redis, &[b"XLEN", b"weft:room:room"]).await), 5);
    tokio::time::sleep(Duration::from_millis(400)).await;
    a.publish_update("room", b"later").await.unwrap();
    assert_eq!(
        length(raw(&redis, &[b"XLEN", b"weft:room:room"]).await),
        1,
        "the five older entries were trimmed"
    );
    let ttl = length(raw(&redis, &[b"PTTL", b"weft:room:room"]).await);
    assert!(ttl > 0 && ttl <= 10 * 60 * 1000, "expires: {ttl} ms");
}

/// Entries published together arrive in order, each in its room's
/// stream; one over the limit is left out, the rest go.
#[tokio::test]
async fn entries_published_together_arrive_in_order() {
    let redis = Redis::start();
    let small = BusConfig {
        max_entry_bytes: 8,
        ..config()
    };
    let a = node(&redis, 1, small).await;
    let b = node(&redis, 2, config()).await;
    let mut one = b.subscribe("one").await.unwrap();
    let mut two = b.subscribe("two").await.unwrap();
    let big = [9u8; 9];
    a.publish_all(&[
        ("one", EntryKind::Update, b"first"),
        ("two", EntryKind::Update, b"other"),
        ("one", EntryKind::Update, &big),
        ("one", EntryKind::Update, b"second"),
    ])
    .await
    .unwrap();
    assert_eq!(next_entry(&mut one).await, update(1, b"first"));
    assert_eq!(next_entry(&mut one).await, update(1, b"second"));
    assert_eq!(next_entry(&mut two).await, update(1, b"other"));
    a.publish_all(&[]).await.unwrap();
}
