//! A test server on a free loopback port, and WebSocket clients for it.

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use weft_server::Config;

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

pub async fn start(config: Config) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(weft_server::serve(listener, config, async {
        let _ = stopped.await;
    }));
    Server {
        addr,
        stop: Some(stop),
        task,
    }
}

impl Server {
    pub async fn shutdown(self) {
        self.shutdown_within(Duration::from_secs(10)).await;
    }

    /// Stops the server; fails unless `serve` returns within `limit`.
    pub async fn shutdown_within(mut self, limit: Duration) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(limit, self.task)
            .await
            .expect("shut down in time")
            .unwrap()
            .unwrap();
    }
}

/// A client that got its `welcome`.
pub async fn connect(addr: SocketAddr) -> Socket {
    welcomed(dial(addr, TcpSocket::new_v4().unwrap()).await).await
}

/// A client from another loopback address (any of 127.0.0.0/8 reaches a
/// server on 127.0.0.1), to stand for another machine.
pub async fn connect_from(addr: SocketAddr, from: IpAddr) -> Socket {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    welcomed(dial(addr, socket).await).await
}

/// A client with a tiny receive buffer, for clients that stop reading: the
/// server's writes to it block after a few kilobytes instead of megabytes.
pub async fn connect_small_buffer(addr: SocketAddr) -> Socket {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    welcomed(dial(addr, socket).await).await
}

/// The WebSocket handshake over `socket`, nothing read after it.
pub async fn dial(addr: SocketAddr, socket: TcpSocket) -> Socket {
    let stream = socket.connect(addr).await.unwrap();
    let (ws, _) = tokio_tungstenite::client_async(
        format!("ws://{addr}/signal"),
        MaybeTlsStream::Plain(stream),
    )
    .await
    .unwrap();
    ws
}

async fn welcomed(mut ws: Socket) -> Socket {
    let welcome = recv(&mut ws).await;
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["version"], 1);
    ws
}

pub async fn send(ws: &mut Socket, value: Value) {
    ws.send(Message::text(value.to_string())).await.unwrap();
}

/// The next JSON message (a test fails rather than hangs after 10 s).
pub async fn recv(ws: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message in time")
            .expect("connection open")
            .expect("readable");
        match message {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// Reads until a message `wanted` accepts; fails after `limit`.
pub async fn recv_until(ws: &mut Socket, limit: Duration, wanted: impl Fn(&Value) -> bool) {
    tokio::time::timeout(limit, async { while !wanted(&recv(ws).await) {} })
        .await
        .expect("the awaited message in time");
}

/// Waits for the server to close the connection; returns code and reason.
pub async fn closed(ws: &mut Socket) -> (u16, String) {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("closed in time");
        match message {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (frame.code.into(), frame.reason.to_string())
            }
            Some(Ok(
                Message::Text(_) | Message::Binary(_) | Message::Ping(_) | Message::Pong(_),
            )) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

pub async fn join(ws: &mut Socket, room: &str, peer: &str) -> Value {
    send(ws, json!({"type": "join", "room": room, "peer": peer})).await;
    let joined = recv(ws).await;
    assert_eq!(joined["type"], "joined", "{joined}");
    joined
}

/// Sends `count` signals of about `size` bytes from `ws` to each of `to`
/// in `room` in turn, then a ping, and returns what came back up to the
/// pong (the server handles a connection's messages in order, so by then
/// every signal has been queued or refused).
pub async fn flood(
    ws: &mut Socket,
    room: &str,
    to: &[&str],
    count: usize,
    size: usize,
) -> Vec<Value> {
    let data = "x".repeat(size);
    for _ in 0..count {
        for to in to {
            send(
                ws,
                json!({"type": "signal", "room": room, "to": to, "data": data}),
            )
            .await;
        }
    }
    send(ws, json!({"type": "ping"})).await;
    let mut answers = Vec::new();
    loop {
        let m = recv(ws).await;
        if m["type"] == "pong" {
            return answers;
        }
        answers.push(m);
    }
}

/// Waits until `/health` shows `value` for `key`; fails after 10 s.
pub async fn health_shows(addr: SocketAddr, key: &str, value: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = health(addr).await;
        if now[key] == value {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{key} {value}: {now}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The whole response to a plain `GET path`.
pub async fn http_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
}

pub async fn health(addr: SocketAddr) -> Value {
    let response = http_get(addr, "/health").await;
    let body = response.split("\r\n\r\n").nth(1).unwrap();
    serde_json::from_str(body).unwrap()
}
