//! The Weft server: browsers in the same room find each other and exchange
//! WebRTC offers, answers and ICE candidates through it, and it is one more
//! peer of each room they sync with it, storing the room (`replica`,
//! `storage`). The protocols are in `docs/format.md`.
//!
//! Routes: `GET /signal` (the WebSocket), `GET /health` (JSON counts beside
//! their caps, and the storage's state: 503 while it failed or its
//! database does not answer), `GET /metrics` (Prometheus text:
//! connections, rooms, rooms loaded, bytes queued and stored, commit
//! latency and failures, storage failures), and, when a static directory
//! is configured, everything else from that directory (the demo app).

#![deny(missing_docs)]
// Only `memory` calls the allocator's C functions.
#![deny(unsafe_code)]

mod address;
mod admission;
pub mod auth;
pub mod bus;
pub mod close;
mod connection;
mod hub;
mod limits;
pub mod log;
mod memory;
mod metrics;
mod outbox;
mod protocol;
mod rate;
mod replica;
mod sealed;
pub mod storage;
mod storage_health;

pub use limits::{LimitError, Limits};
pub use protocol::SIGNAL_VERSION;

use admission::Admission;
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{Json, Router};
use hub::Hub;
use outbox::Budget;
use replica::Replicas;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Sets the process's allocator up for a server that keeps rooms for long
/// (see `memory.rs`): call once at start-up. Changes a process-wide
/// setting, so the binary calls it, not [`serve`].
pub fn tune_allocator() {
    memory::configure();
}

/// Bytes a WebSocket reads at a time (see `upgrade`).
const READ_BUFFER: usize = 4 * 1024;

/// How long shutting down may take: connections get [`close::CLOSE_TIMEOUT`]
/// to finish their close handshake, then the server stops regardless.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(3);

/// How the server is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// What the server and each connection may do.
    pub limits: Limits,
    /// A directory of static files to serve besides the signaling routes.
    pub static_dir: Option<PathBuf>,
    /// Where rooms are stored: a SQLite file in a directory, or a
    /// PostgreSQL database; `None`: in memory only, while the server runs.
    pub storage: Option<storage::Location>,
    /// How long a room nobody syncs stays loaded.
    pub room_idle: Duration,
    /// Checks access tokens; `None`: rooms are open to anyone.
    pub auth: Option<auth::Auth>,
    /// Relays rooms with the other servers sharing the (PostgreSQL)
    /// storage through this Redis; `None`: the server is alone on it.
    pub redis: Option<bus::RedisUrl>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limits: Limits::default(),
            static_dir: None,
            storage: None,
            room_idle: Duration::from_secs(30),
            auth: None,
            redis: None,
        }
    }
}

/// What every request handler and connection shares.
#[derive(Clone)]
struct AppState {
    hub: Arc<Hub>,
    /// The other servers sharing the storage, if any.
    bus: Option<Arc<bus::Bus>>,
    replicas: Arc<Replicas>,
    sealed: Arc<sealed::SealedRooms>,
    admission: Arc<Admission>,
    budget: Arc<Budget>,
    limits: Arc<Limits>,
    auth: Option<Arc<auth::Auth>>,
    shutdown: watch::Receiver<bool>,
}

/// Serves on `listener` until `shutdown` completes; then every WebSocket is
/// closed with code 1001 and the function returns once they are gone, or
/// after 3 seconds whatever clients do.
///
/// # Errors
/// `InvalidInput` (with a [`LimitError`]) if a limit is out of range, or an
/// I/O error from accepting connections.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = config.limits;
    limits
        .validate()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let storage = match &config.storage {
        Some(location) => {
            let storage = match config.redis {
                Some(_) => storage::Storage::open_shared(location).await,
                None => storage::Storage::open(location).await,
            };
            let storage = storage.map_err(|e| std::io::Error::other(e.to_string()))?;
            log!(Info, "storing rooms in {location}");
            Some(storage)
        }
        None => None,
    };
    let bus = match &config.redis {
        Some(url) => {
            let node = bus::random_node_id();
            let bus = bus::Bus::connect(url.as_str(), node, bus::BusConfig::new(&limits))
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            log!(Info, "relaying rooms through {url} as node {node:x}");
            Some(Arc::new(bus))
        }
        None => None,
    };
    let relay = bus.clone().map(replica::Relay::new);
    let (stop, stopped) = watch::channel(false);
    // Sealed rooms share the storage: their failures count as the plain
    // rooms' do, and so does the recovery.
    let replicas = Replicas::new(storage.clone(), &limits, config.room_idle, relay);
    let failures = replicas.clone();
    let state = AppState {
        hub: Arc::new(Hub::new(&limits, bus.clone())),
        sealed: Arc::new(sealed::SealedRooms::new(
            storage.clone(),
            Box::new(move |e| failures.storage_failed(e)),
            &limits,
            bus.clone(),
        )),
        bus,
        replicas,
        admission: Arc::new(Admission::new(limits.max_connections)),
        budget: Arc::new(Budget::new(limits.max_queued_bytes)),
        limits: Arc::new(limits),
        auth: config.auth.map(Arc::new),
        shutdown: stopped.clone(),
    };
    let admission = state.admission.clone();
    let mut app = Router::new()
        .route("/signal", get(upgrade))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(state);
    if let Some(dir) = config.static_dir {
        app = app.fallback_service(tower_http::services::ServeDir::new(dir));
    }
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    // Small messages go out at once: Nagle's algorithm against the
    // client's delayed ACK stalls them by tens of milliseconds.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        log!(Info, "shutting down");
        let _ = stop.send(true);
    });
    let drained = async {
        server.await?;
        // Upgraded connections outlive the HTTP server: wait for them to close.
        while admission.open() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    };
    let result = tokio::select! {
        result = drained => result,
        () = shutdown_deadline(stopped) => {
            log!(Warn, "stopping with {} connections still closing", admission.open());
            Ok(())
        }
    };
    // After the commit in progress: SQLite folds the WAL into the file and
    // removes it, so the data directory holds one file at rest.
    if let Some(storage) = storage {
        storage.close().await;
    }
    result
}

/// Resolves [`SHUTDOWN_TIMEOUT`] after shutting down began.
async fn shutdown_deadline(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
    tokio::time::sleep(SHUTDOWN_TIMEOUT).await;
}

async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    ws: WebSocketUpgrade,
) -> Response {
    // Counted from the handshake on, so a burst cannot overshoot the cap.
    let admitted = state.admission.admit();
    // Let the connection read a little over the limit itself, so an
    // oversized message is refused with a reason instead of a broken socket.
    // Sync frames are binary messages of up to 16 KiB, whatever the limit
    // on signaling messages.
    let max = state
        .limits
        .max_message_bytes
        .saturating_mul(2)
        .max(weft::sync::MAX_FRAME + 16);
    // The read buffer is zero-filled to its size before every read and
    // kept per connection: tungstenite's 128 KiB default cost half the CPU
    // and 128 KiB of memory per connection. Most messages are a few hundred
    // bytes; a 16 KiB frame takes a few reads.
    ws.max_message_size(max)
        .read_buffer_size(READ_BUFFER)
        .max_frame_size(max)
        .on_upgrade(move |mut socket| async move {
            let Some(admitted) = admitted else {
                let max = state.admission.max();
                log!(Info, "refused a connection from {from}: {max} open");
                let reason = format!("server full: {max} connections");
                return close::close(&mut socket, close::TRY_AGAIN_LATER, reason).await;
            };
            let client = address::client_of(from.ip());
            connection::serve(socket, admitted, client, state).await
        })
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let (room_reloads, room_unloads) = state.replicas.reloads_and_unloads();
    let snapshot = metrics::Snapshot {
        connections: state.admission.open(),
        rooms: state.hub.room_count(),
        rooms_loaded: state.replicas.room_count(),
        stored_bytes: state.replicas.stored_bytes().await,
        transactions: state.replicas.transactions(),
        conflicts: state.replicas.conflicts(),
        queued_bytes: state.budget.used(),
        storage: state.replicas.storage_report(),
        room_reloads,
        room_unloads,
        relay: state
            .bus
            .as_deref()
            .map(|bus| (bus.room_count(), bus.stats())),
    };
    (
        [("content-type", "text/plain; version=0.0.4")],
        metrics::render(&snapshot, state.replicas.commits()),
    )
}

/// `/health`'s `relay`: whether Redis answers, and what the bus counted;
/// `false` beside it when Redis does not answer. A server cut off from
/// Redis still serves and stores its own clients, but they no longer see
/// the other servers' clients, so it answers 503 for a load balancer to
/// send them elsewhere; the version exchange catches up once Redis is back.
async fn relay_health(bus: Option<&bus::Bus>) -> (serde_json::Value, bool) {
    let Some(bus) = bus else {
        return (serde_json::Value::Null, true);
    };
    let probe = tokio::time::timeout(storage_health::PROBE_TIMEOUT, bus.probe()).await;
    let (state, reachable) = match probe {
        Ok(Ok(())) => ("ok".to_owned(), true),
        Ok(Err(e)) => (format!("unreachable: {e}"), false),
        Err(_) => (
            format!("unreachable: no answer from {}", bus.address()),
            false,
        ),
    };
    let stats = bus.stats();
    let report = serde_json::json!({
        "state": state,
        "node": format!("{:x}", bus.node()),
        "rooms": bus.room_count(),
        "delivered": stats.delivered,
        "lagged": stats.lagged,
        "malformed": stats.malformed,
        "reconnects": stats.reconnects,
    });
    (report, reachable)
}

/// 200 with `status` `ok`; 503 with `storage-failed` while the storage
/// is unusable (nothing is acknowledged then), or `storage-unreachable`
/// while the database does not answer (a PostgreSQL server down or cut
/// off: nothing could be stored). `storage` says since when and why, and
/// keeps the last failure after the recovery; `relay`, with `--redis`,
/// whether Redis answers: 503 with `relay-unreachable` when it does not.
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let storage = state.replicas.storage_report();
    let unreachable = match &storage {
        Some(report) if !report.failed => state.replicas.storage_unreachable().await,
        _ => None,
    };
    let (relay, relaying) = relay_health(state.bus.as_deref()).await;
    let (code, status) = match (&storage, &unreachable) {
        (Some(report), _) if report.failed => (StatusCode::SERVICE_UNAVAILABLE, "storage-failed"),
        (_, Some(_)) => (StatusCode::SERVICE_UNAVAILABLE, "storage-unreachable"),
        _ if !relaying => (StatusCode::SERVICE_UNAVAILABLE, "relay-unreachable"),
        _ => (StatusCode::OK, "ok"),
    };
    let storage = match (storage, unreachable) {
        (Some(report), unreachable) => report.to_json(unreachable.as_deref()),
        (None, _) => serde_json::json!({ "state": "memory" }),
    };
    // Counting would wait for the database in vain.
    let stored_bytes = match status {
        "ok" | "relay-unreachable" => state.replicas.stored_bytes().await,
        _ => None,
    };
    let body = Json(serde_json::json!({
        "status": status,
        "version": SIGNAL_VERSION,
        "connections": state.admission.open(),
        "max_connections": state.admission.max(),
        "rooms": state.hub.room_count(),
        "rooms_loaded": state.replicas.room_count(),
        "stored_bytes": stored_bytes,
        "max_rooms": state.hub.max_rooms(),
        "queued_bytes": state.budget.used(),
        "max_queued_bytes": state.budget.max(),
        "storage": storage,
        "relay": relay,
    }));
    (code, body)
}
