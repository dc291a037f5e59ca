//! The close codes this server uses, and how it closes a WebSocket.

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use std::time::Duration;

/// The client closed the connection.
pub const NORMAL: u16 = 1000;
/// The server is shutting down.
pub const GOING_AWAY: u16 = 1001;
/// A malformed or forbidden request, or a limit exceeded.
pub const POLICY: u16 = 1008;
/// A message over the size limit.
pub const TOO_BIG: u16 = 1009;
/// The server holds its maximum number of connections.
pub const TRY_AGAIN_LATER: u16 = 1013;
/// Nothing arrived within the idle timeout.
pub const IDLE: u16 = 4000;
/// A message could not be written within the write timeout: the client
/// stopped reading (it rarely sees this frame, for the same reason).
pub const NOT_READING: u16 = 4001;
/// A join without a valid token for its room, or changes sent by a peer
/// whose token only lets it read. The reason starts with the error code
/// (`token-expired: ...`, `read-only: ...`).
pub const FORBIDDEN: u16 = 4003;

/// How long closing may take: sending the frame, then waiting for the
/// client's own close frame.
pub(crate) const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Sends a close frame, then reads and discards what the client still sends
/// until its close frame answers ours. Dropping a socket with unread data
/// makes the kernel reset the connection, and a client that is still
/// sending then sees a reset (1006) instead of our frame. Gives up after
/// [`CLOSE_TIMEOUT`]: a client that does not read never answers.
pub(crate) async fn close(socket: &mut WebSocket, code: u16, reason: String) {
    let frame = CloseFrame {
        code,
        reason: fit_close_reason(reason).into(),
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        if socket.send(Message::Close(Some(frame))).await.is_ok() {
            while let Some(Ok(_)) = socket.recv().await {}
        }
    })
    .await;
}

/// A close frame's reason holds at most 123 bytes; longer ones break the
/// frame, so cut at a character boundary.
fn fit_close_reason(mut reason: String) -> String {
    const MAX: usize = 123;
    if reason.len() > MAX {
        let mut end = MAX - 3;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
        reason.push_str("...");
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::fit_close_reason;

    #[test]
    fn close_reasons_fit_a_control_frame() {
        assert_eq!(fit_close_reason("short".into()), "short");
        let long = fit_close_reason("é".repeat(100));
        assert!(long.len() <= 123 && long.ends_with("..."), "{long}");
    }
}
