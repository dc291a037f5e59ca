//! The Weft signaling server: browsers in the same room find each other and
//! exchange WebRTC offers, answers and ICE candidates through it. It relays
//! opaque messages between members of a room and never sees document
//! content. The protocol is in `docs/format.md`.
//!
//! Routes: `GET /signal` (the WebSocket), `GET /health` (JSON counts), and,
//! when a static directory is configured, everything else from that
//! directory (the demo app).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod connection;
mod hub;
mod limits;
pub mod log;
mod protocol;

pub use connection::close;
pub use limits::Limits;
pub use protocol::SIGNAL_VERSION;

use axum::extract::{State, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hub::Hub;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How the server is set up.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// What each connection may do.
    pub limits: Limits,
    /// A directory of static files to serve besides the signaling routes.
    pub static_dir: Option<PathBuf>,
}

#[derive(Clone)]
struct AppState {
    hub: Arc<Hub>,
    limits: Arc<Limits>,
    shutdown: watch::Receiver<bool>,
}

/// Serves on `listener` until `shutdown` completes; then every WebSocket is
/// closed with code 1001 and the function returns once they are gone.
///
/// # Errors
/// An I/O error from accepting connections.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopped) = watch::channel(false);
    let state = AppState {
        hub: Arc::new(Hub::default()),
        limits: Arc::new(config.limits),
        shutdown: stopped,
    };
    let hub = state.hub.clone();
    let mut app = Router::new()
        .route("/signal", get(upgrade))
        .route("/health", get(health))
        .with_state(state);
    if let Some(dir) = config.static_dir {
        app = app.fallback_service(tower_http::services::ServeDir::new(dir));
    }
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        log!(Info, "shutting down");
        let _ = stop.send(true);
    });
    server.await?;
    // Upgraded connections outlive the HTTP server: wait for them to close.
    while hub.connection_count() > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    Ok(())
}

async fn upgrade(State(state): State<AppState>, ws: WebSocketUpgrade) -> Response {
    // Let the connection read a little over the limit itself, so an
    // oversized message is refused with a reason instead of a broken socket.
    let max = state.limits.max_message_bytes.saturating_mul(2);
    ws.max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| {
            connection::serve(socket, state.hub, state.limits, state.shutdown)
        })
}

async fn health(State(state): State<AppState>) -> impl IntoResponse {
    Json(serde_json::json!({
        "status": "ok",
        "version": SIGNAL_VERSION,
        "connections": state.hub.connection_count(),
        "rooms": state.hub.room_count(),
    }))
}
